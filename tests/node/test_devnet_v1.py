"""`ivcnet devnet --universal-version 1`: a new devnet's genesis is a Universal Proof v1 chain
whose lift-shape allow-list holds the demo task's proof shape (computed from its execution, and
equal to the shape an honest proof has), with task deadlines long enough for a root; a folder
that holds a chain of the other version is refused with one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from execution.universal.lift_shapes import run_shape, task_proof_shape
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import Genesis
from genesis.params import UNIVERSAL_PROOF_V1
from node.cli.main import main
from node.devnet import (
    DEMO_GUEST,
    DEMO_INPUT,
    V1_TASK_DEADLINE_BLOCKS,
    DevnetError,
    demo_programs,
    prepare_devnet,
)


def test_run_shape_is_the_shape_of_an_honest_proof() -> None:
    elf = program_elf(fib_loop_program(5))
    assert run_shape(elf, b"") == task_proof_shape(prove(elf, b"", "conjectured").to_bytes())


def test_a_v1_devnet_genesis_allows_the_demo_task_shape(tmp_path: Path) -> None:
    root = tmp_path / "devnet"
    nodes = prepare_devnet(root, 2, 18545, 36656, universal_version=1)
    assert len(nodes) == 2
    genesis = Genesis.load(root / "genesis.json", verify_keys=False)
    params = genesis.params
    assert params.universal_proof_version == UNIVERSAL_PROOF_V1
    demo_shape = run_shape(demo_programs()[DEMO_GUEST], DEMO_INPUT)
    assert params.universal_proof_lift_shapes == (demo_shape,)
    assert params.task_deadline_blocks == V1_TASK_DEADLINE_BLOCKS
    for node in nodes:  # every node holds the same genesis
        assert Genesis.load(node.home / "genesis.json", verify_keys=False) == genesis
    assert len(prepare_devnet(root, 2, 18545, 36656, universal_version=1)) == 2  # reopens
    with pytest.raises(DevnetError, match=r"Universal Proof version 1 \(asked for 0\)"):
        prepare_devnet(root, 2, 18545, 36656)


def test_the_cli_refuses_another_version_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "devnet"
    prepare_devnet(root, 1, 18545, 36656)
    status = main(["devnet", "--home", str(root), "--validators", "1", "--universal-version", "1"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.strip().splitlines() == [
        f"error: {root} already holds a chain with Universal Proof version 0 (asked for 1); "
        "use another --home or --universal-version 0"
    ]
    with pytest.raises(SystemExit):
        main(["devnet", "--home", str(root), "--universal-version", "2"])


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.xdist_group("node-processes")
def test_a_v1_devnet_proves_its_demo_task_through_a_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ivcnet devnet --universal-version 1` (1 validator, 1 prover, real processes): the demo
    task becomes proven through a v1 root, which verify-block checks over RPC."""
    import hashlib
    import random
    import re
    import signal
    import subprocess
    import sys
    import threading

    from node_cluster import free_port_range, rpc, try_rpc, wait_for
    from test_proving_network_devnet import _kill_tree

    rng = random.Random(11)
    rpc_base = free_port_range(2, rng)
    p2p_base = free_port_range(2, rng)
    while abs(p2p_base - rpc_base) < 2:
        p2p_base = free_port_range(2, rng)
    argv = [sys.executable, "-m", "node.cli.main", "devnet", "--home", str(tmp_path / "d")]
    argv += ["--validators", "1", "--provers", "1", "--universal-version", "1"]
    argv += ["--base-rpc-port", str(rpc_base), "--base-p2p-port", str(p2p_base)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        status_line = wait_for(
            lambda: next((ln for ln in lines if "ivcnet task status" in ln), None),
            600,
            "the demo task",
        )
        found = re.search(r"--rpc (\S+) (0x[0-9a-f]{64})", status_line)
        assert found is not None, status_line
        url, task_id = found.groups()
        result = wait_for(
            lambda: (
                (r := try_rpc(url, "ivc_getTaskResult", task_id)) and r["status"] == "proven" and r
            ),
            3000,
            "the demo task proven through a v1 root",
            5.0,
        )
        assert result["output"] == "0x" + hashlib.sha256(DEMO_INPUT).hexdigest()
        height = int(rpc(url, "ivc_getTask", task_id)["submittedHeight"], 16)
        (up,) = rpc(url, "ivc_getUniversalProof", hex(height), False)["universalProofs"]
        assert up["version"] == "0x1" and up["leaves"][0]["taskId"] == task_id
        capsys.readouterr()
        assert main(["verify-block", "--rpc", url, str(height)]) == 0
        assert task_id in capsys.readouterr().out
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        _kill_tree(proc)
