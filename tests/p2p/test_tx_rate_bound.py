"""The per-peer rate bound on transaction gossip: buckets by hand, then real hosts."""

from __future__ import annotations

import time

import pytest
import trio

from p2p import TOPIC_TRANSACTIONS, GossipConfig, GossipMessage, Offence, decode_tx_batch
from p2p.ratebound import MAX_TRACKED_PEERS, PeerRateBound, RateBound

from .conftest import ConfigFactory, open_nodes


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


SMALL = RateBound(
    bytes_per_s=1000, burst_bytes=4000, messages_per_s=10, burst_messages=5, drops_per_offence=3
)


def test_message_bucket_refills_at_its_rate() -> None:
    clock = Clock()
    bound = PeerRateBound(SMALL, clock)
    assert [bound.charge("p", 10).admitted for _ in range(6)] == [True] * 5 + [False]
    # Other peers have their own buckets.
    assert bound.charge("q", 10).admitted
    clock.now += 0.15  # one and a half messages
    assert bound.charge("p", 10).admitted
    assert not bound.charge("p", 10).admitted
    clock.now += 100.0  # refills to the burst, not beyond it
    assert [bound.charge("p", 10).admitted for _ in range(6)] == [True] * 5 + [False]


def test_byte_bucket_bounds_large_messages() -> None:
    clock = Clock()
    bound = PeerRateBound(SMALL, clock)
    assert bound.charge("p", 3000).admitted
    assert not bound.charge("p", 3000).admitted  # 1000 bytes left
    assert bound.charge("p", 1000).admitted
    clock.now += 2.0
    assert not bound.charge("p", 3000).admitted  # 2000 refilled
    clock.now += 1.0
    assert bound.charge("p", 3000).admitted
    # A message larger than the burst never passes: the burst must cover the topic limit.
    clock.now += 100.0
    assert not bound.charge("p", 4001).admitted


def test_persistent_excess_is_an_offence_every_n_drops() -> None:
    bound = PeerRateBound(SMALL, Clock())
    verdicts = [bound.charge("p", 1) for _ in range(5 + 7)]
    assert [v.admitted for v in verdicts] == [True] * 5 + [False] * 7
    assert [v.offence for v in verdicts[5:]] == [False, False, True, False, False, True, False]
    assert (bound.admitted, bound.dropped) == (5, 7)


def test_peer_table_is_bounded() -> None:
    bound = PeerRateBound(SMALL, Clock())
    for i in range(MAX_TRACKED_PEERS + 10):
        bound.charge(f"peer{i}", 1)
    assert bound.tracked_peers() == MAX_TRACKED_PEERS


def test_default_burst_covers_the_topic_limit() -> None:
    from p2p import DEFAULT_TOPICS

    assert RateBound().burst_bytes >= DEFAULT_TOPICS[TOPIC_TRANSACTIONS].max_size


# Real hosts: a flooder and an honest peer both connected only to the victim, and an observer
# connected only to the victim, so that all the observer gets of the flood is what the victim
# relayed. A small bound keeps the test short; the code path is the production one.
BOUND = RateBound(
    bytes_per_s=8 * 1024,
    burst_bytes=32 * 1024,
    messages_per_s=20,
    burst_messages=20,
    drops_per_offence=8,
)
FLOOD_BATCH = 8 * 1024
# The flooder sends until the victim bans it; this many at most.
MAX_FLOOD = 5000


@pytest.mark.trio
async def test_flooding_peer_is_bounded_and_honest_transactions_get_through(
    make_config: ConfigFactory,
) -> None:
    gossip = GossipConfig(tx_rate=BOUND)
    # The observer keeps the default (larger) bound: it must see all the victim relays, the
    # honest batches among them, not drop them under a bound of its own.
    configs = [make_config(n, gossip=gossip) for n in ("victim", "flooder", "honest")]
    async with open_nodes([*configs, make_config("observer")]) as nodes:
        victim, flooder, honest, observer = nodes
        at_victim = victim.subscribe(TOPIC_TRANSACTIONS)
        at_observer = observer.subscribe(TOPIC_TRANSACTIONS)
        assert at_victim is not None and at_observer is not None
        for other in (flooder, honest, observer):
            await victim.connect(other.listen_addrs[0])
        for node in nodes:
            await node.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        await victim.wait_for_topic_peers(TOPIC_TRANSACTIONS, 3, timeout=15)

        honest_sent: set[bytes] = set()
        flood_sent = 0
        start = time.monotonic()
        with trio.fail_after(90):
            # Well-formed batches of junk: they pass the framing check, so only the rate bound
            # stands between them and every node's relay and mempool. As fast as the flooder
            # can, until the victim bans it (how fast that is depends on the machine's load).
            while not victim.scores.is_banned(flooder.peer_id) and flood_sent < MAX_FLOOD:
                junk = [b"junk-%d-" % flood_sent + bytes(FLOOD_BATCH - 16)]
                await flooder.publish_transactions(junk)
                if flood_sent % 15 == 0:
                    tx = b"honest-%d" % flood_sent
                    honest_sent.add(tx)
                    await honest.publish_transactions([tx])
                flood_sent += 1
                await trio.sleep(0)
            # Everything the honest peer sent reaches the victim and, relayed, the observer.
            await _collect_until(at_victim, honest_sent)
            flood_at_observer, honest_at_observer = await _collect_until(at_observer, honest_sent)
            # Anything still in flight from the flood arrives within this pause.
            await trio.sleep(1.0)
            flood_at_observer += _drain_flood(at_observer)
        elapsed = time.monotonic() - start

        allowed_msgs = BOUND.burst_messages + BOUND.messages_per_s * elapsed
        allowed_bytes = BOUND.burst_bytes + BOUND.bytes_per_s * elapsed
        relayed = len(flood_at_observer)
        assert relayed <= allowed_msgs
        assert relayed * FLOOD_BATCH <= allowed_bytes + FLOOD_BATCH
        assert relayed < flood_sent
        assert honest_at_observer == honest_sent
        assert victim.gate.stats.rate_dropped > 0
        # The excess persisted: the flooder was scored down for it and banned; not the honest.
        record = victim.scores.snapshot(flooder.peer_id)
        assert record.offences.get(Offence.FLOOD.value, 0) >= 5
        assert victim.scores.is_banned(flooder.peer_id)
        assert victim.scores.snapshot(honest.peer_id).offences == {}
        assert not victim.scores.is_banned(honest.peer_id)


async def _collect_until(
    inbox: trio.MemoryReceiveChannel[GossipMessage], wanted: set[bytes]
) -> tuple[list[bytes], set[bytes]]:
    """Receive until every batch in `wanted` was seen; returns (flood batches, wanted seen)."""
    flood: list[bytes] = []
    seen: set[bytes] = set()
    while not wanted <= seen:
        msg = await inbox.receive()
        for tx in decode_tx_batch(msg.data):
            if tx.startswith(b"junk-"):
                flood.append(tx)
            else:
                seen.add(tx)
    return flood, seen


def _drain_flood(inbox: trio.MemoryReceiveChannel[GossipMessage]) -> list[bytes]:
    out: list[bytes] = []
    while True:
        try:
            msg = inbox.receive_nowait()
        except trio.WouldBlock:
            return out
        out.extend(tx for tx in decode_tx_batch(msg.data) if tx.startswith(b"junk-"))
