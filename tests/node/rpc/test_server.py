"""Server assembly: extension hooks, CORS configuration, concurrency, start and stop."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from node.rpc import (
    InvalidParams,
    Params,
    RpcConfig,
    RpcContext,
    ServerError,
    build_app,
    open_rpc_server,
    serve_rpc,
)
from node.rpc.hexcodec import parse_quantity


async def ivc_echo_height(ctx: RpcContext, params: Params) -> Any:
    params.at_most(1)
    height = params.required(0, "height", parse_quantity)
    head = await ctx.view.head_height()
    if height > head:
        raise ServerError(f"block {height} not found")
    if height == 0:
        raise InvalidParams("invalid argument 0 (height): genesis has no tasks")
    return {"height": hex(height), "head": hex(head)}


async def test_extra_methods_plug_in(rpc: Any, nursery: trio.Nursery) -> None:
    config = RpcConfig(port=0, extra_methods={"ivc_echoHeight": ivc_echo_height})
    endpoint = await nursery.start(serve_rpc, config, rpc.chain)
    rpc.chain.commit_block()

    async def call(*params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ivc_echoHeight", "params": list(params)}
        return (await rpc.http.post(endpoint.url, json=body)).json()

    assert (await call("0x1"))["result"] == {"height": "0x1", "head": "0x1"}
    assert (await call("0x5"))["error"]["code"] == -32000
    assert (await call("0x0"))["error"]["code"] == -32602
    assert "argument 0 (height)" in (await call("0x01"))["error"]["message"]


def test_builtin_tags_cannot_be_redefined() -> None:
    async def resolver(view: Any) -> int:
        return 0

    with pytest.raises(ValueError, match="built in"):
        build_app(RpcConfig(extra_block_tags={"latest": resolver}), None)  # type: ignore[arg-type]


async def test_null_trailing_params_mean_defaults(rpc: Any) -> None:
    funded = "0x1a642f0e3c3af545e7acbd38b07251b3990914f1"
    assert await rpc.call("eth_getBalance", funded, None) == hex(10**21)
    assert (await rpc.call("eth_getBlockByNumber", "latest", None))["number"] == "0x0"


async def test_cors_listed_origins(rpc: Any) -> None:
    config = RpcConfig(port=0, cors_origins=("http://localhost:3000",))
    async with open_rpc_server(config, rpc.chain) as endpoint:
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
        allowed = await rpc.http.post(
            endpoint.url, json=body, headers={"origin": "http://localhost:3000"}
        )
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert allowed.headers["vary"] == "Origin"
        other = await rpc.http.post(
            endpoint.url, json=body, headers={"origin": "http://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
        assert other.json()["result"] == "0x539"  # CORS is the browser's check, not an auth


async def test_concurrent_clients(rpc: Any) -> None:
    results: list[str] = []

    async def client(index: int) -> None:
        async with httpx.AsyncClient(timeout=20) as http:
            for i in range(5):
                body = {"jsonrpc": "2.0", "id": index * 100 + i, "method": "eth_blockNumber"}
                answer = (await http.post(rpc.url, json=body)).json()
                assert answer["id"] == index * 100 + i
                results.append(answer["result"])

    async with trio.open_nursery() as nursery:
        for index in range(20):
            nursery.start_soon(client, index)
    assert results == ["0x0"] * 100


async def test_open_rpc_server_stops_on_exit(rpc: Any) -> None:
    async with open_rpc_server(RpcConfig(port=0), rpc.chain) as endpoint:
        assert endpoint.url == f"http://127.0.0.1:{endpoint.port}"
        body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}
        assert (await rpc.http.post(endpoint.url, json=body)).status_code == 200
    async with httpx.AsyncClient() as fresh:
        with pytest.raises(httpx.ConnectError):
            await fresh.post(endpoint.url, json=body)


async def test_port_in_use_is_one_clear_error(rpc: Any, nursery: trio.Nursery) -> None:
    from node.rpc import RpcBindError

    with pytest.raises(RpcBindError, match=f"cannot listen on 127.0.0.1:{rpc.endpoint.port}"):
        await nursery.start(serve_rpc, RpcConfig(port=rpc.endpoint.port), rpc.chain)
    await rpc.assert_up()


async def test_batch_response_size_cap(rpc: Any, nursery: trio.Nursery) -> None:
    config = RpcConfig(port=0, max_batch_response_bytes=3000)
    endpoint = await nursery.start(serve_rpc, config, rpc.chain)
    batch: list[dict[str, Any]] = [
        {"jsonrpc": "2.0", "id": i, "method": "eth_getBlockByNumber", "params": ["0x0", False]}
        for i in range(6)
    ]
    batch.append({"jsonrpc": "2.0", "method": "eth_chainId"})  # a notification stays silent
    answers = (await rpc.http.post(endpoint.url, json=batch)).json()
    assert [a["id"] for a in answers] == list(range(6))
    ran = [a for a in answers if "result" in a]
    refused = [a for a in answers if "error" in a]
    assert 1 <= len(ran) < 6
    assert answers[: len(ran)] == ran  # the first ones run, the rest are refused
    assert all(a["error"] == {"code": -32003, "message": "response too large"} for a in refused)
    await rpc.assert_up()
