"""GossipSub as ivcnet uses it: size limits, scoring, flood publish, own-message filter.

Two subclasses of py-libp2p's classes (overrides, not module patches):
- `IvcPubsub` checks every message a peer forwards before libp2p validates,
  relays or delivers it, and hands delivered messages to `GossipGate`, which
  knows who forwarded them (libp2p's subscription channels do not).
- `IvcGossipSub` floods our own publishes to every peer subscribed to the topic
  (go-libp2p's `floodPublish`), so a message published before the mesh forms is
  not lost.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import trio
from libp2p.abc import INetStream
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from p2p.ratebound import PeerRateBound, RateBound
from p2p.scoring import Offence, PeerScores
from p2p.topics import TOPIC_TRANSACTIONS, TopicSpec
from p2p.txbatch import MalformedBatch, decode_tx_batch

logger = logging.getLogger(__name__)

PeerId = str  # base58 peer id, the form the rest of the node (and RPC) uses

# The peer that handed us the message being processed. `Pubsub.push_msg` runs
# each inbound message in its own task, so a context variable set there is seen
# by `notify_subscriptions` in the same task and by no other message.
_forwarder: contextvars.ContextVar[ID | None] = contextvars.ContextVar(
    "ivcnet_gossip_forwarder", default=None
)

# Content check for a topic: raise or return False to reject the bytes (the forwarder is
# scored down), or raise NotRelayed to drop them without blaming it.
TopicValidator = Callable[[bytes], bool]


class NotRelayed(Exception):
    """A topic validator's verdict: well-formed bytes this node does not relay for a reason of
    its own state (a task it has not seen yet, an item it just convicted or refused), which
    an honest forwarder could not know: dropped, nobody scored down."""


@dataclass(frozen=True)
class GossipMessage:
    topic: str
    data: bytes
    # The directly connected peer that sent it to us: the one to score.
    from_peer: PeerId
    # The signed originator (equal to from_peer unless relayed).
    origin: PeerId


def _check_tx_batch(data: bytes) -> bool:
    decode_tx_batch(data)
    return True


@dataclass
class GateStats:
    delivered: int = 0
    dropped_no_subscriber: int = 0
    dropped_full_channel: int = 0
    rejected: int = 0
    ignored_banned: int = 0
    ignored_repeat: int = 0  # a rejected message the same peer sent again
    not_relayed: int = 0  # dropped for this node's own state (NotRelayed): nobody's fault
    rate_dropped: int = 0  # transaction batches past their forwarder's rate bound


# Rejected messages remembered per (forwarder, origin, seqno), so that the same message sent
# again (gossipsub re-sends what a peer did not acknowledge, every heartbeat) is one offence,
# not one per heartbeat: under load that banned a peer for a single oversized message.
MAX_REMEMBERED_REJECTS = 8192


class GossipGate:
    """Admission and delivery of gossip messages; no libp2p I/O of its own."""

    def __init__(
        self,
        my_id: ID,
        topics: dict[str, TopicSpec],
        scores: PeerScores,
        on_ban: Callable[[ID], None] | None = None,
        tx_rate: RateBound | None = None,
    ) -> None:
        self.my_id = my_id
        self.topics = topics
        self.scores = scores
        self.on_ban = on_ban
        self._validators: dict[str, TopicValidator] = {TOPIC_TRANSACTIONS: _check_tx_batch}
        self._subscribers: dict[str, list[trio.MemorySendChannel[GossipMessage]]] = {}
        self.stats = GateStats()
        self._rejected: OrderedDict[bytes, None] = OrderedDict()
        self.tx_rate = PeerRateBound(tx_rate)
        # time.monotonic() of the last gossip message each peer sent us (duplicates count:
        # they show the link carries data). Block sync reads it to tell a peer whose requests
        # time out on a loaded machine from a dead connection (node/syncer.py).
        self._last_heard: dict[PeerId, float] = {}

    def heard(self, peer: ID) -> None:
        self._last_heard[peer.to_base58()] = time.monotonic()

    def gossip_silence(self, peer: PeerId) -> float:
        """Seconds since `peer` last sent us a gossip message; infinity if it never did."""
        last = self._last_heard.get(peer)
        return float("inf") if last is None else time.monotonic() - last

    def set_validator(self, topic: str, validator: TopicValidator) -> None:
        """Add a content check run before a message is relayed or delivered."""
        previous = self._validators.get(topic)
        if previous is None:
            self._validators[topic] = validator
            return

        def both(data: bytes) -> bool:
            return previous(data) and validator(data)

        self._validators[topic] = both

    def add_subscriber(self, topic: str, channel: trio.MemorySendChannel[GossipMessage]) -> None:
        self._subscribers.setdefault(topic, []).append(channel)

    def _reject(self, forwarder: ID, msg: rpc_pb2.Message, offence: Offence) -> bool:
        """Count and penalize a rejected message once per forwarder; returns False."""
        key = forwarder.to_bytes() + b"|" + msg.from_id + b"|" + msg.seqno
        if key in self._rejected:
            self.stats.ignored_repeat += 1
            return False
        self._rejected[key] = None
        while len(self._rejected) > MAX_REMEMBERED_REJECTS:
            self._rejected.popitem(last=False)
        self.stats.rejected += 1
        self.penalize(forwarder, offence)
        return False

    def penalize(self, peer: ID, offence: Offence, weight: float = 1.0) -> None:
        if self.scores.penalize(peer.to_base58(), offence, weight):
            logger.warning("peer %s banned after %s", peer, offence.value)
            if self.on_ban is not None:
                self.on_ban(peer)

    def is_banned(self, peer: ID) -> bool:
        return self.scores.is_banned(peer.to_base58())

    def admit(self, forwarder: ID, msg: rpc_pb2.Message) -> bool:
        """Decide whether a message a peer forwarded may go on into libp2p."""
        # Rule: nothing from a banned peer, whether it sends or an honest peer relays.
        if self.is_banned(forwarder) or self.is_banned(ID(msg.from_id)):
            self.stats.ignored_banned += 1
            return False
        # Rule: exactly one topic per message (ours never multi-topic).
        if len(msg.topicIDs) != 1:
            return self._reject(forwarder, msg, Offence.MALFORMED)
        topic = msg.topicIDs[0]
        spec = self.topics.get(topic)
        if spec is None:
            return self._reject(forwarder, msg, Offence.UNKNOWN_TOPIC)
        # Rule: per-topic size limit.
        if len(msg.data) > spec.max_size:
            return self._reject(forwarder, msg, Offence.OVERSIZED)
        # Rule: transaction gossip within the forwarder's rate bound, before any decoding.
        if topic == TOPIC_TRANSACTIONS:
            verdict = self.tx_rate.charge(forwarder.to_base58(), len(msg.data))
            if not verdict.admitted:
                self.stats.rate_dropped += 1
                # Only a peer over the bound with its own batches is blamed: an honest relay
                # forwards what several peers each sent within their bounds to it.
                if verdict.offence and forwarder == ID(msg.from_id):
                    logger.warning(
                        "peer %s over its transaction gossip rate bound (%d batches dropped)",
                        forwarder,
                        self.stats.rate_dropped,
                    )
                    self.penalize(forwarder, Offence.FLOOD)
                return False
        validator = self._validators.get(topic)
        if validator is not None:
            try:
                ok = validator(msg.data)
            except NotRelayed:
                self.stats.not_relayed += 1
                return False
            except MalformedBatch:
                ok = False
            except Exception as exc:  # a consumer's check must never crash the node
                logger.debug("validator for %s raised %r", topic, exc)
                ok = False
            if not ok:
                return self._reject(forwarder, msg, Offence.MALFORMED)
        return True

    def deliver(self, forwarder: ID | None, msg: rpc_pb2.Message) -> None:
        origin = ID(msg.from_id)
        # Rule: our own publishes come back through pubsub; consumers never see them.
        if origin == self.my_id or forwarder is None or forwarder == self.my_id:
            return
        self.scores.reward(forwarder.to_base58())
        for topic in msg.topicIDs:
            channels = self._subscribers.get(topic)
            if not channels:
                self.stats.dropped_no_subscriber += 1
                continue
            item = GossipMessage(topic, msg.data, forwarder.to_base58(), origin.to_base58())
            for channel in list(channels):
                try:
                    channel.send_nowait(item)
                    self.stats.delivered += 1
                except trio.WouldBlock:
                    self.stats.dropped_full_channel += 1
                    logger.warning("subscriber of %s is full; message dropped", topic)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    channels.remove(channel)


class IvcPubsub(Pubsub):
    """`Pubsub` whose inbound messages pass through a `GossipGate`."""

    def __init__(self, *args: object, gate: GossipGate, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.gate = gate
        self.closing = False
        self._write_locks: weakref.WeakKeyDictionary[INetStream, trio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        # Message ids are (origin, seqno) and libp2p starts seqno at the Unix time
        # in seconds, +1 per publish: a node restarted within a few seconds (or
        # after publishing faster than 1/s) reused seqnos, and peers dropped its new
        # messages as already seen for the 120 s seen-TTL. Nanoseconds leave room
        # for 10^9 publishes per second of downtime.
        self.counter = time.time_ns()

    async def push_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        if msg_forwarder != self.my_id:
            self.gate.heard(msg_forwarder)
            # Duplicates from other mesh peers are common; skip them before any work.
            if self._is_msg_seen(msg):
                return
            if not self.gate.admit(msg_forwarder, msg):
                return
        token = _forwarder.set(msg_forwarder)
        try:
            await super().push_msg(msg_forwarder, msg)
        finally:
            _forwarder.reset(token)

    def notify_subscriptions(self, publish_message: rpc_pb2.Message) -> None:
        self.gate.deliver(_forwarder.get(), publish_message)

    async def write_msg(self, stream: INetStream, rpc_msg: rpc_pb2.RPC) -> bool:
        # Three libp2p tasks write to a peer's pubsub stream: the outbound queue's
        # sender, the pending-message flush and the recent-message replay (the
        # last two run together when a peer's subscription arrives). yamux
        # releases its lock between frames, so two RPCs larger than one frame
        # interleaved and the peer dropped the corrupted stream: a 3 MiB proposal
        # published right after connecting was lost about once in 20 tries.
        lock = self._write_locks.get(stream)
        if lock is None:
            lock = self._write_locks[stream] = trio.Lock()
        async with lock:
            return await super().write_msg(stream, rpc_msg)

    def _handle_dead_peer(self, peer_id: ID) -> None:
        # libp2p forgets a peer's subscriptions whenever one of its pubsub streams
        # dies. When an old connection's stream dies after the peer reconnected
        # (flapping links, partitions healing), that wiped the subscriptions the
        # new connection had just announced, and the peer never resends them: we
        # stopped forwarding it anything. While the peer is still connected, keep
        # what it told us; a real disconnect still forgets everything.
        if self.closing or not self._peer_is_connected(peer_id):
            super()._handle_dead_peer(peer_id)
            return
        kept = [topic for topic, peers in self.peer_topics.items() if peer_id in peers]
        super()._handle_dead_peer(peer_id)
        for topic in kept:
            self.peer_topics.setdefault(topic, set()).add(peer_id)
        if kept:
            self._peer_subscription_count[peer_id] = len(kept)

    def announce_subscriptions(self, peers: Iterable[ID] | None = None) -> None:
        """Resend our subscriptions (to `peers`, default all; idempotent at the receiver).

        A safety net for the same class of race seen from the other side: a peer
        that lost our subscriptions would otherwise never forward to us again.
        """
        hello = self.get_hello_packet()
        if not hello.subscriptions:
            return
        for peer_id in list(self.peers if peers is None else peers):
            queue = self.peer_queues.get(peer_id)
            if queue is not None:
                queue.push(hello, priority=True)

    async def stream_handler(self, stream: object) -> None:
        # A peer's undecodable RPC (bad protobuf, bad signature record) must end
        # that peer's stream, not the node: catch everything libp2p lets through.
        peer: ID | None = getattr(getattr(stream, "muxed_conn", None), "peer_id", None)
        try:
            await super().stream_handler(stream)  # type: ignore[arg-type]
        except Exception as exc:
            # During shutdown the pubsub task nursery closes while connections
            # still deliver RPCs; libp2p then raises RuntimeError from run_task.
            if self.closing or not self.manager.is_running:
                logger.debug("pubsub stream from %s ended at shutdown: %r", peer, exc)
            else:
                logger.info("pubsub stream from %s failed: %r", peer, exc)
                if peer is not None:
                    self.gate.penalize(peer, Offence.MALFORMED)
                    with contextlib.suppress(RuntimeError):
                        self._handle_dead_peer(peer)
            with contextlib.suppress(Exception):
                await stream.reset()  # type: ignore[attr-defined]


class IvcGossipSub(GossipSub):
    """GossipSub that floods our own publishes to all subscribed peers."""

    flood_publish: bool = True

    def _get_peers_to_send(
        self,
        topic_ids: Iterable[str],
        msg_forwarder: ID,
        origin: ID,
        msg_id: bytes | None = None,
    ) -> Iterator[ID]:
        topic_list = list(topic_ids)
        peers = set(super()._get_peers_to_send(topic_list, msg_forwarder, origin, msg_id))
        pubsub = self.pubsub
        if self.flood_publish and pubsub is not None and origin == pubsub.my_id:
            for topic in topic_list:
                peers.update(pubsub.peer_topics.get(topic, ()))
            peers.discard(msg_forwarder)
            peers.discard(origin)
        yield from peers
