"""Configuration of the p2p service."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import multiaddr
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr

from p2p.errors import P2PConfigError
from p2p.ratebound import RateBound
from p2p.reqresp import ReqRespLimits
from p2p.scoring import ScoreConfig
from p2p.topics import DEFAULT_TOPICS, TopicSpec


@dataclass(frozen=True)
class GossipConfig:
    degree: int = 6
    degree_low: int = 4
    degree_high: int = 12
    heartbeat_interval_s: int = 1
    # Own publishes go to every subscribed peer, not only the mesh (see gossip.py).
    flood_publish: bool = True
    # Inbound pubsub RPC limit (constructor argument); the outbound one is in
    # libp2p_patches.MAX_RPC_SIZE.
    max_rpc_size: int = 8 * 1024 * 1024
    # Buffer of each subscriber channel handed to consumers.
    subscriber_buffer: int = 4096
    # Every connected peer is re-sent our subscriptions this often (see gossip.py).
    resubscribe_interval_s: float = 10.0
    # Peer ids (base58) treated as GossipSub direct peers (always forwarded to).
    direct_peers: tuple[str, ...] = ()
    # libp2p queues every message for each connected peer not subscribed to its topic (meant for
    # the moment between connecting and hearing a peer's subscriptions) and sends the queue when
    # the subscription arrives. Its defaults (100 messages, 30 s) made a node that left the
    # gossip topics to block-sync (node/syncer.py) receive 30 s of stale proposals on rejoining
    # (MBs each with Universal Proofs) and logged a warning per message meanwhile. A few
    # seconds cover the connect race; the recent-message replay on subscription does the rest.
    pending_messages_max: int = 256
    pending_messages_ttl_s: float = 3.0
    # Per-peer bound on transaction gossip, checked before decoding (p2p/ratebound.py).
    tx_rate: RateBound = field(default_factory=RateBound)


@dataclass(frozen=True)
class DialConfig:
    attempts: int = 5
    backoff_initial_s: float = 0.2
    backoff_max_s: float = 5.0
    connect_timeout_s: float = 5.0
    # How often persistent peers are checked and, if dropped, redialed.
    reconnect_check_s: float = 0.5


@dataclass(frozen=True)
class P2PConfig:
    home: Path
    listen_host: str = "127.0.0.1"
    listen_port: int = 0
    # Announced instead of the listen address (p2p/announce.py): HOST, HOST:PORT or a multiaddr.
    external_address: str = ""
    # Multiaddrs with a /p2p/<peer id> suffix, dialed once at start (with retries).
    bootstrap_peers: tuple[str, ...] = ()
    # Same form; dialed at start and redialed whenever they drop.
    persistent_peers: tuple[str, ...] = ()
    topics: dict[str, TopicSpec] = field(default_factory=lambda: dict(DEFAULT_TOPICS))
    gossip: GossipConfig = field(default_factory=GossipConfig)
    dial: DialConfig = field(default_factory=DialConfig)
    scores: ScoreConfig = field(default_factory=ScoreConfig)
    reqresp: ReqRespLimits = field(default_factory=ReqRespLimits)


def parse_peer_addr(addr: str) -> PeerInfo:
    """`/ip4/1.2.3.4/tcp/26656/p2p/12D3Koo...` -> PeerInfo, or a clear config error."""
    try:
        return info_from_p2p_addr(multiaddr.Multiaddr(addr))
    except Exception as exc:
        raise P2PConfigError(
            f"bad peer address {addr!r} (expected /ip4/HOST/tcp/PORT/p2p/PEER_ID): {exc}"
        ) from exc


def parse_peer_list(text: str) -> tuple[str, ...]:
    """A comma- or whitespace-separated list of peer multiaddrs (command line, config file)."""
    addrs = tuple(part for part in text.replace(",", " ").split() if part)
    for addr in addrs:
        parse_peer_addr(addr)
    return addrs
