"""ivcnet p2p: libp2p host, gossip topics with limits and peer scoring, request/response."""

from p2p.config import DialConfig, GossipConfig, P2PConfig, parse_peer_addr, parse_peer_list
from p2p.errors import (
    FrameTooLarge,
    MessageTooLarge,
    P2PConfigError,
    P2PError,
    PeerUnreachable,
    ProtocolViolation,
    RemoteBusy,
    RemoteError,
    RequestError,
    RequestTimeout,
    UnknownProtocol,
    UnknownTopic,
)
from p2p.gossip import GossipMessage, NotRelayed
from p2p.identity import identity_path, load_or_create_identity
from p2p.logs import quiet_libp2p_logs
from p2p.reqresp import ReqRespLimits, RequestHandler
from p2p.scoring import Offence, PeerScores, ScoreConfig
from p2p.service import GossipHandler, P2PService, PeerStatus, open_p2p_service
from p2p.topics import (
    ALL_TOPICS,
    DEFAULT_TOPICS,
    PROTOCOL_BLOCKS,
    PROTOCOL_PROOF,
    TOPIC_EVIDENCE,
    TOPIC_PROOF_ANNOUNCEMENTS,
    TOPIC_PROPOSALS,
    TOPIC_TRANSACTIONS,
    TOPIC_VOTES,
    TopicSpec,
)
from p2p.txbatch import MalformedBatch, decode_tx_batch, encode_tx_batch

__all__ = [
    "ALL_TOPICS",
    "DEFAULT_TOPICS",
    "PROTOCOL_BLOCKS",
    "PROTOCOL_PROOF",
    "TOPIC_EVIDENCE",
    "TOPIC_PROOF_ANNOUNCEMENTS",
    "TOPIC_PROPOSALS",
    "TOPIC_TRANSACTIONS",
    "TOPIC_VOTES",
    "DialConfig",
    "FrameTooLarge",
    "GossipConfig",
    "GossipHandler",
    "GossipMessage",
    "MalformedBatch",
    "MessageTooLarge",
    "NotRelayed",
    "Offence",
    "P2PConfig",
    "P2PConfigError",
    "P2PError",
    "P2PService",
    "PeerScores",
    "PeerStatus",
    "PeerUnreachable",
    "ProtocolViolation",
    "RemoteBusy",
    "RemoteError",
    "ReqRespLimits",
    "RequestError",
    "RequestHandler",
    "RequestTimeout",
    "ScoreConfig",
    "TopicSpec",
    "UnknownProtocol",
    "UnknownTopic",
    "decode_tx_batch",
    "encode_tx_batch",
    "identity_path",
    "load_or_create_identity",
    "open_p2p_service",
    "parse_peer_addr",
    "parse_peer_list",
    "quiet_libp2p_logs",
]
