"""`ivcnet node start` / `ivcnet devnet`: a user's mistake is one line and exit status 1."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from genesis import init_local_chain


def _ivcnet(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _one_line_error(result: subprocess.CompletedProcess[str], words: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert words in lines[0]


def test_missing_home_and_genesis(tmp_path: Path) -> None:
    _one_line_error(_ivcnet("node", "start", "--home", str(tmp_path / "nope")), "no such node home")
    _one_line_error(_ivcnet("node", "start", "--home", str(tmp_path)), "no genesis file")


def test_bad_peer_and_options(tmp_path: Path) -> None:
    result = _ivcnet("node", "start", "--home", str(tmp_path), "--peer", "not-an-address")
    _one_line_error(result, "bad peer address")
    _one_line_error(
        _ivcnet("node", "start", "--home", str(tmp_path), "--rpc-port", "70000"), "--rpc-port"
    )
    _one_line_error(_ivcnet("devnet", "--validators", "0", "--home", str(tmp_path)), "--validators")


@pytest.mark.parametrize("which", ["rpc", "p2p"])
def test_port_in_use(tmp_path: Path, which: str) -> None:
    chain = init_local_chain(tmp_path / "chain", "ivc-cli", 1, 1)
    with socket.socket() as busy, socket.socket() as free:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free.bind(("127.0.0.1", 0))
        ports = {
            which: busy.getsockname()[1],
            "rpc" if which == "p2p" else "p2p": free.getsockname()[1],
        }
    # Re-bind the busy port (the `with` closed it) and hold it while the node starts.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports[which]))
        holder.listen()
        result = _ivcnet(
            "node",
            "start",
            "--home",
            str(chain.node_home(0)),
            "--rpc-port",
            str(ports["rpc"]),
            "--p2p-port",
            str(ports["p2p"]),
        )
    _one_line_error(result, "in use")
