"""JSON-RPC 2.0 and HTTP behaviour of the real server: batches, notifications, errors, limits.

Every test ends by checking that the server still answers (`rpc.assert_up()`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from node.rpc import RpcConfig, serve_rpc

ADDRESS = "0x" + "01" * 20


def req(method: str, params: Any = None, id_: Any = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        body["params"] = params
    return body


def note(method: str, params: Any = None) -> dict[str, Any]:
    body = req(method, params)
    del body["id"]
    return body


async def post_bytes(
    rpc: Any, body: bytes, content_type: str = "application/json"
) -> httpx.Response:
    response: httpx.Response = await rpc.http.post(
        rpc.url, content=body, headers={"content-type": content_type}
    )
    return response


async def test_single_request_shape(rpc: Any) -> None:
    response = await rpc.post(req("eth_chainId", [], id_="abc"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"jsonrpc": "2.0", "id": "abc", "result": "0x539"}


@pytest.mark.parametrize("id_", [0, -7, 1.5, "x" * 100, None])
async def test_ids_echoed_verbatim(rpc: Any, id_: Any) -> None:
    response = await rpc.post(req("eth_blockNumber", [], id_=id_))
    assert response.json() == {"jsonrpc": "2.0", "id": id_, "result": "0x0"}


async def test_params_may_be_omitted(rpc: Any) -> None:
    response = await rpc.post({"jsonrpc": "2.0", "id": 3, "method": "net_version"})
    assert response.json()["result"] == "1337"


async def test_mixed_batch(rpc: Any) -> None:
    batch = [
        req("eth_chainId", [], 1),
        note("eth_blockNumber", []),
        req("eth_nope", [], 2),
        req("eth_getBalance", ["0x12", "latest"], 3),
        {"foo": "bar"},
        1,
        req("net_version", [], 4),
    ]
    response = await rpc.post(batch)
    assert response.status_code == 200
    answers = response.json()
    assert isinstance(answers, list)
    # The notification gets nothing; everything else one answer each, in order.
    assert [a["id"] for a in answers] == [1, 2, 3, None, None, 4]
    assert answers[0]["result"] == "0x539"
    assert answers[1]["error"]["code"] == -32601
    assert answers[2]["error"]["code"] == -32602
    assert answers[3]["error"]["code"] == -32600
    assert answers[4]["error"]["code"] == -32600
    assert answers[5]["result"] == "1337"
    await rpc.assert_up()


async def test_notification_gets_no_response(rpc: Any) -> None:
    response = await rpc.post(note("eth_chainId", []))
    assert response.status_code == 204
    assert response.content == b""
    # Even a failing notification is silent (the specification forbids answering it).
    response = await rpc.post(note("eth_nope", []))
    assert response.status_code == 204
    response = await rpc.post(note("eth_getBalance", ["bad"]))
    assert response.status_code == 204
    await rpc.assert_up()


async def test_batch_of_notifications_gets_nothing(rpc: Any) -> None:
    response = await rpc.post([note("eth_chainId"), note("eth_blockNumber", [])])
    assert response.status_code == 204
    assert response.content == b""


async def test_empty_batch_is_one_invalid_request(rpc: Any) -> None:
    response = await rpc.post([])
    assert response.status_code == 200
    answer = response.json()
    assert isinstance(answer, dict)
    assert answer["id"] is None
    assert answer["error"]["code"] == -32600
    await rpc.assert_up()


async def test_oversized_batch(rpc: Any) -> None:
    limit = 20  # SMALL_LIMITS in conftest
    response = await rpc.post([req("eth_chainId", [], i) for i in range(limit)])
    assert len(response.json()) == limit
    response = await rpc.post([req("eth_chainId", [], i) for i in range(limit + 1)])
    answer = response.json()
    assert isinstance(answer, dict)
    assert answer["error"]["code"] == -32600
    assert "batch too large" in answer["error"]["message"]
    await rpc.assert_up()


@pytest.mark.parametrize(
    "body",
    [
        b'{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
        b"[",
        b"",
        b"\xff\xfe\x00garbage",
        b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[NaN]}',
        b'{"jsonrpc":"2.0","id":1e999,"method":"eth_chainId"}',
        b"[" * 30_000,
        b'{"id":' + b"9" * 5000 + b"}",
    ],
    ids=["spec-example", "truncated", "empty", "bad-utf8", "nan", "inf", "deep", "long-int"],
)
async def test_parse_errors(rpc: Any, body: bytes) -> None:
    response = await post_bytes(rpc, body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["id"] is None
    assert answer["error"]["code"] == -32700
    await rpc.assert_up()


@pytest.mark.parametrize(
    "message",
    [
        1,
        "eth_chainId",
        None,
        {"jsonrpc": "2.0", "method": 1, "params": "bar"},
        {"jsonrpc": "1.0", "method": "eth_chainId", "id": 1},
        {"method": "eth_chainId", "id": 1},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": "eth_chainId", "params": "bar", "id": 1},
        {"jsonrpc": "2.0", "method": "eth_chainId", "id": True},
        {"jsonrpc": "2.0", "method": "eth_chainId", "id": [1]},
        {"jsonrpc": "2.0", "method": "eth_chainId", "id": {"a": 1}},
    ],
)
async def test_invalid_requests(rpc: Any, message: Any) -> None:
    response = await post_bytes(rpc, json.dumps(message).encode())
    answer = response.json()
    assert answer["error"]["code"] == -32600
    # The id is echoed only when it was a valid one.
    if isinstance(message, dict) and message.get("id") == 1 and message.get("id") is not True:
        assert answer["id"] == 1
    else:
        assert answer["id"] is None
    await rpc.assert_up()


async def test_deeply_nested_json(rpc: Any) -> None:
    """Valid but absurdly nested JSON is refused (parse error or invalid request), not a crash."""
    response = await post_bytes(rpc, b"[" * 30_000 + b"]" * 30_000)
    assert response.status_code == 200
    answer = response.json()
    answer = answer[0] if isinstance(answer, list) else answer
    assert answer["error"]["code"] in (-32700, -32600)
    await rpc.assert_up()


async def test_invalid_requests_in_batch_spec_example(rpc: Any) -> None:
    response = await rpc.post([1, 2, 3])
    answers = response.json()
    assert len(answers) == 3
    assert all(a["error"]["code"] == -32600 and a["id"] is None for a in answers)


async def test_unknown_method(rpc: Any) -> None:
    error = await rpc.error("eth_doesNotExist")
    assert error["code"] == -32601
    assert "eth_doesNotExist" in error["message"]
    # A very long method name is not echoed in full.
    error = await rpc.error("x" * 10_000)
    assert error["code"] == -32601
    assert len(error["message"]) < 300
    await rpc.assert_up()


async def test_named_params_refused(rpc: Any) -> None:
    response = await rpc.post(req("eth_getBalance", {"address": ADDRESS, "block": "latest"}))
    error = response.json()["error"]
    assert error["code"] == -32602
    assert "array" in error["message"]


async def test_too_many_params(rpc: Any) -> None:
    error = await rpc.error("eth_chainId", 1)
    assert error["code"] == -32602
    assert "too many arguments" in error["message"]


async def test_body_too_large_by_content_length(rpc: Any) -> None:
    body = json.dumps(req("web3_sha3", ["0x" + "00" * 40_000])).encode()
    response = await post_bytes(rpc, body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32600
    assert "too large" in response.json()["error"]["message"]
    await rpc.assert_up()


async def test_body_too_large_streamed(rpc: Any) -> None:
    """Without a Content-Length (chunked upload) the limit holds while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["0x'
        for _ in range(100):
            yield b"00" * 1024
        yield b'"]}'

    response = await rpc.http.post(
        rpc.url, content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    await rpc.assert_up()


async def test_body_just_under_limit(rpc: Any) -> None:
    data = "0x" + "ab" * 30_000
    assert await rpc.call("web3_sha3", data) is not None


async def test_get_gives_usage(rpc: Any) -> None:
    response = await rpc.http.get(rpc.url)
    assert response.status_code == 405
    assert "POST" in response.headers["allow"]
    assert "application/json" in response.text
    for method in ("PUT", "DELETE", "PATCH", "HEAD"):
        response = await rpc.http.request(method, rpc.url)
        assert response.status_code == 405
    await rpc.assert_up()


async def test_cors(rpc: Any) -> None:
    preflight = await rpc.http.options(
        rpc.url,
        headers={
            "origin": "http://localhost:3000",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    response = await rpc.http.post(
        rpc.url, json=req("eth_chainId", []), headers={"origin": "http://localhost:3000"}
    )
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/json-rpc",
    ],
)
async def test_json_content_types_accepted(rpc: Any, content_type: str) -> None:
    response = await post_bytes(rpc, json.dumps(req("eth_chainId", [])).encode(), content_type)
    assert response.json()["result"] == "0x539"


async def test_missing_content_type_refused(rpc: Any) -> None:
    # A browser page can POST without Content-Type and without a CORS preflight.
    body = json.dumps(req("eth_chainId", [])).encode()
    response = await rpc.http.post(rpc.url, content=body, headers={"content-type": ""})
    assert response.status_code == 415


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_other_content_types_refused(rpc: Any, content_type: str) -> None:
    response = await post_bytes(rpc, json.dumps(req("eth_chainId", [])).encode(), content_type)
    assert response.status_code == 415
    assert "application/json" in response.text
    await rpc.assert_up()


async def test_internal_error_hides_details_and_is_logged(
    rpc: Any, caplog: pytest.LogCaptureFixture
) -> None:
    poisoned = "0x" + "de" * 20
    with caplog.at_level(logging.ERROR, logger="node.rpc"):
        error = await rpc.error("eth_getBalance", poisoned, "latest")
    assert error == {"code": -32603, "message": "internal error"}
    assert any("simulated bug" in r.getMessage() or r.exc_info for r in caplog.records)
    logged = "\n".join(
        str(r.exc_info[1]) for r in caplog.records if r.exc_info is not None and r.exc_info[1]
    )
    assert "simulated bug" in logged
    # In a batch the failure stays in its own slot.
    response = await rpc.post(
        [req("eth_getBalance", [poisoned, "latest"], 1), req("eth_chainId", [], 2)]
    )
    answers = response.json()
    assert answers[0]["error"]["code"] == -32603
    assert answers[1]["result"] == "0x539"
    await rpc.assert_up()


async def test_many_abuses_then_still_up(rpc: Any) -> None:
    bodies = [b"{", b"[]", b"[1]", b"null", b"\x00" * 1000, b'{"jsonrpc":"2.0"}']
    for body in bodies * 5:
        response = await post_bytes(rpc, body)
        assert response.status_code in (200, 204)
    await rpc.assert_up()


async def test_stalled_and_abandoned_bodies(rpc: Any, nursery: trio.Nursery) -> None:
    """A client that stops mid-body is dropped after read_timeout; one that hangs up mid-body
    costs nothing; the server keeps answering others."""
    config = RpcConfig(port=0, read_timeout=1)
    endpoint = await nursery.start(serve_rpc, config, rpc.chain)
    head = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"jsonrpc"'
    )
    stalled = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
    await stalled.send_all(head)
    abandoned = await trio.open_tcp_stream("127.0.0.1", endpoint.port)
    await abandoned.send_all(head)
    await abandoned.aclose()
    with trio.fail_after(10):
        # The server closes the stalled connection (EOF or reset), without answering it.
        try:
            data = await stalled.receive_some(1000)
        except trio.BrokenResourceError:
            data = b""
    assert data == b""
    await stalled.aclose()
    response = await rpc.http.post(endpoint.url, json=req("eth_chainId", []))
    assert response.json()["result"] == "0x539"
    await rpc.assert_up()
