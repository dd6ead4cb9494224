"""Every module-level patch of py-libp2p 0.8.1 that ivcnet needs, in one place.

Each patch changes a default that the package offers no constructor argument
for and that silently loses or delays messages (measured in the team's
py-libp2p notes). `apply()` is idempotent and runs before any host is built.
Everything else is configured through constructor arguments or the subclasses
in `p2p.gossip`.
"""

from __future__ import annotations

import contextlib
import logging
import struct
import time
import weakref
from collections.abc import Awaitable, Callable

import libp2p.network.swarm as _swarm
import libp2p.pubsub.gossipsub as _gossipsub
import libp2p.pubsub.pubsub as _pubsub
import trio
from libp2p.abc import IHost
from libp2p.exceptions import ParseError
from libp2p.io.abc import Reader
from libp2p.io.exceptions import ConnectionClosedError, IncompleteReadError, MessageTooLarge
from libp2p.network.connection.swarm_connection import SwarmConn
from libp2p.network.stream.net_stream import NetStream
from libp2p.peer.id import ID
from libp2p.peer.peerstore import env_to_send_in_RPC
from libp2p.pubsub.pb.rpc_pb2 import RPC
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.pubsub.utils import maybe_consume_signed_record
from libp2p.security.noise.io import NoiseTransportReadWriter
from libp2p.stream_muxer.exceptions import MuxedStreamError
from libp2p.stream_muxer.yamux.yamux import (
    FLAG_SYN,
    TYPE_WINDOW_UPDATE,
    YAMUX_HEADER_FORMAT,
    Yamux,
    YamuxStream,
)
from libp2p.utils.varint import decode_uvarint

logger = logging.getLogger(__name__)

# Outbound per-peer RPC queue depth and subscription channel depth. The default
# 32 dropped 168 of a 200-message burst; the outbound queue drops silently.
QUEUE_DEPTH = 4096
# Largest pubsub RPC sent. The default 1 MiB silently drops larger outbound RPCs
# (the inbound limit is a `Pubsub` constructor argument and set there).
MAX_RPC_SIZE = 8 * 1024 * 1024

# Longest a Noise transport write may take once its message is encrypted. Past it the
# connection is closed: a frame cut short cannot be recovered.
NOISE_WRITE_TIMEOUT_S = 30.0

# Longest the reset of an abandoned, half-opened stream may take (it waits for the
# connection's write lock); past it the slot is released without telling the peer.
ABANDON_RESET_TIMEOUT_S = 2.0

# How long a host reuses its serialized signed peer record in outbound pubsub RPCs, and how
# long a peer's identical record is accepted again without re-verifying its signature.
# Addresses change only when a host starts listening, so a record at most this old is current.
SENDER_RECORD_TTL_S = 30.0

# Bytes asked of a pubsub stream per read: what the stream has buffered, up to this.
PUBSUB_READ_CHUNK = 256 * 1024
# A uvarint of a 64-bit length is at most 10 bytes.
_MAX_VARINT_BYTES = 10

_applied = False


class _DeepRpcQueue(RpcQueue):
    """`Pubsub._handle_new_peer` builds `RpcQueue()` with no arguments, and the
    default depth and size are bound at definition time, so the only way to change
    them is to swap the class that module name refers to."""

    def __init__(self, max_size: int = QUEUE_DEPTH, max_message_size: int = MAX_RPC_SIZE) -> None:
        super().__init__(max_size=max_size, max_message_size=max_message_size)


_WriteMsg = Callable[[NoiseTransportReadWriter, bytes, bool], Awaitable[None]]


def _uncancellable_noise_write(original: _WriteMsg) -> _WriteMsg:
    """`write_msg` encrypts (advancing the Noise send nonce) and only then awaits the socket.
    A caller's timeout that fires at that await drops an encrypted message the peer never
    sees; every later message then fails the peer's decryption, so the connection stays
    "connected" while no stream on it opens again (docs/p2p.md, Known issues). Yamux writes
    run inside the caller's timeout (request deadlines, window updates sent from `read`,
    resets), so the write must finish regardless, bounded by NOISE_WRITE_TIMEOUT_S."""

    async def write_msg(
        self: NoiseTransportReadWriter, msg: bytes, prefix_encoded: bool = False
    ) -> None:
        with trio.CancelScope(shield=True) as scope:
            scope.deadline = trio.current_time() + NOISE_WRITE_TIMEOUT_S
            await original(self, msg, prefix_encoded)
        if scope.cancelled_caught:
            logger.warning(
                "noise write stalled %.0f s; closing the connection", NOISE_WRITE_TIMEOUT_S
            )
            with trio.CancelScope(shield=True, deadline=trio.current_time() + 1.0):
                await self.close()
            raise ConnectionClosedError("noise write timed out; connection closed")

    return write_msg


