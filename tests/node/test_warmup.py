"""The install step's kernel warm-up runs end to end in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_warmup_compiles_executor_prover_and_verifier() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "node.warmup"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("numba kernels ready:")
    for step in ("executor", "prover", "verifier"):
        assert step in line


def test_recursion_key_options_go_together() -> None:
    from node.warmup import main

    with pytest.raises(SystemExit) as info:
        main(["--home", "somewhere"])
    assert info.value.code == 2


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_warmup_fills_the_recursion_key_cache_a_node_then_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--task-proof` keys the lift program of that proof's shape into the node home's cache,
    in its own process; a later process loads it from there without recording it."""
    import execution.recursion.lift as lift_mod
    from execution.recursion import key_store
    from execution.recursion.lift import lift_key
    from execution.stark.params import profile
    from execution.universal.zkvm_leaf import zkvm_spec
    from execution.zkproof import prove
    from execution.zkproof.prover import airs_for
    from execution.zkproof.samples import fib_loop_program, program_elf
    from node.aggregator_v1 import RECURSION_KEYS_DIR
    from storage.lru_cache import LruCache

    tp = prove(program_elf(fib_loop_program(5)), b"", "conjectured")
    proof_file = tmp_path / "task.proof"
    proof_file.write_bytes(tp.to_bytes())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "node.warmup",
            "--home",
            str(tmp_path / "home"),
            "--task-proof",
            str(proof_file),
            "--no-join",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=2000,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "recursion keys ready: lift key" in done.stdout
    directory = tmp_path / "home" / "data" / RECURSION_KEYS_DIR
    assert [p.name[:5] for p in directory.iterdir()] == ["lift-"]

    # Empty lift caches and this store for the load; monkeypatch puts the process's back.
    for name in ("_KEYS", "_RECORDINGS"):
        monkeypatch.setattr(lift_mod, name, LruCache(getattr(lift_mod, name).capacity))
    monkeypatch.setattr(key_store, "_STORE", None)
    store = key_store.configure(directory)
    assert store is not None
    airs = airs_for(tp.program, tp.input, tp.statement.output).as_list()
    shape = tuple(t.log_n for t in tp.stark.tables)
    lift_key(zkvm_spec(airs, shape, profile("conjectured")))
    assert (store.hits, store.refused, len(lift_mod._RECORDINGS)) == (1, 0, 0)
