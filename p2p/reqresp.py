"""Request/response over one libp2p stream per request.

Byte layout on the stream (frames as in `p2p.framing`):
- the client writes one frame: the request payload;
- the server writes one frame: a status byte, then the body.
  status 0: body is the handler's response;
  status 1: the handler failed, body is a short UTF-8 reason;
  status 2: the request was refused (too large, malformed), body is a reason;
  status 3: the peer already runs its limit of our requests; retry later.
Then both sides close the stream.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.network.stream.exceptions import StreamError
from libp2p.peer.id import ID
from libp2p.protocol_muxer.exceptions import MultiselectClientError

from p2p.errors import (
    FrameTooLarge,
    P2PError,
    PeerUnreachable,
    ProtocolViolation,
    RemoteBusy,
    RemoteError,
    RequestTimeout,
    StreamEndedEarly,
    UnknownProtocol,
)
from p2p.framing import read_frame, write_frame
from p2p.scoring import Offence

logger = logging.getLogger(__name__)

STATUS_OK = 0
STATUS_HANDLER_ERROR = 1
STATUS_REFUSED = 2
STATUS_BUSY = 3
MAX_REASON = 256

# (requesting peer id, request bytes) -> response bytes. Raise to answer with an error.
RequestHandler = Callable[[str, bytes], Awaitable[bytes]]


@dataclass(frozen=True)
class ReqRespLimits:
    max_frame: int = 16 * 1024 * 1024
    default_timeout_s: float = 10.0
    # How long the server waits for a request and spends on a handler.
    server_timeout_s: float = 30.0
    # Requests one peer may have in progress on this node at once.
    max_concurrent_per_peer: int = 16


def _reason(exc: BaseException) -> bytes:
    text = f"{type(exc).__name__}: {exc}"
    return text.encode("utf-8", "replace")[:MAX_REASON]


class RequestResponder:
    """Server side: one handler per protocol id, run for each inbound stream."""

    def __init__(
        self,
        host: IHost,
        limits: ReqRespLimits,
        penalize: Callable[[ID, Offence], None],
        is_banned: Callable[[ID], bool],
    ) -> None:
        self._host = host
        self._limits = limits
        self._penalize = penalize
        self._is_banned = is_banned
        self._handlers: dict[str, RequestHandler] = {}
        self._in_progress: dict[ID, int] = {}

    @property
    def protocols(self) -> list[str]:
        return list(self._handlers)

    def register(self, protocol: str, handler: RequestHandler) -> None:
        if not protocol.startswith("/"):
            raise P2PError(f"protocol id must start with '/': {protocol!r}")
        self._handlers[protocol] = handler

        async def on_stream(stream: INetStream) -> None:
            await self._serve(protocol, stream)

        self._host.set_stream_handler(TProtocol(protocol), on_stream)

    async def _serve(self, protocol: str, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        limits = self._limits
        try:
            if self._is_banned(peer):
                await stream.reset()
                return
            # Rule: bounded work per peer, so one peer cannot tie up the node.
            if self._in_progress.get(peer, 0) >= limits.max_concurrent_per_peer:
                with trio.fail_after(limits.server_timeout_s):
                    await write_frame(stream, bytes([STATUS_BUSY]), limits.max_frame + 1)
                    await stream.close()
                return
            self._in_progress[peer] = self._in_progress.get(peer, 0) + 1
            try:
                await self._answer(protocol, stream, peer)
            finally:
                left = self._in_progress.pop(peer, 1) - 1
                if left > 0:
                    self._in_progress[peer] = left
        except trio.TooSlowError:
            logger.debug("request on %s from %s timed out", protocol, peer)
            await _quiet_reset(stream)
        except (StreamError, OSError, P2PError, Exception) as exc:
            # The peer went away or broke the stream: nothing to answer.
            logger.debug("request stream on %s from %s failed: %r", protocol, peer, exc)
            await _quiet_reset(stream)

    async def _answer(self, protocol: str, stream: INetStream, peer: ID) -> None:
        limits = self._limits
        with trio.fail_after(limits.server_timeout_s):
            try:
                request = await read_frame(stream, limits.max_frame)
            except StreamEndedEarly:
                # The client gave up (its own timeout, e.g. on a loaded machine) or went away:
                # scoring that as an offence banned honest peers under load.
                await _quiet_reset(stream)
                return
            except (FrameTooLarge, ProtocolViolation) as exc:
                self._penalize(peer, Offence.PROTOCOL)
                await write_frame(
                    stream, bytes([STATUS_REFUSED]) + _reason(exc), limits.max_frame + 1
                )
                await stream.close()
                return
            handler = self._handlers[protocol]
            try:
                body = await handler(peer.to_base58(), request)
                if not isinstance(body, bytes | bytearray):
                    raise TypeError("handler returned a non-bytes value")
                if len(body) > limits.max_frame:
                    raise FrameTooLarge(f"response of {len(body)} bytes")
                reply = bytes([STATUS_OK]) + bytes(body)
            except Exception as exc:
                logger.info("handler for %s failed for %s: %r", protocol, peer, exc)
                reply = bytes([STATUS_HANDLER_ERROR]) + _reason(exc)
            await write_frame(stream, reply, limits.max_frame + 1)
            await stream.close()


RESET_TIMEOUT_S = 2.0


async def _quiet_reset(stream: INetStream) -> None:
    # Shielded so that a cancelled request still releases its stream, but bounded: on a stuck
    # connection the reset itself can block, and an unbounded shielded await hangs the caller
    # (the block syncer) for good.
    deadline = trio.current_time() + RESET_TIMEOUT_S
    with trio.CancelScope(deadline=deadline, shield=True), contextlib.suppress(Exception):
        await stream.reset()


async def send_request(
    host: IHost,
    peer: ID,
    protocol: str,
    payload: bytes,
    timeout: float,
    limits: ReqRespLimits,
) -> bytes:
    """Client side: open a stream, send one request, read one response."""
    if len(payload) > limits.max_frame:
        raise FrameTooLarge(f"request of {len(payload)} bytes exceeds {limits.max_frame}")
    stream: INetStream | None = None
    with trio.move_on_after(timeout):
        try:
            stream = await host.new_stream(peer, [TProtocol(protocol)])
        except StreamFailure as exc:
            if isinstance(exc.__cause__, MultiselectClientError) and "not supported" in str(
                exc.__cause__
            ):
                raise UnknownProtocol(f"peer {peer} does not serve {protocol}") from exc
            raise PeerUnreachable(f"cannot open a stream to {peer}: {exc}") from exc
        except Exception as exc:
            raise PeerUnreachable(f"cannot reach {peer}: {exc}") from exc
        try:
            await write_frame(stream, payload, limits.max_frame)
            reply = await read_frame(stream, limits.max_frame + 1)
        except (FrameTooLarge, ProtocolViolation):
            await _quiet_reset(stream)
            raise
        except Exception as exc:
            await _quiet_reset(stream)
            raise PeerUnreachable(f"stream to {peer} broke: {exc!r}") from exc
        with contextlib.suppress(Exception):
            await stream.close()
        if not reply:
            raise ProtocolViolation("empty response frame")
        status, body = reply[0], reply[1:]
        if status == STATUS_OK:
            return body
        reason = body.decode("utf-8", "replace")
        if status == STATUS_HANDLER_ERROR:
            raise RemoteError(reason)
        if status == STATUS_REFUSED:
            raise RemoteError(f"refused: {reason}")
        if status == STATUS_BUSY:
            raise RemoteBusy(f"peer {peer} is busy with our other requests on {protocol}")
        raise ProtocolViolation(f"unknown response status {status}")
    if stream is not None:
        await _quiet_reset(stream)
    raise RequestTimeout(f"no answer from {peer} on {protocol} within {timeout} s")