async def _abandon(conn: Yamux, stream: YamuxStream) -> None:
    """Give back the slot and bookkeeping of a stream whose opener was cancelled or failed.

    The SYN may already be on the wire (the cancel can land on the checkpoint after the
    write), so the peer is told with a RST; `reset` also releases the backlog slot. Shielded
    and bounded: the opener is being cancelled, and the write lock may be busy."""
    deadline = trio.current_time() + ABANDON_RESET_TIMEOUT_S
    with trio.CancelScope(shield=True, deadline=deadline), contextlib.suppress(Exception):
        await stream.reset()
    if not stream._backlog_slot_released:
        stream._backlog_slot_released = True
        conn.stream_backlog_semaphore.release()
    conn.streams.pop(stream.stream_id, None)
    conn.stream_buffers.pop(stream.stream_id, None)
    conn.stream_events.pop(stream.stream_id, None)


async def _cancel_safe_open_stream(self: Yamux) -> YamuxStream:
    """`Yamux.open_stream` that gives its slot back however it ends.

    libp2p's version takes one of the connection's 256 stream slots, registers the stream,
    writes the SYN, and cleans up only on `Exception`: a `trio.Cancelled` (a request's
    deadline) at the streams lock, the write lock or the checkpoint after the write keeps
    the slot for the life of the connection. After 256 such cancels every new stream on
    the connection waits forever while gossip on the old streams still flows (measured:
    tests/p2p/test_stream_slots.py; docs/p2p.md, Known issues). Same wire behaviour
    otherwise: one SYN window update per stream."""
    await self.stream_backlog_semaphore.acquire()  # cancelled here: nothing taken
    stream: YamuxStream | None = None
    try:
        async with self.streams_lock:
            if self.event_shutting_down.is_set():
                raise MuxedStreamError("Connection is shutting down")
            stream_id = self.next_stream_id
            self.next_stream_id += 2
            stream = YamuxStream(stream_id, self, True)
            stream._owns_backlog_slot = True
            self.streams[stream_id] = stream
            self.stream_buffers[stream_id] = bytearray()
            self.stream_events[stream_id] = trio.Event()
        header = struct.pack(YAMUX_HEADER_FORMAT, 0, TYPE_WINDOW_UPDATE, FLAG_SYN, stream_id, 0)
        await self._write_frame(header)
        return stream
    except BaseException as exc:
        if stream is None:
            self.stream_backlog_semaphore.release()
        else:
            await _abandon(self, stream)
        if isinstance(exc, Exception) and not isinstance(exc, MuxedStreamError):
            raise MuxedStreamError(f"Failed to send SYN: {exc}") from exc
        raise


async def _cancel_safe_swarm_new_stream(self: SwarmConn) -> NetStream:
    """`SwarmConn.new_stream` opens the muxed stream, then awaits bookkeeping
    (`_add_stream`: stream state, notifiees); a cancel there dropped the opened muxed
    stream with its slot. Reset it instead."""
    muxed = await self.muxed_conn.open_stream()
    try:
        return await self._add_stream(muxed)
    except BaseException:
        with (
            trio.CancelScope(shield=True, deadline=trio.current_time() + ABANDON_RESET_TIMEOUT_S),
            contextlib.suppress(Exception),
        ):
            await muxed.reset()
        raise


_EnvToSend = Callable[[IHost], tuple[bytes, bool]]
_ConsumeRecord = Callable[[RPC, IHost, ID], bool]


