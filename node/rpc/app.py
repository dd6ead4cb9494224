"""The ASGI application: HTTP rules around the JSON-RPC dispatcher.

- POST carries JSON-RPC. GET (and any other method) gets 405 with a line saying how to call.
- OPTIONS answers CORS preflight requests so browser wallets and dapps can call the node.
- Content-Type: application/json (geth also accepts application/json-rpc and
  application/jsonrequest); any other type, or none, gets 415. That keeps HTML forms from
  posting to the node, and a browser page from sending a POST without a CORS preflight (a
  fetch with an ArrayBuffer body sends no Content-Type and needs no preflight). Real clients
  (web3.py, ethers, httpx json=, curl -H) all send application/json; curl --data without -H
  sends a form type, which was refused already.
- A request from a browser (it carries Origin or Sec-Fetch-Site) is served by
  `browser_dispatcher`, whose table refuses the operator methods (`is_admin_method`): CORS "*" would otherwise let
  any web page the operator opens call ivc_adminBlockPeer.
- Bodies above `max_body_bytes` get 413 with a JSON-RPC error body, decided from Content-Length
  when present and otherwise while reading, so a huge body is never held in memory.
- A notification-only request gets 204 No Content.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from node.rpc.context import Handler, MethodTable, RpcContext
from node.rpc.dispatch import Dispatcher
from node.rpc.errors import INVALID_REQUEST, MethodNotFound
from node.rpc.params import Params

logger = logging.getLogger("node.rpc")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

ACCEPTED_CONTENT_TYPES = frozenset(
    {"application/json", "application/json-rpc", "application/jsonrequest"}
)
USAGE = (
    "ivcnet JSON-RPC 2.0 endpoint: send HTTP POST with Content-Type: application/json, e.g.\n"
    "curl -X POST -H 'Content-Type: application/json' "
    '--data \'{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}\' <this URL>\n'
)


# Operator methods are named with one of these prefixes; they are never served to a browser.
ADMIN_METHOD_PREFIXES = ("ivc_admin", "admin_")


def is_admin_method(name: str) -> bool:
    return name.startswith(ADMIN_METHOD_PREFIXES)


def _refused_in_browser(name: str) -> Handler:
    async def refuse(ctx: RpcContext, params: Params) -> None:
        raise MethodNotFound(f"the method {name} is not allowed from a browser origin")

    return refuse


def browser_method_table(methods: MethodTable) -> dict[str, Handler]:
    """`methods` with every operator method replaced by one that refuses."""
    return {
        name: _refused_in_browser(name) if is_admin_method(name) else handler
        for name, handler in methods.items()
    }


class _BodyTooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class RpcApp:
    """ASGI 3 application serving JSON-RPC 2.0 from a `Dispatcher`."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        max_body_bytes: int,
        cors_origins: Iterable[str] = ("*",),
    ) -> None:
        self.dispatcher = dispatcher
        self.browser_dispatcher = Dispatcher(
            dispatcher.ctx,
            browser_method_table(dispatcher.methods),
            dispatcher.max_batch,
            dispatcher.max_batch_response_bytes,
        )
        self.max_body_bytes = max_body_bytes
        self.cors_origins = frozenset(cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # Websocket connections are refused by not accepting them: hypercorn answers 403.

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _header_map(scope["headers"])
        cors = self._cors_headers(headers.get(b"origin"))
        method = scope["method"]
        if method == "OPTIONS":
            await self._preflight(headers, cors, send)
            return
        if method != "POST":
            await _respond(
                send,
                405,
                USAGE.encode(),
                b"text/plain; charset=utf-8",
                [*cors, (b"allow", b"POST, OPTIONS")],
            )
            return
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type.decode("latin-1") not in ACCEPTED_CONTENT_TYPES:
            shown = content_type.decode("latin-1")[:100]
            message = (
                f"unsupported content type {shown!r}; use application/json\n"
                if shown
                else "missing Content-Type; use application/json\n"
            )
            await _respond(send, 415, message.encode(), b"text/plain; charset=utf-8", cors)
            return
        try:
            body = await self._read_body(headers, receive)
        except _BodyTooLarge:
            await _respond(send, 413, self._too_large_body(), b"application/json", cors)
            return
        except _Disconnected:
            return
        from_browser = b"origin" in headers or b"sec-fetch-site" in headers
        dispatcher = self.browser_dispatcher if from_browser else self.dispatcher
        response = await dispatcher.handle(body)
        if response is None:
            await _respond(send, 204, b"", None, cors)
        else:
            await _respond(send, 200, response, b"application/json", cors)

    async def _read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise _BodyTooLarge
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large_body(self) -> bytes:
        error = {
            "code": INVALID_REQUEST,
            "message": f"request body too large: at most {self.max_body_bytes} bytes",
        }
        return json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()

    def _cors_headers(self, origin: bytes | None) -> Headers:
        if "*" in self.cors_origins:
            return [(b"access-control-allow-origin", b"*")]
        if origin is not None and origin.decode("latin-1") in self.cors_origins:
            return [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        return [(b"vary", b"Origin")]

    async def _preflight(self, headers: dict[bytes, bytes], cors: Headers, send: Send) -> None:
        requested = headers.get(b"access-control-request-headers", b"content-type")
        extra = [
            (b"access-control-allow-methods", b"POST, OPTIONS"),
            (b"access-control-allow-headers", requested[:1024]),
            (b"access-control-max-age", b"600"),
        ]
        await _respond(send, 204, b"", None, [*cors, *extra])


def _header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    # ASGI servers give lowercase names; the last value of a repeated header wins.
    return {name.lower(): value for name, value in raw}


async def _respond(
    send: Send, status: int, body: bytes, content_type: bytes | None, extra: Headers
) -> None:
    # A 204 carries no body and, per RFC 9110, no Content-Length either.
    headers: Headers = [] if status == 204 else [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))
    headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
