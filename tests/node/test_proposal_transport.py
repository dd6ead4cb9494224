"""Proposals with a ~1 MB Universal Proof between real libp2p hosts on 127.0.0.1 (node/
proposal_transport.py): rebuilt from the pool, fetched when a proof is missing, not delivered
when nobody can serve it; the bytes on the wire before and after; hostile peers blamed."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
from libp2p.io.trio import TrioTCPStream
from proposal_fixtures import block_with, bundle_of, leaf

from consensus import ProposalBundle
from execution.types.block import Block
from execution.universal import ProofLeaf
from node.compact_proposal import TAG, encode_compact, is_compact
from node.proposal_transport import (
    PROTOCOL_PROPOSAL_VALUE,
    ProposalTransport,
    encode_value_response,
)
from p2p import (
    TOPIC_PROPOSALS,
    DialConfig,
    GossipMessage,
    P2PConfig,
    P2PService,
    open_p2p_service,
)

FAST_DIAL = DialConfig(attempts=3, backoff_initial_s=0.05, backoff_max_s=0.5, reconnect_check_s=0.1)


@dataclass
class Peer:
    p2p: P2PService
    transport: ProposalTransport
    held: dict[bytes, ProofLeaf]
    got: list[tuple[ProposalBundle, Block | None]] = field(default_factory=list)
    full: list[bytes] = field(default_factory=list)  # full bundles (the old form)
    heard: list[int] = field(default_factory=list)

    async def on_message(self, msg: GossipMessage) -> None:
        if is_compact(msg.data):
            await self.transport.on_message(msg)
        else:
            self.full.append(msg.data)


@asynccontextmanager
async def _peers(tmp: Path, n: int) -> AsyncIterator[list[Peer]]:
    async with AsyncExitStack() as stack:
        nursery = await stack.enter_async_context(trio.open_nursery())
        peers: list[Peer] = []
        for i in range(n):
            p2p = await stack.enter_async_context(
                open_p2p_service(P2PConfig(home=tmp / f"p2p{i}", dial=FAST_DIAL))
            )
            held: dict[bytes, ProofLeaf] = {}
            peer = Peer(p2p, None, held)  # type: ignore[arg-type]
            peer.transport = ProposalTransport(
                p2p,
                held.get,
                lambda b, blk, peer=peer: peer.got.append((b, blk)),
                heard=peer.heard.append,
                request_timeout=2.0,
                fetch_timeout=6.0,
            )
            peer.transport.attach(nursery)
            p2p.subscribe(TOPIC_PROPOSALS, peer.on_message)
            peers.append(peer)
        for i, a in enumerate(peers):
            for b in peers[i + 1 :]:
                await a.p2p.connect(b.p2p.listen_addrs[0])
        for p in peers:
            await p.p2p.wait_for_topic_peers(TOPIC_PROPOSALS, n - 1, timeout=15)
        yield peers
        nursery.cancel_scope.cancel()


@pytest.fixture
def wire_bytes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes every host of this process writes to its TCP sockets (Noise + yamux framing)."""
    total = [0]
    original = TrioTCPStream.write

    async def counting(self: TrioTCPStream, data: bytes) -> None:
        total[0] += len(data)
        await original(self, data)

    monkeypatch.setattr(TrioTCPStream, "write", counting)
    return total