def _cached_sender_record(original: _EnvToSend) -> _EnvToSend:
    """libp2p puts our signed peer record into every pubsub RPC (`GossipSub.publish`, `send_rpc`,
    the hello packet) and rebuilds its inputs each time: `host.get_addrs()` (the listeners'
    multiaddrs, our `addrs_factory`, the /p2p suffix), the cached record's parsed addresses
    to compare, and the envelope's serialization. Under cProfile that was about half of
    `Pubsub.publish` in a 4-host burst (docs/benchmarks.md, "Pubsub per-message cost"). Keep
    the bytes per host for SENDER_RECORD_TTL_S."""
    cache: weakref.WeakKeyDictionary[IHost, tuple[float, bytes]] = weakref.WeakKeyDictionary()

    def env_to_send_in_rpc(host: IHost) -> tuple[bytes, bool]:
        now = time.monotonic()
        hit = cache.get(host)
        if hit is not None and now - hit[0] < SENDER_RECORD_TTL_S:
            return hit[1], False
        envelope, created = original(host)
        cache[host] = (now, envelope)
        return envelope, created

    return env_to_send_in_rpc


def _verified_once_sender_record(original: _ConsumeRecord) -> _ConsumeRecord:
    """Every inbound pubsub RPC carries the sender's signed peer record, and libp2p verifies
    its Ed25519 signature and rewrites the peer's addresses for each one, twice for an RPC
    with control messages (`Pubsub.continuously_read_stream`, then `GossipSub.handle_rpc`).
    A peer sends the same bytes every time: those accepted from the same peer within
    SENDER_RECORD_TTL_S are accepted again without the work. A different record (new
    addresses, another signer) and the first one after the TTL go through libp2p's checks,
    which also refresh the addresses' peerstore TTL."""
    accepted: weakref.WeakKeyDictionary[IHost, dict[ID, tuple[float, bytes]]] = (
        weakref.WeakKeyDictionary()
    )

    def maybe_consume_signed_record(msg: RPC, host: IHost, peer_id: ID) -> bool:
        if not msg.HasField("senderRecord"):
            return True
        record = msg.senderRecord
        now = time.monotonic()
        known = accepted.setdefault(host, {})
        hit = known.get(peer_id)
        if hit is not None and hit[1] == record and now - hit[0] < SENDER_RECORD_TTL_S:
            return True
        ok = original(msg, host, peer_id)
        if ok:
            known[peer_id] = (now, record)
        else:
            known.pop(peer_id, None)
        return ok

    return maybe_consume_signed_record


async def _batched_window_update(self: YamuxStream, *, bytes_read: int = 0) -> None:
    """Credit the peer's send window the way go-yamux does: only once the consumed, not yet
    credited bytes reach half the target window (`sendWindowUpdate`'s hysteresis).

    libp2p's version also sends a WINDOW_UPDATE on nearly every read that returned data (its
    "release on read" and "partial slack" branches). pubsub reads each RPC's varint prefix one
    byte at a time and then the body, so every inbound RPC sent 3-4 window updates back, each a
    Noise message and a socket `send` (measured: 4 yamux frames per 100-byte gossip message
    over one connection, 5 per 20 KB one; 1 frame with this). On a loaded machine each
    loopback `send` can hand the CPU to the woken peer; `send` was the validator loop's largest
    single cost (docs/benchmarks.md). The sender still gets credit before its window runs out
    as long as the reader reads: at most half the window is ever withheld."""
    _ = bytes_read  # the consumed count is derived from the window and the buffer
    total = 0
    async with self.window_lock:
        buffered = len(self.conn.stream_buffers.get(self.stream_id, b""))
        delta = self.target_recv_window - (self.recv_window + buffered)
        if delta > 0 and delta >= self._grow_threshold():
            total = self._grow_to_delta(buffered) + self._apply_autotune_epoch(buffered)
            self._pending_recv_release = 0
    if total > 0:
        await self.send_window_update(total, skip_lock=True)


_pubsub_read_buffers: weakref.WeakKeyDictionary[Reader, bytearray] = weakref.WeakKeyDictionary()


