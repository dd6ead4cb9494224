"""Errors of the p2p package: one root, one subclass per way a caller can be let down."""

from __future__ import annotations


class P2PError(Exception):
    """Root of every expected p2p failure."""


class P2PConfigError(P2PError):
    """The configuration (addresses, identity file, limits) cannot be used."""


class MessageTooLarge(P2PError):
    """A gossip message or a request/response frame exceeds its limit."""


class UnknownTopic(P2PError):
    """A topic that is not one of the node's gossip topics."""


class RequestError(P2PError):
    """Root of request/response failures seen by the requesting side."""


class PeerUnreachable(RequestError):
    """No connection and no stream could be opened to the peer."""


class UnknownProtocol(RequestError):
    """The peer does not serve the requested protocol."""


class RequestTimeout(RequestError):
    """The peer did not answer within the timeout."""


class FrameTooLarge(RequestError, MessageTooLarge):
    """A frame announced a length above the protocol's maximum."""


class ProtocolViolation(RequestError):
    """The peer sent bytes that do not follow the framing (truncated, bad status)."""


class StreamEndedEarly(ProtocolViolation):
    """The stream closed before a whole frame arrived: the peer gave up (a client timing out
    under load does exactly this) or went away. Not an offence on its own."""


class RemoteError(RequestError):
    """The peer's handler failed; the message is the peer's short description."""


class RemoteBusy(RemoteError):
    """The peer already runs its limit of our requests; retry later or ask another peer."""
