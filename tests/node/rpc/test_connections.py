"""HTTP connection handling of the server, with hypercorn's handler and with the lean one
(node/rpc/hypercorn_tcp.py): keep-alive timeout, slow requests, 100-continue, pipelining,
shutdown with idle connections. Both must behave the same; the lean one writes each response
with one send."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from node.rpc import Params, RpcConfig, RpcContext, open_rpc_server

pytestmark = pytest.mark.parametrize("lean", [True, False], ids=["lean", "hypercorn"])


async def ivc_sleep(ctx: RpcContext, params: Params) -> Any:
    await trio.sleep(float(params.required(0, "seconds", float)))
    return "slept"


def _request(method: str, params: list[Any], request_id: int = 1, extra: bytes = b"") -> bytes:
    body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
    return (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n" % len(body)
        + body.encode()
    )


async def _read_responses(stream: trio.SocketStream, count: int) -> list[dict[str, Any]]:
    """Read `count` responses (Content-Length bodies) and return their JSON bodies."""
    buffer = b""
    out: list[dict[str, Any]] = []
    while len(out) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = await stream.receive_some(65536)
            assert chunk, f"connection closed after {len(out)} responses"
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            chunk = await stream.receive_some(65536)
            assert chunk
            rest += chunk
        out.append(json.loads(rest[:length]))
        buffer = rest[length:]
    return out


async def test_idle_connection_closed_after_keep_alive_timeout(rpc: Any, lean: bool) -> None:
    config = RpcConfig(port=0, keep_alive_timeout=0.5, lean_connections=lean)
    async with open_rpc_server(config, rpc.chain) as endpoint:
        stream = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
        with trio.fail_after(10):
            for i in range(3):  # requests within the timeout keep the connection
                await stream.send_all(_request("eth_chainId", [], i))
                assert (await _read_responses(stream, 1))[0]["result"] == "0x539"
                await trio.sleep(0.2)
            start = trio.current_time()
            try:
                data = await stream.receive_some(1000)
            except trio.BrokenResourceError:
                data = b""
            assert data == b""
            assert trio.current_time() - start >= 0.2
        await stream.aclose()


async def test_request_longer_than_keep_alive_timeout_is_answered(rpc: Any, lean: bool) -> None:
    config = RpcConfig(
        port=0,
        keep_alive_timeout=0.2,
        lean_connections=lean,
        extra_methods={"ivc_sleep": ivc_sleep},
    )
    async with open_rpc_server(config, rpc.chain) as endpoint:
        stream = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
        with trio.fail_after(10):
            await stream.send_all(_request("ivc_sleep", [0.8]))
            assert (await _read_responses(stream, 1))[0]["result"] == "slept"
            # And the connection is still usable right after.
            await stream.send_all(_request("eth_chainId", []))
            assert (await _read_responses(stream, 1))[0]["result"] == "0x539"
        await stream.aclose()


async def test_expect_100_continue(rpc: Any, lean: bool) -> None:
    config = RpcConfig(port=0, lean_connections=lean)
    async with open_rpc_server(config, rpc.chain) as endpoint:
        stream = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
        request = _request("eth_chainId", [], extra=b"Expect: 100-continue\r\n")
        head, _, body = request.partition(b"\r\n\r\n")
        with trio.fail_after(10):
            await stream.send_all(head + b"\r\n\r\n")
            interim = await stream.receive_some(1000)
            assert interim.startswith(b"HTTP/1.1 100")
            await stream.send_all(body)
            assert (await _read_responses(stream, 1))[0]["result"] == "0x539"
        await stream.aclose()


async def test_pipelined_requests_answered_in_order(rpc: Any, lean: bool) -> None:
    config = RpcConfig(port=0, lean_connections=lean)
    async with open_rpc_server(config, rpc.chain) as endpoint:
        stream = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
        with trio.fail_after(10):
            await stream.send_all(b"".join(_request("eth_chainId", [], i) for i in range(8)))
            answers = await _read_responses(stream, 8)
        assert [a["id"] for a in answers] == list(range(8))
        await stream.aclose()


async def test_server_stops_with_idle_connections_open(rpc: Any, lean: bool) -> None:
    config = RpcConfig(port=0, lean_connections=lean)
    with trio.fail_after(10):
        async with open_rpc_server(config, rpc.chain) as endpoint:
            streams = [await trio.open_tcp_stream("127.0.0.1", endpoint.port) for _ in range(3)]
            for stream in streams:
                await stream.send_all(_request("eth_chainId", []))
                await _read_responses(stream, 1)
    for stream in streams:
        await stream.aclose()


async def test_response_head_and_body_in_one_send(
    rpc: Any, lean: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Counts the server's writes (the client here writes requests, which start with POST).
    writes: list[bytes] = []
    original = trio.SocketStream.send_all

    async def counting(self: trio.SocketStream, data: Any) -> None:
        if bytes(data[:4]) != b"POST":
            writes.append(bytes(data))
        await original(self, data)

    monkeypatch.setattr(trio.SocketStream, "send_all", counting)
    config = RpcConfig(port=0, lean_connections=lean)
    async with open_rpc_server(config, rpc.chain) as endpoint:
        stream = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
        with trio.fail_after(10):
            for i in range(3):
                await stream.send_all(_request("eth_chainId", [], i))
                await _read_responses(stream, 1)
        await stream.aclose()
    server_writes = [w for w in writes if w]
    if lean:
        assert len(server_writes) == 3
        assert all(w.startswith(b"HTTP/1.1 200") and b'"result"' in w for w in server_writes)
    else:
        assert len(server_writes) == 6  # the head, then the body
