"""Crash, restart, late join and a stopped proposer, each with real node processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from node_cluster import STARTUP_TIMEOUT, height_of, rpc, transfer, try_rpc, wait_for

# Many node processes each: run one such test at a time (make test-slow runs the tests with this
# marker in a pass of their own, without xdist),
# so two multi-process networks never share the two cores.
pytestmark = pytest.mark.xdist_group("node-processes")

RECIPIENT = bytes.fromhex("00000000000000000000000000000000000c0c02")


def _heights(cluster: Any, nodes: Iterable[int]) -> list[int]:
    return [cluster.height(i) or 0 for i in nodes]


@pytest.mark.slow
def test_kill9_validator_others_continue_and_it_catches_up(cluster_factory: Any) -> None:
    cluster = cluster_factory(4)
    cluster.start_all()
    for i in range(4):
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    victim = 2
    cluster.kill(victim, signal.SIGKILL)
    # The other three (3 x 10 of 40 power > 2/3) keep committing.
    base = max(_heights(cluster, [0, 1, 3]))
    for i in (0, 1, 3):
        cluster.wait_height(i, base + 5, 90)
    # A transfer commits while it is down.
    tx = transfer(cluster.url(0), cluster.account_keys[0], RECIPIENT, 777)
    receipt = wait_for(lambda: try_rpc(cluster.url(1), "eth_getTransactionReceipt", tx), 60, "tx")
    stopped_at = cluster.height(0) or 0
    cluster.start(victim)
    # It syncs what it missed, then follows consensus again.
    cluster.wait_height(victim, stopped_at + 3, STARTUP_TIMEOUT)
    number = receipt["blockNumber"]
    assert rpc(cluster.url(victim), "eth_getBalance", "0x" + RECIPIENT.hex(), number) == hex(777)
    block = rpc(cluster.url(victim), "eth_getBlockByNumber", number, False)
    assert block["hash"] == rpc(cluster.url(0), "eth_getBlockByNumber", number, False)["hash"]
    home: Path = cluster.nodes[victim].home
    assert cluster.log_events(home, "sync_done"), "the restarted node never block-synced"
    # It signs again: as one of four round-robin proposers it builds a block soon.
    restarted_at = max(e["ts"] for e in cluster.log_events(home, "started"))
    wait_for(
        lambda: any(e["ts"] > restarted_at for e in cluster.log_events(home, "proposal_built")),
        90,
        "a proposal by the restarted validator",
    )
    for i in range(4):
        assert not cluster.log_events(cluster.nodes[i].home, "sign_refused")
        # Every node turns two different votes of one validator for one (height, round, type)
        # into evidence: none means no validator, restarted or not, ever signed two values.
        assert not cluster.log_events(cluster.nodes[i].home, "evidence")


@pytest.mark.slow
def test_late_full_node_syncs_from_genesis_file_alone(cluster_factory: Any, tmp_path: Path) -> None:
    cluster = cluster_factory(4)
    cluster.start_all()
    for i in range(4):
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    tx = transfer(cluster.url(0), cluster.account_keys[1], RECIPIENT, 4242)
    receipt = wait_for(lambda: try_rpc(cluster.url(0), "eth_getTransactionReceipt", tx), 60, "tx")
    cluster.wait_height(0, 15, 120)
    node, _proc = cluster.start_full_node(tmp_path / "late", peer=1)
    target = cluster.height(0) or 0
    wait_for(lambda: (height_of(node.rpc_url) or 0) >= target, STARTUP_TIMEOUT, "late node sync")
    number = receipt["blockNumber"]
    late = rpc(node.rpc_url, "eth_getBlockByNumber", number, False)
    assert late["hash"] == rpc(cluster.url(0), "eth_getBlockByNumber", number, False)["hash"]
    assert rpc(node.rpc_url, "eth_getBalance", "0x" + RECIPIENT.hex(), "latest") == hex(4242)
    # It keeps following the head after the sync.
    ahead = (height_of(node.rpc_url) or 0) + 5
    wait_for(lambda: (height_of(node.rpc_url) or 0) >= ahead, 60, "late node follows")
    status = rpc(node.rpc_url, "ivc_status")
    assert status["validatorAddress"] is None


@pytest.mark.slow
def test_sigstop_proposer_round_change_commits(cluster_factory: Any) -> None:
    cluster = cluster_factory(4)
    cluster.start_all()
    for i in range(4):
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    # Stop the proposer of an upcoming block: the one that built the latest block is next
    # only after the other three, so stop the one whose turn comes next instead: we find it
    # from the header's proposer of the block before last in round-robin order.
    head = cluster.height(0) or 0
    block = rpc(cluster.url(0), "eth_getBlockByNumber", hex(head), False)
    validators = rpc(cluster.url(0), "ivc_validators")["validators"]
    addresses = [v["address"].lower() for v in validators]
    last = addresses.index(block["miner"].lower())
    victim = (last + 1) % 4
    cluster.kill(victim, signal.SIGSTOP)
    try:
        others = [i for i in range(4) if i != victim]
        base = max(_heights(cluster, others))
        for i in others:
            cluster.wait_height(i, base + 4, 120)
        rounds = [
            e["round"] for i in others for e in cluster.log_events(cluster.nodes[i].home, "commit")
        ]
        assert max(rounds) >= 1, "no height needed a round change"
    finally:
        cluster.procs[victim].send_signal(signal.SIGCONT)
    cluster.wait_height(victim, (cluster.height(0) or 0) + 2, 90)


@pytest.mark.slow
def test_partition_two_two_halts_then_heals(cluster_factory: Any) -> None:
    cluster = cluster_factory(4, admin=True)
    cluster.start_all()
    for i in range(4):
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    halves = ([0, 1], [2, 3])
    for mine, theirs in (halves, halves[::-1]):
        for i in mine:
            for j in theirs:
                rpc(cluster.url(i), "ivc_adminBlockPeer", cluster.nodes[j].peer_id)
    # Neither half holds more than 2/3 of the power: at most the height in flight commits.
    time.sleep(3)
    frozen = _heights(cluster, range(4))
    time.sleep(10)
    later = _heights(cluster, range(4))
    # A node may still fetch from its half a block that half holds (committed by a quorum
    # before the cut: in the 22:27 CI run node 0 went from 8 to 9, which node 1 held), but no
    # half commits a height beyond what it held when cut off.
    for half in halves:
        top = max(frozen[i] for i in half)
        assert all(later[i] <= top for i in half), f"a half committed without a quorum: {later}"
    for i in range(4):
        for j in range(4):
            if i != j:
                rpc(cluster.url(i), "ivc_adminUnblockPeer", cluster.nodes[j].peer_id)
    target = max(frozen) + 3
    for i in range(4):
        cluster.wait_height(i, target, 120)
    hashes = {
        rpc(cluster.url(i), "eth_getBlockByNumber", hex(target), False)["hash"] for i in range(4)
    }
    assert len(hashes) == 1


@pytest.mark.slow
def test_equivocating_validator_becomes_evidence_in_a_block(
    cluster_factory: Any, tmp_path: Path
) -> None:
    cluster = cluster_factory(4)
    honest = [0, 1, 2]
    for i in honest:
        cluster.start(i)
    for i in honest:
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    chain_id = int(rpc(cluster.url(0), "eth_chainId"), 16)
    byzantine = cluster.nodes[3]
    script = Path(__file__).parent / "equivocator.py"
    argv = [
        sys.executable,
        str(script),
        str(tmp_path / "byz"),
        str(byzantine.home / "config" / "validator_key.json"),
    ]
    argv += [str(chain_id), "3", "120", *(cluster.nodes[i].peer_addr for i in honest)]
    (tmp_path / "byz").mkdir()
    with open(tmp_path / "byz.log", "wb") as out:
        cluster.extra.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))

    def evidence_heights() -> set[int] | None:
        found = [
            {
                e["height"]
                for e in cluster.log_events(cluster.nodes[i].home, "commit")
                if e["evidence"]
            }
            for i in honest
        ]
        common = set.intersection(*found)
        return common or None

    heights = wait_for(evidence_heights, 150, "a block with duplicate-vote evidence on every node")
    h = hex(min(heights))
    hashes = {rpc(cluster.url(i), "eth_getBlockByNumber", h, False)["hash"] for i in honest}
    assert len(hashes) == 1
    # The chain goes on past the evidence, without forking.
    top = max(_heights(cluster, honest)) + 2
    for i in honest:
        cluster.wait_height(i, top, 60)
    tops = {rpc(cluster.url(i), "eth_getBlockByNumber", hex(top), False)["hash"] for i in honest}
    assert len(tops) == 1
