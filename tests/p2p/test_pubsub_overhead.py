"""Per-message work py-libp2p's pubsub does beyond moving the message (real hosts, 127.0.0.1).

A validator's event loop under devnet load spent most of its time in libp2p and trio, not in
the node (docs/benchmarks.md, "Pubsub per-message cost"). Two costs were per message and
avoidable: three yamux window updates sent back for every inbound RPC, our signed peer
record rebuilt for every outbound one, and 2-4 stream reads per inbound RPC (patches 6-8 in
p2p/libp2p_patches.py). A third suspicion,
pubsub streams reopened in a loop, was a cProfile artifact (it counts every resumption of a
coroutine as a call); the first test pins down that a burst opens no stream.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import trio
from libp2p.abc import IHost
from libp2p.exceptions import ParseError
from libp2p.io.exceptions import IncompleteReadError, MessageTooLarge
from libp2p.network.stream.net_stream import NetStream
from libp2p.peer.id import ID
from libp2p.pubsub import pubsub as libp2p_pubsub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.stream_muxer.yamux.yamux import YamuxStream
from libp2p.utils.varint import encode_uvarint
from multiaddr import Multiaddr

from p2p import TOPIC_PROPOSALS, TOPIC_TRANSACTIONS, GossipMessage, P2PService, libp2p_patches

from .conftest import ConfigFactory, connect_all, open_nodes

pytestmark = pytest.mark.trio


async def _receive(channel: trio.MemoryReceiveChannel[GossipMessage], count: int) -> None:
    with trio.fail_after(90):
        for _ in range(count):
            await channel.receive()


def _outbound_stream_ids(node: P2PService) -> dict[ID, list[int]]:
    """Per peer, the id the next stream this node opens on each connection would get."""
    network = node.host.get_network()
    return {
        peer: [conn.muxed_conn.next_stream_id for conn in network.get_connections(peer)]
        for peer in network.connections
    }


async def test_a_gossip_burst_opens_no_pubsub_stream(make_config: ConfigFactory) -> None:
    burst = 150
    async with open_nodes([make_config(n) for n in "abc"]) as nodes:
        channels = [n.subscribe(TOPIC_TRANSACTIONS) for n in nodes]
        await connect_all(nodes)
        for node in nodes:
            await node.wait_for_topic_peers(TOPIC_TRANSACTIONS, 2, timeout=15)
        await trio.sleep(1.5)  # the service's subscription refresh has run once
        streams_before = [dict(n.pubsub.peers) for n in nodes]
        ids_before = [_outbound_stream_ids(n) for n in nodes]
        for k in range(burst):
            for i, node in enumerate(nodes):
                await node.publish_transactions([b"%d:%04d:" % (i, k) + b"t" * 100])
        for channel in channels:
            assert channel is not None
            await _receive(channel, 2 * burst)
        for node, streams, ids in zip(nodes, streams_before, ids_before, strict=True):
            # The same pubsub stream object per peer, and no stream opened on any connection.
            assert node.pubsub.peers == streams
            assert all(node.pubsub.peers[p] is s for p, s in streams.items())
            assert _outbound_stream_ids(node) == ids


async def test_inbound_gossip_sends_no_window_update_per_message(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without patch 6 (docs/p2p.md) each side sent 3 window updates per inbound RPC: 1,215 here."""
    burst = 200
    updates: list[int] = []
    original = YamuxStream.send_window_update

    async def counting(self: YamuxStream, increment: int, skip_lock: bool = False) -> None:
        updates.append(increment)
        await original(self, increment, skip_lock)

    monkeypatch.setattr(YamuxStream, "send_window_update", counting)
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        channel = b.subscribe(TOPIC_TRANSACTIONS)
        assert channel is not None
        await connect_all([a, b])
        await b.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        await a.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        updates.clear()
        for k in range(burst):
            await a.publish_transactions([b"%04d:" % k + b"t" * 100])
        await _receive(channel, burst)
        # 200 x ~110 bytes is far below half a window: nothing needs crediting back.
        assert len(updates) <= 2, f"{len(updates)} window updates for {burst} messages"


