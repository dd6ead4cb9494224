"""`ivcnet devnet` with its default provers: the demo task it submits becomes proven, and the
command it prints to follow it works."""

from __future__ import annotations

import signal
from pathlib import Path

import psutil
import pytest
from devnet_process import demo_task, devnet_process, proven_demo_result
from node_cluster import rpc

from node.cli.main import main
from node.devnet import prepare_devnet, prepare_provers, prover_command

# Many node processes each: run one such test at a time (make test-slow runs the tests with this
# marker in a pass of their own, without xdist),
# so two multi-process networks never share the two cores.
pytestmark = pytest.mark.xdist_group("node-processes")

PROVEN_TIMEOUT = 900.0


@pytest.mark.slow
def test_devnet_demo_task_becomes_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The devnet's own timings (1 s blocks): six processes and proving workers on two cores.
    with devnet_process(tmp_path / "d", 6, 7, []) as (proc, lines):
        url, task_id = demo_task(lines, 300)
        assert "4 validators, 2 provers" in "".join(lines)
        proven_demo_result(url, task_id, PROVEN_TIMEOUT, 2.0)
        height = int(rpc(url, "ivc_getTask", task_id)["submittedHeight"], 16)
        capsys.readouterr()
        assert main(["verify-block", "--rpc", url, str(height)]) == 0
        assert task_id in capsys.readouterr().out
        assert len(psutil.Process(proc.pid).children(recursive=True)) >= 6
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 0


def test_prover_homes_and_commands(tmp_path: Path) -> None:
    """Prover homes: the chain's genesis, a reward key kept across restarts, ports after the
    validators'; each prover is started with --prover and every validator as a peer."""
    root = tmp_path / "d"
    validators = prepare_devnet(root, 4, 9000, 9100)
    provers = prepare_provers(root, 2, 4, 9000, 9100)
    assert [(p.node.rpc_port, p.node.p2p_port) for p in provers] == [(9004, 9104), (9005, 9105)]
    assert (provers[0].node.home / "genesis.json").read_bytes() == (
        root / "genesis.json"
    ).read_bytes()
    assert provers[0].address != provers[1].address
    again = prepare_provers(root, 2, 4, 9000, 9100)
    assert [p.address for p in again] == [p.address for p in provers]
    argv = prover_command(provers[1], validators, ["--block-interval", "1.0"])
    assert argv[argv.index("--prover-address") + 1] == "0x" + provers[1].address.hex()
    assert "--prover" in argv and argv[argv.index("--home") + 1] == str(provers[1].node.home)
    assert sum(a == "--peer" for a in argv) == 4
