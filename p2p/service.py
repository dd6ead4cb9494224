"""The p2p service: one libp2p host with gossip, request/response and a peer book.

    async with open_p2p_service(config) as p2p:
        p2p.subscribe(TOPIC_VOTES, on_vote)
        p2p.register_handler(PROTOCOL_BLOCKS, serve_blocks)
        await p2p.publish(TOPIC_VOTES, vote_bytes)
        blocks = await p2p.request(peer, PROTOCOL_BLOCKS, query, timeout=5)

Everything the service runs lives in a nursery opened by `open_p2p_service`;
leaving the block stops it and closes every connection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost
from libp2p.crypto.x25519 import create_new_key_pair as create_new_x25519_key_pair
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.tools.anyio_service import background_trio_service

from p2p import libp2p_patches
from p2p.announce import addrs_factory, parse_external_address
from p2p.config import P2PConfig, parse_peer_addr
from p2p.errors import MessageTooLarge, P2PConfigError, P2PError, PeerUnreachable, UnknownTopic
from p2p.gossip import GossipGate, GossipMessage, IvcGossipSub, IvcPubsub, TopicValidator
from p2p.identity import load_or_create_identity
from p2p.reqresp import RequestHandler, RequestResponder, send_request
from p2p.scoring import Offence, PeerScores
from p2p.topics import TOPIC_TRANSACTIONS
from p2p.txbatch import decode_tx_batch, encode_tx_batch

logger = logging.getLogger(__name__)

GossipHandler = Callable[[GossipMessage], Awaitable[None]]


@dataclass(frozen=True)
class PeerStatus:
    """One row of `ivc_peers`."""

    peer_id: str
    addresses: tuple[str, ...]
    connected: bool
    score: float
    banned: bool


def _to_id(peer: str | ID) -> ID:
    if isinstance(peer, ID):
        return peer
    try:
        return ID.from_base58(peer)
    except Exception as exc:
        raise P2PError(f"not a peer id: {peer!r}") from exc


class P2PService:
    def __init__(
        self,
        config: P2PConfig,
        host: IHost,
        pubsub: IvcPubsub,
        gate: GossipGate,
        scores: PeerScores,
        responder: RequestResponder,
        nursery: trio.Nursery,
    ) -> None:
        self.config = config
        self.host = host
        self.pubsub = pubsub
        self.gate = gate
        self.scores = scores
        self._responder = responder
        self._nursery = nursery
        self._persistent: dict[ID, PeerInfo] = {}

    # ---- identity and addresses -------------------------------------------------
    @property
    def peer_id(self) -> str:
        return self.host.get_id().to_base58()

    @property
    def listen_addrs(self) -> list[str]:
        """Announced addresses (p2p/announce.py) with the /p2p/ suffix; the real port when 0
        was asked, never a wildcard."""
        return [str(a) for a in self.host.get_addrs()]

    @property
    def listen_port(self) -> int:
        for addr in self.host.get_transport_addrs():
            port = addr.value_for_protocol("tcp")
            if port:
                return int(port)
        raise P2PError("host is not listening on TCP")

    # ---- connections ------------------------------------------------------------
    async def connect(self, addr: str | PeerInfo, attempts: int | None = None) -> str:
        """Dial a peer with bounded retries and exponential backoff; return its id."""
        info = parse_peer_addr(addr) if isinstance(addr, str) else addr
        if info.peer_id == self.host.get_id():
            raise P2PConfigError(f"{info.peer_id} is this node's own peer id")
        dial = self.config.dial
        tries = attempts if attempts is not None else dial.attempts
        delay = dial.backoff_initial_s
        last: Exception | None = None
        for attempt in range(max(tries, 1)):
            if self.scores.is_banned(info.peer_id.to_base58()):
                raise PeerUnreachable(f"peer {info.peer_id} is banned")
            # The swarm refuses for 60 s to dial a peer whose addresses all failed
            # once ("negative cache"): a persistent peer back after a crash would
            # wait a minute. Our own backoff governs redials instead.
            unblock = getattr(self.host.get_network(), "unblock_peer", None)
            if unblock is not None:
                unblock(info.peer_id)
            try:
                with trio.fail_after(dial.connect_timeout_s):
                    await self.host.connect(info)
                break
            except (trio.TooSlowError, Exception) as exc:
                last = exc
                logger.debug("dial %s attempt %d failed: %r", info.peer_id, attempt + 1, exc)
            if attempt + 1 < tries:
                await trio.sleep(delay)
                delay = min(delay * 2, dial.backoff_max_s)
        else:
            raise PeerUnreachable(f"cannot dial {info.peer_id} after {tries} attempts: {last!r}")
        # Wait until our pubsub stream to the peer exists so a publish right
        # after `connect` returns is sent (or queued for its subscription).
        try:
            await self.pubsub.wait_for_peer(info.peer_id, timeout=dial.connect_timeout_s)
        except trio.TooSlowError:
            logger.warning("connected to %s but its pubsub stream is not up", info.peer_id)
        return info.peer_id.to_base58()

    def add_persistent_peer(self, addr: str) -> None:
        """Keep a connection to this peer, redialing whenever it drops."""
        info = parse_peer_addr(addr)
        if info.peer_id in self._persistent:
            return
        self._persistent[info.peer_id] = info
        self._nursery.start_soon(self._keep_connected, info)

    async def _keep_connected(self, info: PeerInfo) -> None:
        dial = self.config.dial
        delay = dial.backoff_initial_s
        while True:
            if self.is_connected(info.peer_id) or self.scores.is_banned(info.peer_id.to_base58()):
                delay = dial.backoff_initial_s
                await trio.sleep(dial.reconnect_check_s)
                continue
            try:
                await self.connect(info, attempts=1)
                logger.info("connected to persistent peer %s", info.peer_id)
                delay = dial.backoff_initial_s
            except P2PError:
                await trio.sleep(delay)
                delay = min(delay * 2, dial.backoff_max_s)

    async def _dial_bootstrap(self, addr: str) -> None:
        try:
            await self.connect(addr)
        except P2PError as exc:
            logger.warning("bootstrap peer %s unreachable: %s", addr, exc)

    def is_connected(self, peer: str | ID) -> bool:
        return bool(self.host.get_network().connections.get(_to_id(peer)))

    async def disconnect(self, peer: str | ID) -> None:
        try:
            await self.host.disconnect(_to_id(peer))
        except Exception as exc:
            logger.debug("disconnect %s: %r", peer, exc)

    def _on_ban(self, peer: ID) -> None:
        self._nursery.start_soon(self.disconnect, peer)

    async def _enforce_bans(self) -> None:
        # A banned peer may dial us again; keep it off until the ban runs out.
        while True:
            await trio.sleep(self.config.dial.reconnect_check_s)
            for peer in list(self.host.get_network().connections):
                if self.scores.is_banned(peer.to_base58()):
                    await self.disconnect(peer)

    async def _refresh_subscriptions(self) -> None:
        # Resend our subscriptions to each new pubsub peer about a second after it
        # appears (when the connection races have settled), and to everyone every
        # `resubscribe_interval_s` (see IvcPubsub.announce_subscriptions).
        tick = 0.5
        # Keyed by the stream object too: a peer that reconnected between two
        # ticks keeps its id but gets a new pubsub stream.
        known: dict[ID, int] = {}
        due: dict[ID, float] = {}
        last_all = trio.current_time()
        while True:
            await trio.sleep(tick)
            now = trio.current_time()
            current = {peer: id(stream) for peer, stream in self.pubsub.peers.items()}
            for peer, stream_id in current.items():
                if known.get(peer) != stream_id:
                    due[peer] = now + 1.0
            known = current
            if now - last_all >= self.config.gossip.resubscribe_interval_s:
                self.pubsub.announce_subscriptions()
                last_all = now
                due.clear()
                continue
            ready = [p for p, t in due.items() if t <= now]
            for peer in ready:
                del due[peer]
            if ready:
                self.pubsub.announce_subscriptions(p for p in ready if p in current)

    # ---- peers and scores -------------------------------------------------------
    def peers(self) -> list[PeerStatus]:
        """Connected peers and every peer with a score record (banned ones included)."""
        connected = set(self.host.get_network().connections)
        recorded = (*self.scores.known_peers(), *self.scores.blocked())
        known = {*connected, *(ID.from_base58(p) for p in recorded)}
        known.discard(self.host.get_id())
        store = self.host.get_peerstore()
        out = []
        for peer in sorted(known, key=lambda p: p.to_base58()):
            try:
                addrs = tuple(str(a) for a in store.addrs(peer))
            except Exception:
                addrs = ()
            key = peer.to_base58()
            out.append(
                PeerStatus(
                    peer_id=key,
                    addresses=addrs,
                    connected=peer in connected,
                    score=round(self.scores.score(key), 3),
                    banned=self.scores.is_banned(key),
                )
            )
        return out

    def gossip_silence(self, peer: str | ID) -> float:
        """Seconds since `peer` last sent us a gossip message (infinity if never): a peer
        that gossips is connected and alive even when its requests time out."""
        return self.gate.gossip_silence(_to_id(peer).to_base58())

    def peer_count(self) -> int:
        return sum(1 for conns in self.host.get_network().connections.values() if conns)

    async def block_peer(self, peer: str | ID) -> None:
        """Cut this peer off until `unblock_peer`: disconnect it, never redial it,
        close its connections to us, ignore its messages and requests. For
        operators and for partition tests."""
        pid = _to_id(peer)
        self.scores.block(pid.to_base58())
        await self.disconnect(pid)

    def unblock_peer(self, peer: str | ID) -> None:
        """Undo `block_peer`; persistent peers are redialed on their next check."""
        self.scores.unblock(_to_id(peer).to_base58())

    def report_peer(self, peer: str | ID, offence: Offence = Offence.INVALID) -> None:
        """The consumer found a message from this peer invalid (bad signature, ...)."""
        self.gate.penalize(_to_id(peer), offence)

    # ---- gossip -----------------------------------------------------------------
    def _check_topic(self, topic: str) -> None:
        if topic not in self.config.topics:
            raise UnknownTopic(f"unknown topic {topic!r}")

    async def publish(self, topic: str, data: bytes) -> None:
        self._check_topic(topic)
        limit = self.config.topics[topic].max_size
        if len(data) > limit:
            raise MessageTooLarge(f"{len(data)} bytes on {topic} (limit {limit})")
        if topic == TOPIC_TRANSACTIONS:
            decode_tx_batch(data)
        await self.pubsub.publish(topic, data)

    async def publish_transactions(self, raw_txs: list[bytes]) -> None:
        await self.publish(TOPIC_TRANSACTIONS, encode_tx_batch(raw_txs))

    def subscribe(
        self, topic: str, handler: GossipHandler | None = None
    ) -> trio.MemoryReceiveChannel[GossipMessage] | None:
        """Deliver (topic, data, from_peer) of every peer's message on `topic`.

        With a handler, the service runs it for each message (exceptions are
        logged, never raised); without one, the caller gets a receive channel.
        """
        self._check_topic(topic)
        send, receive = trio.open_memory_channel[GossipMessage](
            self.config.gossip.subscriber_buffer
        )
        self.gate.add_subscriber(topic, send)
        if handler is None:
            return receive
        self._nursery.start_soon(self._run_handler, topic, receive, handler)
        return None

    async def _run_handler(
        self,
        topic: str,
        receive: trio.MemoryReceiveChannel[GossipMessage],
        handler: GossipHandler,
    ) -> None:
        async with receive:
            async for msg in receive:
                try:
                    await handler(msg)
                except Exception:
                    logger.exception("gossip handler for %s failed", topic)

    async def leave_topics(self, topics: Iterable[str]) -> None:
        """Stop receiving `topics`: tell every peer we unsubscribed (they drop us from the topic,
        so neither their own publishes nor their relays come to us) and prune our mesh. Our
        consumers stay attached; `join_topics` brings the messages back. Publishing to a topic
        we left still works (libp2p's fanout).

        For a node far behind (node/syncer.py): consensus gossip of the network's height is of
        no use to it, and on a loaded machine it filled the connections that carry its block
        sync requests. Only queues writes: never waits on a slow peer."""
        for topic in topics:
            self._check_topic(topic)
            await self.pubsub.unsubscribe(topic)

    async def join_topics(self, topics: Iterable[str]) -> None:
        """Subscribe again to topics left with `leave_topics` (a no-op for joined ones). Peers
        add us back as they read the announcement and replay their recent messages to us; their
        own publishes (flood publish) reach us from then on, relays once the mesh grafts us
        (GossipSub's unsubscribe back-off, 10 s, delays that part)."""
        for topic in topics:
            self._check_topic(topic)
            await self.pubsub.subscribe(topic)

    def joined_topics(self) -> set[str]:
        """The topics we are subscribed to now."""
        return set(self.pubsub.topic_ids)

    def set_topic_validator(self, topic: str, validator: TopicValidator) -> None:
        """A cheap content check run before relaying; failing it scores the sender down."""
        self._check_topic(topic)
        self.gate.set_validator(topic, validator)

    def mesh_peers(self, topic: str) -> list[str]:
        """Peers known to be subscribed to `topic` (for tests and status)."""
        return [p.to_base58() for p in self.pubsub.peer_topics.get(topic, ())]

    async def wait_for_topic_peers(self, topic: str, count: int, timeout: float) -> None:
        with trio.fail_after(timeout):
            while len(self.pubsub.peer_topics.get(topic, ())) < count:
                await trio.sleep(0.01)

    # ---- request/response -------------------------------------------------------
    def register_handler(self, protocol: str, handler: RequestHandler) -> None:
        self._responder.register(protocol, handler)

    async def request(
        self, peer: str | ID, protocol: str, payload: bytes, timeout: float | None = None
    ) -> bytes:
        limits = self.config.reqresp
        return await send_request(
            self.host,
            _to_id(peer),
            protocol,
            payload,
            timeout if timeout is not None else limits.default_timeout_s,
            limits,
        )


def _build_host(config: P2PConfig) -> IHost:
    external = parse_external_address(config.external_address) if config.external_address else None
    key_pair = load_or_create_identity(config.home)
    # Noise only: the default also accepts secio and plaintext connections.
    noise = NoiseTransport(key_pair, noise_privkey=create_new_x25519_key_pair().private_key)
    return new_host(
        key_pair=key_pair,
        sec_opt={NOISE_PROTOCOL_ID: noise},
        listen_addrs=[_listen_addr(config)],
        addrs_factory=addrs_factory(external),
    )


def _listen_addr(config: P2PConfig) -> multiaddr.Multiaddr:
    try:
        return multiaddr.Multiaddr(f"/ip4/{config.listen_host}/tcp/{config.listen_port}")
    except Exception as exc:
        raise P2PConfigError(f"bad listen address: {exc}") from exc


@asynccontextmanager
async def open_p2p_service(config: P2PConfig) -> AsyncIterator[P2PService]:
    """Run a p2p service for the duration of the block.

    An exception raised in the block crosses five nurseries (libp2p's services
    and ours); when it is the only real failure it is re-raised unwrapped, so the
    caller sees its own error instead of a nested exception group.
    """
    try:
        async with _run_service(config) as service:
            yield service
    except BaseExceptionGroup as group:
        leaves = [e for e in _leaves(group) if not isinstance(e, trio.Cancelled)]
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


@asynccontextmanager
async def _run_service(config: P2PConfig) -> AsyncIterator[P2PService]:
    libp2p_patches.apply()
    for addr in (*config.bootstrap_peers, *config.persistent_peers):
        parse_peer_addr(addr)  # fail on a bad address before anything starts
    host = _build_host(config)
    scores = PeerScores(config.scores)
    gcfg = config.gossip
    router = IvcGossipSub(
        [PROTOCOL_ID_V11, PROTOCOL_ID],
        degree=gcfg.degree,
        degree_low=gcfg.degree_low,
        degree_high=gcfg.degree_high,
        direct_peers=[PeerInfo(_to_id(p), []) for p in gcfg.direct_peers],
        heartbeat_interval=gcfg.heartbeat_interval_s,
        spam_protection_enabled=False,
        adaptive_gossip_enabled=False,
        # All devnet peers share 127.0.0.1; IP-diversity grafting only churns the mesh.
        eclipse_protection_enabled=False,
        max_pending_messages_per_peer=gcfg.pending_messages_max,
        pending_messages_ttl=gcfg.pending_messages_ttl_s,
    )
    router.flood_publish = gcfg.flood_publish
    gate = GossipGate(host.get_id(), config.topics, scores, tx_rate=gcfg.tx_rate)
    pubsub = IvcPubsub(host, router, gate=gate, max_inbound_rpc_size=gcfg.max_rpc_size)
    responder = RequestResponder(host, config.reqresp, gate.penalize, gate.is_banned)

    async with (
        host.run([_listen_addr(config)]),
        background_trio_service(pubsub),
        background_trio_service(router),
    ):
        await pubsub.wait_until_ready()
        await _stop_auto_connector(host)
        async with trio.open_nursery() as nursery:
            service = P2PService(config, host, pubsub, gate, scores, responder, nursery)
            gate.on_ban = service._on_ban
            # Join every topic now, so meshes form before consumers attach.
            for topic in config.topics:
                await pubsub.subscribe(topic)
            nursery.start_soon(service._enforce_bans)
            nursery.start_soon(service._refresh_subscriptions)
            for addr in config.bootstrap_peers:
                nursery.start_soon(service._dial_bootstrap, addr)
            for addr in config.persistent_peers:
                service.add_persistent_peer(addr)
            try:
                yield service
            finally:
                nursery.cancel_scope.cancel()
        pubsub.closing = True
        with trio.CancelScope(deadline=trio.current_time() + 3, shield=True):
            await _close_network(host)


async def _close_network(host: IHost) -> None:
    """Close connections and listening sockets before the libp2p services stop.

    libp2p's own cleanup runs inside the already-cancelled stop path, so its
    awaits are cancelled at once: the listening socket stayed open (SO_REUSEPORT
    let a restarted node bind the same port and the kernel then handed half the
    new connections to the dead listener). Closing connections while pubsub
    still runs also keeps late RPCs from failing inside libp2p's tasks.
    """
    network = host.get_network()
    for peer in list(network.connections):
        with contextlib.suppress(Exception):
            await host.disconnect(peer)
    for listener in list(network.listeners.values()):
        with contextlib.suppress(Exception):
            await listener.close()


async def _stop_auto_connector(host: IHost) -> None:
    """Turn off libp2p's AutoConnector.

    It redials every peer in the peerstore (banned ones too, and the other side
    of a partition) to reach 100 connections, polling often while under 50.
    ivcnet dials only configured and persistent peers. `Swarm.run` starts it in
    a task of its own, so wait until it has started before stopping it.
    """
    connector = getattr(host.get_network(), "auto_connector", None)
    if connector is None:
        return
    with trio.move_on_after(2):
        while not getattr(connector, "_started", True):
            await trio.sleep(0.005)
    await connector.stop()


__all__ = ["GossipHandler", "P2PService", "PeerStatus", "open_p2p_service"]
