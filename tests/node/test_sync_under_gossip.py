"""A node that starts late catches up by block sync while the network gossips heavily.

Real processes on 127.0.0.1: 4 validators (0.3 s blocks) and a spammer host in this process
that publishes transaction batches (well-framed junk, 50 KB each: the validators relay them
before their mempools refuse the contents) to every validator, so each validator connection of
a late node carries gossip at the rate of a busy network's proposals and proofs. The late full
node runs on a fraction of a core (SIGSTOP/SIGCONT duty cycle), as the late provers of the
20-task scenario did at load ~20: its reader falls behind the gossip and, without catch-up mode,
its block-sync answers queue behind that gossip on the same connections
(docs/proving.md, "The whole network stalls under load").
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from node_cluster import Cluster, free_ports, height_of, log_events, wait_for

from node.devnet import DevnetNode
from p2p import TOPIC_TRANSACTIONS, P2PConfig, encode_tx_batch, open_p2p_service

SPAM_BATCH_ITEMS = 10
SPAM_ITEM_BYTES = 2_500
SPAM_PER_SECOND = 4
# The late node runs RUN_S of every RUN_S + STOP_S seconds.
RUN_S = 0.05
STOP_S = 0.3
CATCH_UP_TIMEOUT_S = 240.0


class _Spammer:
    def __init__(self, home: Path, peers: list[str]) -> None:
        self.home = home
        self.peers = peers
        self.stop = threading.Event()
        self.sent = 0
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: trio.run(self._run), daemon=True)

    async def _run(self) -> None:
        rng = random.Random(7)
        async with open_p2p_service(P2PConfig(home=self.home)) as p2p:
            for addr in self.peers:
                await p2p.connect(addr)
            await p2p.wait_for_topic_peers(TOPIC_TRANSACTIONS, len(self.peers), timeout=60)
            self.ready.set()
            while not self.stop.is_set():
                items = [rng.randbytes(SPAM_ITEM_BYTES) for _ in range(SPAM_BATCH_ITEMS)]
                await p2p.publish(TOPIC_TRANSACTIONS, encode_tx_batch(items))
                self.sent += 1
                await trio.sleep(1 / SPAM_PER_SECOND)


class _Throttle:
    """Run a process RUN_S of every RUN_S + STOP_S seconds."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set() and self.proc.poll() is None:
            time.sleep(RUN_S)
            try:
                os.kill(self.proc.pid, signal.SIGSTOP)
                time.sleep(STOP_S)
            finally:
                os.kill(self.proc.pid, signal.SIGCONT)


def _start_late_node(cluster: Cluster, home: Path) -> tuple[DevnetNode, subprocess.Popen[bytes]]:
    """A full node with the genesis file, peered with every validator (as provers are)."""
    home.mkdir(parents=True)
    (home / "genesis.json").write_bytes((cluster.root / "genesis.json").read_bytes())
    rpc_port, p2p_port = free_ports(2)
    node = DevnetNode(99, home, rpc_port, p2p_port, "")
    argv = cluster.command(node, [n.peer_addr for n in cluster.nodes])
    proc = cluster._spawn(argv, home)
    cluster.extra.append(proc)
    return node, proc


@pytest.mark.slow
@pytest.mark.xdist_group("node-processes")  # a multi-process network: the serial pass
@pytest.mark.timeout(900)
def test_a_late_node_catches_up_while_the_network_gossips_heavily(
    cluster_factory: Any, tmp_path: Path
) -> None:
    cluster = cluster_factory(4)
    cluster.start_all()
    cluster.wait_height(0, 2, 180)
    spammer = _Spammer(tmp_path / "spammer", [n.peer_addr for n in cluster.nodes])
    spammer.thread.start()
    throttle: _Throttle | None = None
    try:
        assert spammer.ready.wait(120), "spammer not connected"
        start = cluster.height(0) or 0
        cluster.wait_height(0, start + 30, 180)
        late, proc = _start_late_node(cluster, tmp_path / "late")
        throttle = _Throttle(proc)
        throttle.thread.start()
        wait_for(lambda: log_events(late.home, "started"), 180, "the late node to start", 1.0)
        started = time.monotonic()
        target = cluster.height(0) or 0

        def caught_up() -> bool:
            h = height_of(late.rpc_url)
            return h is not None and h >= target

        try:
            wait_for(caught_up, CATCH_UP_TIMEOUT_S, f"the late node at height {target}", 1.0)
        except AssertionError as exc:
            stalls = log_events(late.home, "follow_stalled")[-1:]
            raise AssertionError(
                f"{exc}: late node at {height_of(late.rpc_url)} after {spammer.sent} spam "
                f"batches; last stall report {stalls}"
            ) from None
        took = time.monotonic() - started
        # Caught up by block sync with the gossip topics left.
        on = log_events(late.home, "catch_up_on")
        assert on, "no catch_up_on event"
        print(
            f"late node: {target} heights in {took:.1f} s from its start; catch-up mode from "
            f"{on[0]['source']}; {spammer.sent} spam batches; load {os.getloadavg()[0]:.1f}"
        )
        # Hand-over: back on gossip, it follows consensus (spam and starvation over, so that a
        # network slowed by the spam recovers first).
        throttle.stop.set()
        throttle.thread.join()
        spammer.stop.set()
        wait_for(lambda: log_events(late.home, "catch_up_off"), 120, "catch_up_off", 1.0)
        head = (cluster.height(0) or 0) + 5
        cluster.wait_height(0, head, 180)
        wait_for(
            lambda: (height_of(late.rpc_url) or 0) >= head, 120, "the late node following", 1.0
        )
        # Following by consensus gossip, not only by more block sync.
        wait_for(
            lambda: any(e["source"] == "consensus" for e in log_events(late.home, "commit")),
            120,
            "a commit by consensus on the late node",
            1.0,
        )
    finally:
        spammer.stop.set()
        if throttle is not None:
            throttle.stop.set()
