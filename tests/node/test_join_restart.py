"""A node set up by `ivcnet join` syncs, survives kill -9, and resyncs and follows after a
restart (real processes on 127.0.0.1)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from node_cluster import FAST_TIMINGS, STARTUP_TIMEOUT, free_ports, height_of, rpc, wait_for

from genesis.keys import AccountKey, read_key_file
from node.config import load_config

pytestmark = pytest.mark.xdist_group("node-processes")


def _ivcnet(*argv: str) -> list[str]:
    return [sys.executable, "-m", "node.cli.main", *argv]


def _spawn(argv: list[str], home: Path) -> subprocess.Popen[bytes]:
    with open(home / "data" / "stdout.log", "ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


@pytest.mark.slow
def test_joined_node_syncs_and_follows_after_kill9(cluster_factory: Any, tmp_path: Path) -> None:
    cluster = cluster_factory(2)
    cluster.start_all()
    for i in range(2):
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    home = tmp_path / "joined"
    rpc_port, p2p_port = free_ports(2)
    argv = ["join", "--genesis", str(cluster.root / "genesis.json"), "--home", str(home)]
    argv += ["--peer", cluster.nodes[1].peer_addr, "--validator", "--preset", "local"]
    argv += ["--rpc-port", str(rpc_port), "--p2p-port", str(p2p_port)]
    # It bonds 1 IVC (voting power 1 of 21: the genesis validators keep +2/3 alone).
    argv += ["--stake", "1", "--from-key", cluster.account_keys[0], "--rpc", cluster.url(0)]
    done = subprocess.run(_ivcnet(*argv), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "sent and included: bond 0x" in done.stdout
    assert f"ivcnet node start --home {home}" in done.stdout
    (home / "data").mkdir()
    # Ports and the peer come from config/node.json, as a user would start it.
    start = _ivcnet("node", "start", "--home", str(home), *FAST_TIMINGS)
    url = f"http://127.0.0.1:{rpc_port}"
    proc = _spawn(start, home)
    cluster.extra.append(proc)
    target = cluster.height(0) or 0
    wait_for(lambda: (height_of(url) or 0) >= target, STARTUP_TIMEOUT, "joined node sync")
    assert rpc(url, "ivc_status")["validatorAddress"] is not None

    # A prover joins too: `--prover --stake` registers the paying account itself as the prover
    # (the home's config names it and holds its key; nothing else is started for it here).
    prover_home = tmp_path / "prover"
    argv = ["join", "--genesis", str(cluster.root / "genesis.json"), "--home", str(prover_home)]
    argv += ["--peer", cluster.nodes[0].peer_addr, "--prover", "--preset", "local"]
    argv += ["--stake", "0.5", "--from-key", cluster.account_keys[1], "--rpc", cluster.url(0)]
    done = subprocess.run(_ivcnet(*argv), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "sent and included: register prover 0x" in done.stdout
    payer = Account.from_key(cluster.account_keys[1]).address
    assert load_config(prover_home).prover_address.lower() == payer.lower()
    # the prover signs its proofs with that account's key: the home holds it (node.prover.role)
    key = read_key_file(prover_home / "config" / "prover_key.json")
    assert isinstance(key, AccountKey) and "0x" + key.address.hex() == payer.lower()
    prover = rpc(cluster.url(0), "ivc_getStake", payer)["prover"]
    assert prover["registered"] and int(prover["stake"], 16) == 5 * 10**17

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    killed_at = height_of(cluster.url(0)) or 0
    cluster.wait_height(0, killed_at + 5, 120)
    proc = _spawn(start, home)
    cluster.extra.append(proc)
    target = (cluster.height(0) or 0) + 3
    wait_for(lambda: (height_of(url) or 0) >= target, STARTUP_TIMEOUT, "resync after kill -9")
    # Same chain as the validators, block for block.
    for h in (1, killed_at, target):
        mine = rpc(url, "eth_getBlockByNumber", hex(h), False)["hash"]
        assert mine == rpc(cluster.url(0), "eth_getBlockByNumber", hex(h), False)["hash"]
