"""A network across separate hosts (network namespaces on a bridge, tests/netns/netns_lab.py).

Four validators from `ivcnet init --preset testnet --hosts ...`, each its own host with its own
10.x address, commit blocks; one of them is killed; a fifth host joins with `ivcnet join` (one
peer address, the genesis file), syncs, bonds stake and becomes a validator that signs (the
new set is live once +2/3 of it is up); the killed one restarts and syncs across the change;
then a genesis validator unbonds and leaves the set; blocks commit throughout, one chain. Skipped with the reason where namespaces cannot be
created (not root, no iproute2, EPERM).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netns_lab import Lab, LabUnavailable, list_netns, open_lab, skip_reason
from node_cluster import FAST_TIMINGS, STARTUP_TIMEOUT, height_of, rpc, try_rpc, wait_for

from execution.staking import build_unbond_tx
from execution.types.transaction import Transaction
from genesis import AccountKey, ValidatorKey, read_key_file
from node.devnet import node_peer_id

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("node-processes")]

HOSTS = 5
RPC_PORT = 8545
P2P_PORT = 26656


class Hosts:
    """Node processes, each started inside its host's namespace; all stopped at the end."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def url(self, i: int) -> str:
        return f"http://{self.lab.address(i)}:{RPC_PORT}"

    def start(self, i: int, home: Path) -> None:
        argv = [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(home)]
        # RPC on the host's own address, so this test (on the bridge) reaches it.
        argv += ["--rpc-host", self.lab.address(i), *FAST_TIMINGS]
        (home / "data").mkdir(parents=True, exist_ok=True)
        with open(home / "data" / "stdout.log", "ab") as out:
            self.procs[i] = subprocess.Popen(
                self.lab.exec_argv(i, argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def height(self, i: int) -> int:
        return height_of(self.url(i)) or 0

    def wait_height(self, i: int, height: int, timeout: float) -> None:
        wait_for(lambda: self.height(i) >= height, timeout, f"host {i} at height {height}")

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    before = set(list_netns())
    try:
        with open_lab(HOSTS) as lab:
            running = Hosts(lab)
            try:
                yield running
            finally:
                running.stop_all()
    except LabUnavailable as exc:
        pytest.skip(str(exc))
    # Nothing of ours is left: no namespace that was not there before.
    assert set(list_netns()) <= before


def _ivcnet(*argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "node.cli.main", *argv], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return done


def _validator_addresses(url: str) -> set[str]:
    answer = try_rpc(url, "ivc_validators")
    return {v["address"].lower() for v in answer["validators"]} if answer else set()


def _send(url: str, raw: bytes) -> str:
    result: str = rpc(url, "eth_sendRawTransaction", "0x" + raw.hex())
    return result


def _receipt(url: str, tx: str) -> dict[str, Any]:
    got: dict[str, Any] = wait_for(
        lambda: try_rpc(url, "eth_getTransactionReceipt", tx), 60, f"receipt of {tx}"
    )
    return got


def test_five_hosts_join_and_unbond_with_a_validator_down(hosts: Hosts, tmp_path: Path) -> None:
    lab = hosts.lab
    root = tmp_path / "net"
    addrs = ",".join(lab.address(i) for i in range(4))
    init = _ivcnet(
        "init", "--home", str(root), "--validators", "4", "--accounts", "2",
        "--preset", "testnet", "--hosts", addrs,
    )  # fmt: skip
    for i in range(4):
        hosts.start(i, root / f"node{i}")
    for i in range(4):
        hosts.wait_height(i, 3, STARTUP_TIMEOUT)

    # Each host announces its own address, never 0.0.0.0 or 127.0.0.1, and is connected to
    # the others over the bridge.
    for i in range(4):
        status = rpc(hosts.url(i), "ivc_status")
        peer_id = node_peer_id(root / f"node{i}")
        assert status["listenAddresses"] == [f"/ip4/{lab.address(i)}/tcp/{P2P_PORT}/p2p/{peer_id}"]
    peers = rpc(hosts.url(0), "ivc_peers")
    assert len(peers) == 3
    assert all(a.startswith("/ip4/10.") for p in peers for a in p["addresses"])

    # Validator 1 goes down (kill -9) for the whole set change: 30 of 40 stay up.
    hosts.procs[1].send_signal(signal.SIGKILL)
    hosts.procs[1].wait(timeout=30)
    down_at = hosts.height(0)
    hosts.wait_height(0, down_at + 3, 120)

    # The fifth host joins from the genesis file and the address `init` printed for node 0,
    # and bonds 10 IVC (as much as each genesis validator) from a funded account. Once the
    # bond takes effect the set is 5 x 10 with 40 up: blocks commit only when the newcomer
    # has synced and votes (liveness once +2/3 of the new set is up).
    peer0 = next(w for w in init.stdout.split() if w.startswith(f"/ip4/{lab.address(0)}/"))
    funded = json.loads((root / "accounts.json").read_text())["accounts"]
    home = tmp_path / "joined"
    joined = _ivcnet(
        "join", "--genesis", str(root / "genesis.json"), "--peer", peer0, "--home", str(home),
        "--validator", "--external-address", lab.address(4),
        "--stake", "10", "--from-key", funded[0]["private_key"], "--rpc", hosts.url(0),
    )  # fmt: skip
    assert "sent and included: bond" in joined.stdout
    vkey = read_key_file(home / "config" / "validator_key.json")
    new_validator = "0x" + vkey.address.hex()
    hosts.start(4, home)
    head = hosts.height(0)
    hosts.wait_height(4, head, STARTUP_TIMEOUT)
    status = rpc(hosts.url(4), "ivc_status")
    assert status["listenAddresses"][0].startswith(f"/ip4/{lab.address(4)}/tcp/{P2P_PORT}/")

    # It enters the set (validator_set_delay blocks after the bond) and signs.
    wait_for(lambda: new_validator in _validator_addresses(hosts.url(0)), 60, "bond takes effect")
    # Every vote is in the signer's WAL before it is sent; the node created the file empty.
    wal = home / "data" / "signer" / "wal"
    assert wal.exists()
    wait_for(lambda: wal.stat().st_size > 0, 120, "the new validator's first signed vote")
    joined_at = hosts.height(0)
    for i in (0, 2, 3, 4):
        hosts.wait_height(i, joined_at + 5, 120)
    # The new host's own RPC shows the bond (10 IVC, owned by the paying account).
    owner = "0x" + AccountKey.from_json(funded[0]).address.hex()
    stake = rpc(hosts.url(4), "ivc_getStake", owner)
    assert int(stake["bonded"], 16) == 10 * 10**18
    assert [v["address"].lower() for v in stake["validators"]] == [new_validator]

    # Validator 1 comes back: it block-syncs across the set change (checking each commit
    # against the set of its height) and agrees with the others.
    hosts.start(1, root / "node1")
    back_at = hosts.height(0)
    hosts.wait_height(1, back_at + 2, STARTUP_TIMEOUT)

    # Genesis validator 3 unbonds everything (its stake is owned by its reward account, which
    # first gets gas money); the set shrinks to four, with the new one in it, and blocks go on.
    reward = read_key_file(root / "node3" / "config" / "reward_key.json")
    assert isinstance(reward, AccountKey)
    leaving = "0x" + read_key_file(root / "node3" / "config" / "validator_key.json").address.hex()
    payer = AccountKey.from_json(funded[1])
    chain_id = int(rpc(hosts.url(0), "eth_chainId"), 16)
    gas_money = Transaction(
        chain_id=chain_id,
        nonce=int(rpc(hosts.url(0), "eth_getTransactionCount", "0x" + payer.address.hex()), 16),
        max_priority_fee_per_gas=10**9,
        max_fee_per_gas=2 * 10**9,
        gas_limit=21_000,
        to=reward.address,
        value=10**18,
        data=b"",
    ).sign(payer.private_key)
    assert _receipt(hosts.url(0), _send(hosts.url(0), gas_money.raw))["status"] == "0x1"
    bls_key = read_key_file(root / "node3" / "config" / "validator_key.json")
    assert isinstance(bls_key, ValidatorKey)
    unbond = build_unbond_tx(
        reward.private_key,
        chain_id=chain_id,
        nonce=int(rpc(hosts.url(0), "eth_getTransactionCount", "0x" + reward.address.hex()), 16),
        bls_public_key=bls_key.public_key,
    )
    assert _receipt(hosts.url(0), _send(hosts.url(0), unbond.raw))["status"] == "0x1"
    wait_for(
        lambda: (
            (members := _validator_addresses(hosts.url(0)))
            and leaving not in members
            and new_validator in members
        ),
        60,
        "the unbonded validator leaves the set",
    )
    left_at = hosts.height(0)
    unbonding = rpc(hosts.url(4), "ivc_getStake", "0x" + reward.address.hex())
    assert int(unbonding["unbondingTotal"], 16) == 10 * 10**18
    for i in (0, 1, 2, 4):
        hosts.wait_height(i, left_at + 5, 120)
    # One chain on every host (no fork across either set change), block for block.
    final = min(hosts.height(i) for i in range(HOSTS))
    for h in range(1, final + 1):
        hashes = {
            rpc(hosts.url(i), "eth_getBlockByNumber", hex(h), False)["hash"] for i in range(HOSTS)
        }
        assert len(hashes) == 1, h