async def _buffered_read_varint_prefixed(reader: Reader, max_length: int) -> bytes:
    """`read_varint_prefixed_bytes_limited` for pubsub's read loop, reading ahead.

    libp2p's version reads the length prefix one byte per `read` and then the body, so every
    inbound RPC took 2-4 stream reads, each through the stream's state lock, yamux's streams
    lock and its debug f-strings. This one asks for whatever the stream holds (up to
    PUBSUB_READ_CHUNK) and keeps the surplus for the next call, so one read usually serves one
    or several RPCs. Same checks and errors: a prefix over 10 bytes or 64 bits is ParseError,
    a length over `max_length` is MessageTooLarge before the body is read, and a stream that
    ends early is IncompleteReadError. Pubsub reads each stream only through this function,
    from one task, so the per-stream buffer is never shared."""
    if max_length <= 0:
        raise ValueError("max_length must be greater than 0")
    buffer = _pubsub_read_buffers.get(reader)
    if buffer is None:
        buffer = _pubsub_read_buffers[reader] = bytearray()
    while True:
        end = next((i for i, b in enumerate(buffer[:_MAX_VARINT_BYTES]) if b < 0x80), None)
        if end is not None:
            break
        if len(buffer) >= _MAX_VARINT_BYTES:
            raise ParseError("varint length prefix longer than 10 bytes")
        chunk = await reader.read(PUBSUB_READ_CHUNK)
        if not chunk:
            raise IncompleteReadError(
                "Stream ended while reading varint length prefix",
                expected_bytes=1,
                received_bytes=0,
            )
        buffer.extend(chunk)
    length = decode_uvarint(bytes(buffer[: end + 1]))
    if length > max_length:
        raise MessageTooLarge(f"Message length {length} exceeds maximum allowed {max_length}")
    del buffer[: end + 1]
    while len(buffer) < length:
        chunk = await reader.read(max(PUBSUB_READ_CHUNK, length - len(buffer)))
        if not chunk:
            raise IncompleteReadError(
                f"Incomplete message: expected {length}, got {len(buffer)}",
                expected_bytes=length,
                received_bytes=len(buffer),
            )
        buffer.extend(chunk)
    message = bytes(buffer[:length])
    del buffer[:length]
    return message


def apply() -> None:
    global _applied
    if _applied:
        return
    # Every dial waited 250 ms after success for a second transport we never run
    # (TCP only); 0 makes a loopback connect take ~10 ms instead of ~260 ms.
    _swarm._HAPPY_EYEBALLS_DELAY = 0.0
    # Read at call time by `Pubsub.subscribe`; ivcnet delivers through its own
    # channels (`p2p.gossip`), but a full libp2p channel would still log and drop.
    _pubsub.SUBSCRIPTION_CHANNEL_SIZE = QUEUE_DEPTH
    # `setattr`: the module does not re-export the name for type checkers.
    setattr(_pubsub, "RpcQueue", _DeepRpcQueue)  # noqa: B010
    # A write cancelled after encryption desynchronizes the connection for good.
    # `setattr`: mypy forbids assigning to a method.
    setattr(  # noqa: B010
        NoiseTransportReadWriter,
        "write_msg",
        _uncancellable_noise_write(NoiseTransportReadWriter.write_msg),
    )
    # A cancelled stream open kept one of the connection's 256 stream slots for good.
    setattr(Yamux, "open_stream", _cancel_safe_open_stream)  # noqa: B010
    setattr(SwarmConn, "new_stream", _cancel_safe_swarm_new_stream)  # noqa: B010
    # Three yamux frames (window updates) answered every inbound pubsub RPC.
    setattr(YamuxStream, "_auto_tune_and_send_window_update", _batched_window_update)  # noqa: B010
    # Pubsub read each RPC's length prefix one byte per stream read.
    setattr(_pubsub, "read_varint_prefixed_bytes_limited", _buffered_read_varint_prefixed)  # noqa: B010
    # Both pubsub modules import these two names; rebind them where they are looked up.
    # `setattr`: the modules do not re-export the names for type checkers.
    send = _cached_sender_record(env_to_send_in_RPC)
    consume = _verified_once_sender_record(maybe_consume_signed_record)
    for module in (_pubsub, _gossipsub):
        setattr(module, "env_to_send_in_RPC", send)  # noqa: B010
        setattr(module, "maybe_consume_signed_record", consume)  # noqa: B010
    _applied = True