async def test_large_gossip_still_flows_with_batched_window_updates(
    make_config: ConfigFactory,
) -> None:
    """Messages many times the 256 KiB window: the credit must come back as the reader
    reads, or the sender's write times out after 5 s and the stream dies."""
    count, size = 6, 3 * 1024 * 1024
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        channel = b.subscribe(TOPIC_PROPOSALS)
        assert channel is not None
        await connect_all([a, b])
        await a.wait_for_topic_peers(TOPIC_PROPOSALS, 1, timeout=15)
        payloads = [bytes([k]) * size for k in range(count)]
        for payload in payloads:
            await a.publish(TOPIC_PROPOSALS, payload)
        with trio.fail_after(120):
            got = [(await channel.receive()).data for _ in range(count)]
        assert sorted(got) == payloads


def _counting_get_addrs(host: IHost) -> list[int]:
    calls: list[int] = []
    original: Callable[[], list[Multiaddr]] = host.get_addrs

    def get_addrs() -> list[Multiaddr]:
        calls.append(1)
        return original()

    setattr(host, "get_addrs", get_addrs)  # noqa: B010 (mypy: assigning to a method)
    return calls


async def test_sender_record_is_built_once_and_still_delivered(
    make_config: ConfigFactory,
) -> None:
    """Without patch 7 (docs/p2p.md) every publish called `host.get_addrs()`: 100 calls here."""
    burst = 100
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        channel = b.subscribe(TOPIC_TRANSACTIONS)
        assert channel is not None
        await connect_all([a, b])
        await a.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        await a.publish_transactions([b"warm-up"])
        await _receive(channel, 1)
        calls = _counting_get_addrs(a.host)
        for k in range(burst):
            await a.publish_transactions([b"%04d:" % k + b"t" * 100])
        await _receive(channel, burst)
        assert len(calls) <= 1, f"get_addrs called {len(calls)} times for {burst} publishes"
        # The receiver holds the sender's certified addresses from those records.
        record = b.host.get_peerstore().get_peer_record(a.host.get_id())
        assert record is not None
        assert set(record.record().addrs) == set(a.host.get_addrs())


