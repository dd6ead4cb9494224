"""Compile every numba kernel a node runs into numba's on-disk cache, before any node starts;
optionally fill a v1 node's recursion key cache.

    python -m node.warmup          # the install step (make install) runs this once
    python -m node.warmup --home HOME --task-proof PROOF [--no-join]

A kernel compiles on its first call in a process unless numba's cache (`__pycache__` next to
the source, per checkout) already holds it. A validator's first call is on its event loop (a
proposal's Universal Proof, a task proof from a prover) and a cold compile there took long
enough that a fresh clone's single-validator chain stopped (the watchdog's `loop_blocked`).
`execution.zkvm.warm_up` covers only the executor's interpreter; this proves and verifies one
small task too, which compiles the prover's kernels (NTT, Poseidon2, FRI, trace generation)
and the verifier's.

With `--task-proof` (a task proof file, as `ivcnet prove` writes it) it also records and keys
the lift program of that proof's shape, and the join of two such lifts (a root over two
tasks), into the node's recursion key cache (`HOME/data/recursion-keys`,
execution/recursion/key_store.py): the ~1 min a v1 validator otherwise spends inside its first
proposal check of that shape. Any guest of that shape serves: the lift program depends on the
shape, not on the guest.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def warm_up() -> dict[str, float]:
    """Run each kernel family once; return the seconds each step took (compile or cache load)."""
    from execution.programs import image_id_bytes_of_elf
    from execution.zkproof import prove, verify
    from execution.zkvm import warm_up as warm_executor
    from execution.zkvm.examples import example_elf

    times: dict[str, float] = {}
    started = time.perf_counter()
    warm_executor()
    times["executor"] = time.perf_counter() - started
    elf = example_elf("sha256").read_bytes()
    started = time.perf_counter()
    proof = prove(elf, b"\x01", "conjectured").to_bytes()
    times["prover"] = time.perf_counter() - started
    started = time.perf_counter()
    verify(proof, image_id_bytes_of_elf(elf), profile="conjectured")
    times["verifier"] = time.perf_counter() - started
    return times


def warm_recursion_keys(directory: Path, task_proof: bytes, join: bool = True) -> dict[str, float]:
    """Key the lift program of `task_proof`'s shape (and the join of two such lifts) into the
    key cache in `directory`; return the seconds each took (a cached key loads in seconds).
    Raises ZkProofError / ParamsError for a proof file that does not parse."""
    from execution.recursion import key_store
    from execution.recursion.join import join_key
    from execution.recursion.lift import lift_key
    from execution.stark.params import profile
    from execution.universal.zkvm_leaf import zkvm_spec
    from execution.zkproof.prover import airs_for
    from execution.zkproof.task import TaskProof

    key_store.configure(directory)
    tp = TaskProof.from_bytes(task_proof)
    fri = profile(tp.statement.profile)
    airs = airs_for(tp.program, tp.input, tp.statement.output).as_list()
    shape = tuple(t.log_n for t in tp.stark.tables)
    times: dict[str, float] = {}
    started = time.perf_counter()
    lift = lift_key(zkvm_spec(airs, shape, fri))
    times["lift key"] = time.perf_counter() - started
    if join:
        started = time.perf_counter()
        join_key(lift, lift, fri)
        times["join key"] = time.perf_counter() - started
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m node.warmup", description=__doc__)
    parser.add_argument("--home", type=Path, help="node home (with --task-proof)")
    parser.add_argument("--task-proof", type=Path, help="key this proof's shape's lift program")
    parser.add_argument("--no-join", action="store_true", help="only the lift key")
    args = parser.parse_args(argv)
    if (args.home is None) != (args.task_proof is None):
        parser.error("--home and --task-proof go together")
    times = warm_up()
    print(
        "numba kernels ready: " + ", ".join(f"{name} {secs:.1f} s" for name, secs in times.items())
    )
    if args.task_proof is not None:
        from execution.stark.params import ParamsError
        from execution.zkproof.errors import ZkProofError
        from node.aggregator_v1 import RECURSION_KEYS_DIR

        try:
            raw = args.task_proof.read_bytes()
            keys = warm_recursion_keys(
                args.home / "data" / RECURSION_KEYS_DIR, raw, join=not args.no_join
            )
        except (OSError, ZkProofError, ParamsError) as exc:
            print(f"error: {args.task_proof}: {exc}", file=sys.stderr)
            return 1
        print("recursion keys ready: " + ", ".join(f"{n} {s:.1f} s" for n, s in keys.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