async def _until(cond, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    with trio.fail_after(timeout):
        while not cond():
            await trio.sleep(0.02)


async def _quiet(wire: list[int], settle: float = 1.5) -> int:
    """Wait until nothing but heartbeats flows; return the byte count then."""
    await trio.sleep(settle)
    return wire[0]


def _score(at: Peer, of: Peer) -> float:
    return next((s.score for s in at.p2p.peers() if s.peer_id == of.p2p.peer_id), 0.0)


async def test_a_1mb_universal_proof_crosses_compact_and_is_fetched_when_missing(
    tmp_path: Path, wire_bytes: list[int]
) -> None:
    rng = random.Random(11)
    proof = leaf(rng, 1 << 20, task=1)
    async with _peers(tmp_path, 4) as (a, b, c, d):
        for p in (a, b, c):
            p.held[proof.task_id] = proof  # d lacks it: (b) fetched
        # Before: the full bundle (the old form) to 3 peers.
        full_block = block_with([proof], height=5)
        full = bundle_of(full_block).encode()
        start = await _quiet(wire_bytes)
        await a.p2p.publish(TOPIC_PROPOSALS, full)
        await _until(lambda: all(p.full for p in (b, c, d)))
        full_cost = await _quiet(wire_bytes) - start
        # After: the compact form of an equal block (another height: another message).
        block = block_with([proof], height=6)
        bundle = bundle_of(block)
        data = a.transport.wire(bundle, block)
        assert is_compact(data) and len(data) < 2_000
        start = await _quiet(wire_bytes)
        await a.p2p.publish(TOPIC_PROPOSALS, data)
        await _until(lambda: all(p.got for p in (b, c, d)))
        compact_cost = await _quiet(wire_bytes) - start
        for p in (b, c, d):
            assert [g[0] for g in p.got] == [bundle]
            assert p.got[0][1] == block  # decoded once, handed to consensus as is
        # (a) b and c rebuilt it from their pools; (b) d fetched the value from a peer.
        assert (b.transport.stats.rebuilt, c.transport.stats.rebuilt) == (1, 1)
        assert d.transport.stats.fetched == 1 and d.transport.stats.rebuilt == 0
        print(
            f"\nwire bytes, 4 hosts, 1 MiB proof: full bundle {full_cost:,}, "
            f"compact {compact_cost:,} with one peer fetching the value "
            f"(ratio {full_cost / compact_cost:.1f})"
        )
        assert compact_cost * 2 < full_cost
        # All four hold the proof: the compact form costs next to nothing.
        d.held[proof.task_id] = proof
        block7 = block_with([proof], height=7)
        data7 = a.transport.wire(bundle_of(block7), block7)
        start = await _quiet(wire_bytes)
        await a.p2p.publish(TOPIC_PROPOSALS, data7)
        await _until(lambda: all(len(p.got) == 2 for p in (b, c, d)))
        held_cost = await _quiet(wire_bytes) - start
        print(f"all pools hold the proof: compact {held_cost:,} bytes (vs full {full_cost:,})")
        assert held_cost * 50 < full_cost
        # Re-gossip of the same value (a stalled round): the same small message, no fetch.
        await a.p2p.publish(TOPIC_PROPOSALS, a.transport.wire(bundle_of(block7), block7))
        await _until(lambda: all(len(p.got) == 3 for p in (b, c, d)))
        assert d.transport.stats.fetched == 1


async def test_a_proposal_nobody_can_complete_is_not_delivered(tmp_path: Path) -> None:
    rng = random.Random(12)
    proof = leaf(rng, 50_000, task=2)
    block = block_with([proof], height=5)
    bundle = bundle_of(block)
    data = encode_compact(bundle, block)  # sent without `wire`: a's transport cannot serve it
    assert data is not None
    async with _peers(tmp_path, 3) as (a, b, c):
        await a.p2p.publish(TOPIC_PROPOSALS, data)
        await _until(lambda: b.transport.stats.not_delivered and c.transport.stats.not_delivered)
        assert not b.got and not c.got
        assert b.heard == [5] and c.heard == [5]  # block sync still hears the height
        # "not held" is nobody's fault
        assert b.p2p.is_connected(a.p2p.peer_id) and c.p2p.is_connected(a.p2p.peer_id)
        assert _score(b, a) >= 0 and _score(c, a) >= 0
        # the transports still work afterwards
        for p in (b, c):
            p.held[proof.task_id] = proof
        await a.p2p.publish(TOPIC_PROPOSALS, data)
        await _until(lambda: b.got and c.got)


async def test_an_unsigned_proposal_costs_no_pool_read_fetch_or_kept_value(
    tmp_path: Path,
) -> None:
    """Review finding: junk compacts (any peer can make one: the header need only hash to the
    unsigned proposal's block hash) took the two fetch slots and evicted the proposer's own
    kept value. A receiver now completes only what `authentic` accepts (the node: signed by the
    round's proposer at its height)."""
    rng = random.Random(14)
    proof = leaf(rng, 50_000, task=3)
    block = block_with([proof], height=5)
    data = encode_compact(bundle_of(block), block)
    assert data is not None
    async with _peers(tmp_path, 3) as (a, b, c):
        reads: list[bytes] = []

        def counting(task_id: bytes) -> ProofLeaf | None:
            reads.append(task_id)
            return None

        for p in (b, c):
            p.transport.lookup = counting
            p.transport.authentic = lambda proposal: False
        await a.p2p.publish(TOPIC_PROPOSALS, data)
        await _until(lambda: b.transport.stats.unauthentic and c.transport.stats.unauthentic)
        await trio.sleep(0.5)
        assert reads == [] and not b.got and not c.got
        assert b.heard == [5] and c.heard == [5]  # block sync still hears the height
        for p in (b, c):
            assert p.transport.stats.not_delivered == 0 and not p.transport._fetching
            assert p.transport.stats.served == p.transport.stats.serve_misses == 0
        # authentic again: the same message is completed
        for p in (b, c):
            p.transport.lookup = {proof.task_id: proof}.get
            p.transport.authentic = lambda proposal: True
        await a.p2p.publish(TOPIC_PROPOSALS, data)
        await _until(lambda: b.got and c.got)


async def test_hostile_compact_messages_and_servers_are_blamed(tmp_path: Path) -> None:
    rng = random.Random(13)
    proof = leaf(rng, 20_000, task=3)
    async with _peers(tmp_path, 4) as (a, liar, c, d):
        for p in (a, liar, c):
            p.held[proof.task_id] = proof
        # Garbage in the compact form: refused before relaying, its forwarder scored down.
        await liar.p2p.publish(TOPIC_PROPOSALS, TAG + b"\xff" * 64)
        await _until(lambda: _score(a, liar) < 0 and _score(c, liar) < 0)
        # A value key that does not match the references: the author is blamed, the relays
        # are not, nothing is delivered.
        block = block_with([proof], height=5)
        bundle = bundle_of(block)
        lying = encode_compact(ProposalBundle(bundle.proposal, bundle.value + b"!"), block)
        assert lying is not None
        before = _score(c, liar)
        await liar.p2p.publish(TOPIC_PROPOSALS, lying)
        await _until(lambda: c.transport.stats.inconsistent == 1)
        assert _score(c, liar) < before and not c.got
        # A server that answers with other bytes: scored down, the next peer serves.
        liar.p2p.register_handler(
            PROTOCOL_PROPOSAL_VALUE, lambda peer, data: _junk_value(rng.randbytes(100))
        )
        honest = block_with([proof], height=6)
        data = a.transport.wire(bundle_of(honest), honest)  # a holds the value
        d_before = _score(d, liar)
        await liar.p2p.publish(TOPIC_PROPOSALS, data)  # liar forwards a's message first
        await _until(lambda: d.got)
        assert d.got[0][0] == bundle_of(honest) and d.transport.stats.fetched == 1
        assert _score(d, liar) < d_before


async def _junk_value(junk: bytes) -> bytes:
    return encode_value_response(junk)