async def test_sender_record_follows_an_address_change_after_the_ttl(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_nodes([make_config("a")]) as (a,):
        send = libp2p_pubsub.env_to_send_in_RPC
        first, _ = send(a.host)
        moved = Multiaddr("/ip4/10.9.8.7/tcp/4242")
        host: Any = a.host
        host._addrs_factory = lambda addrs: [moved]
        assert send(a.host)[0] == first  # within the TTL: the cached bytes
        monkeypatch.setattr(libp2p_patches, "SENDER_RECORD_TTL_S", 0.0)
        fresh, _ = send(a.host)
        assert fresh != first
        # The receiving side parses it like any record: the new address is in it.
        from libp2p.peer.envelope import consume_envelope

        _, record = consume_envelope(fresh, "libp2p-peer-record")
        assert [str(x) for x in record.addrs] == [f"{moved}/p2p/{a.peer_id}"]


async def test_a_tampered_or_foreign_sender_record_is_still_checked(
    make_config: ConfigFactory,
) -> None:
    """Skipping the signature check for bytes already accepted from the same peer must not let
    other bytes or another peer's record through."""
    async with open_nodes([make_config(n) for n in "abc"]) as (a, b, c):
        send = libp2p_pubsub.env_to_send_in_RPC
        consume = libp2p_pubsub.maybe_consume_signed_record
        record_a, _ = send(a.host)
        a_id, c_id = a.host.get_id(), c.host.get_id()
        assert consume(rpc_pb2.RPC(senderRecord=record_a), b.host, a_id)
        assert consume(rpc_pb2.RPC(senderRecord=record_a), b.host, a_id)  # the cached path
        # a's record presented as c's (a relay lying about its origin).
        assert not consume(rpc_pb2.RPC(senderRecord=record_a), b.host, c_id)
        # A byte flipped anywhere in the envelope (payload, addresses, signature) is rejected,
        # after a valid one was cached.
        for index in range(0, len(record_a), 5):
            forged = bytearray(record_a)
            forged[index] ^= 0x01
            assert not consume(rpc_pb2.RPC(senderRecord=bytes(forged)), b.host, a_id)
        # And the genuine record is accepted again afterwards.
        assert consume(rpc_pb2.RPC(senderRecord=record_a), b.host, a_id)
        # An RPC without a record is accepted as before.
        assert consume(rpc_pb2.RPC(), b.host, a_id)


async def test_inbound_gossip_takes_about_one_stream_read_per_message(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without patch 8 (docs/p2p.md) pubsub read each RPC's length prefix byte by byte: 2-4
    stream reads per message."""
    burst = 200
    reads: list[int] = []
    original = NetStream.read

    async def counting(self: NetStream, n: int | None = None) -> bytes:
        data = await original(self, n)
        reads.append(len(data))
        return data

    monkeypatch.setattr(NetStream, "read", counting)
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        channel = b.subscribe(TOPIC_TRANSACTIONS)
        assert channel is not None
        await connect_all([a, b])
        await a.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        await b.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        reads.clear()
        for k in range(burst):
            await a.publish_transactions([b"%04d:" % k + b"t" * 100])
        await _receive(channel, burst)
        # Both hosts' reads (b reads the burst; a reads b's control traffic).
        assert len(reads) <= burst * 1.2, f"{len(reads)} stream reads for {burst} messages"


class _ChunkReader:
    """Hands out fixed chunks, whatever size is asked, then EOF: a stream's partial reads."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.asked = 0

    async def read(self, n: int | None = None) -> bytes:
        self.asked += 1
        return self.chunks.pop(0) if self.chunks else b""


def _frame(body: bytes) -> bytes:
    return encode_uvarint(len(body)) + body


async def test_buffered_pubsub_reader_reassembles_and_splits_frames() -> None:
    read = libp2p_patches._buffered_read_varint_prefixed
    bodies = [b"a" * 3, b"b" * 300, b"", b"c" * 70_000]
    wire = b"".join(_frame(x) for x in bodies)
    rng = random.Random(5)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(wire)), 12))
        chunks = [wire[i:j] for i, j in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
        reader = _ChunkReader(chunks)
        assert [await read(reader, 1 << 20) for _ in bodies] == bodies
        with pytest.raises(IncompleteReadError):
            await read(reader, 1 << 20)
    # Several frames in one chunk: one read serves them all.
    reader = _ChunkReader([wire])
    assert [await read(reader, 1 << 20) for _ in bodies] == bodies
    assert reader.asked == 1


async def test_buffered_pubsub_reader_rejects_bad_prefixes_like_libp2p() -> None:
    read = libp2p_patches._buffered_read_varint_prefixed
    # A length over the limit fails before the body is read.
    reader = _ChunkReader([encode_uvarint(5000), b"x" * 5000])
    with pytest.raises(MessageTooLarge):
        await read(reader, 4096)
    assert reader.asked == 1
    # Eleven continuation bytes: not a 64-bit varint.
    with pytest.raises(ParseError):
        await read(_ChunkReader([b"\xff" * 11 + b"\x01"]), 1 << 20)
    # Ten bytes that overflow 64 bits.
    with pytest.raises(ParseError):
        await read(_ChunkReader([b"\xff" * 9 + b"\x7f"]), 1 << 80)
    # The stream ends inside the prefix or the body.
    with pytest.raises(IncompleteReadError):
        await read(_ChunkReader([b"\x80"]), 1 << 20)
    with pytest.raises(IncompleteReadError):
        await read(_ChunkReader([_frame(b"12345")[:-1]]), 1 << 20)
