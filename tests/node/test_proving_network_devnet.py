"""`ivcnet devnet` with its default provers: the demo task it submits becomes proven, and the
command it prints to follow it works."""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest
from node_cluster import free_port_range, rpc, try_rpc, wait_for

from node.cli.main import main
from node.devnet import DEMO_INPUT, prepare_devnet, prepare_provers, prover_command

# Many node processes each: run one such test at a time (make test-slow runs the tests with this
# marker in a pass of their own, without xdist),
# so two multi-process networks never share the two cores.
pytestmark = pytest.mark.xdist_group("node-processes")

PROVEN_TIMEOUT = 900.0


def _kill_tree(proc: subprocess.Popen[str]) -> None:
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for p in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_devnet_demo_task_becomes_proven(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(7)
    rpc_base = free_port_range(6, rng)
    p2p_base = free_port_range(6, rng)
    while abs(p2p_base - rpc_base) < 6:
        p2p_base = free_port_range(6, rng)
    argv = [sys.executable, "-m", "node.cli.main", "devnet", "--home", str(tmp_path / "d")]
    # The devnet's own timings (1 s blocks): six processes and proving workers on two cores.
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
            300,
            "the demo task",
        )
        assert "4 validators, 2 provers" in "".join(lines)
        found = re.search(r"--rpc (\S+) (0x[0-9a-f]{64})", status_line)
        assert found is not None, status_line
        url, task_id = found.groups()
        result = wait_for(
            lambda: (
                (r := try_rpc(url, "ivc_getTaskResult", task_id)) and r["status"] == "proven" and r
            ),
            PROVEN_TIMEOUT,
            "the demo task proven",
            2.0,
        )
        # The demo task is the SHA-256 guest on DEMO_INPUT: its proven output is the digest.
        assert result["exitCode"] == "0x0"
        assert result["output"] == "0x" + hashlib.sha256(DEMO_INPUT).hexdigest()
        height = int(rpc(url, "ivc_getTask", task_id)["submittedHeight"], 16)
        capsys.readouterr()
        assert main(["verify-block", "--rpc", url, str(height)]) == 0
        assert task_id in capsys.readouterr().out
        assert len(psutil.Process(proc.pid).children(recursive=True)) >= 6
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 0
    finally:
        _kill_tree(proc)


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
