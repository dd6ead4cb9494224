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
    import signal

    from devnet_process import demo_task, devnet_process, proven_demo_result
    from node_cluster import rpc

    options = ["--validators", "1", "--provers", "1", "--universal-version", "1"]
    with devnet_process(tmp_path / "d", 2, 11, options) as (proc, lines):
        url, task_id = demo_task(lines, 600)
        proven_demo_result(url, task_id, 3000, 5.0)
        height = int(rpc(url, "ivc_getTask", task_id)["submittedHeight"], 16)
        (up,) = rpc(url, "ivc_getUniversalProof", hex(height), False)["universalProofs"]
        assert up["version"] == "0x1" and up["leaves"][0]["taskId"] == task_id
        capsys.readouterr()
        assert main(["verify-block", "--rpc", url, str(height)]) == 0
        assert task_id in capsys.readouterr().out
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
