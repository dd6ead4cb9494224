"""Browser pages must not reach operator methods, and must not skip the CORS preflight.

CORS "*" lets any page the operator opens call the node. Such a request carries Origin (and
Sec-Fetch-Site in current browsers): operator methods refuse it. A POST without Content-Type
is what a page can send without a preflight, so it gets 415 like any non-JSON type.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
import trio

from node.admin_rpc import admin_methods
from node.rpc import RpcConfig, RpcEndpoint, serve_rpc
from node.rpc.app import is_admin_method

PEER = "12D3KooWPeerUnderTest"


class _P2P:
    """Stands in for the p2p host: records which peers the admin methods cut off."""

    def __init__(self) -> None:
        self.blocked: list[str] = []

    async def block_peer(self, peer: str) -> None:
        self.blocked.append(peer)

    def unblock_peer(self, peer: str) -> None:
        self.blocked.remove(peer)


def call(method: str, *params: Any, id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": list(params)}


@pytest.fixture
async def admin(rpc: Any, nursery: trio.Nursery) -> tuple[RpcEndpoint, _P2P]:
    p2p = _P2P()
    node = cast(Any, SimpleNamespace(p2p=p2p))
    config = RpcConfig(port=0, extra_methods=admin_methods(node))
    endpoint: RpcEndpoint = await nursery.start(serve_rpc, config, rpc.chain)
    return endpoint, p2p


def test_every_admin_method_is_recognised() -> None:
    names = admin_methods(cast(Any, SimpleNamespace(p2p=None)))
    assert names and all(is_admin_method(name) for name in names)
    assert not is_admin_method("eth_chainId") and not is_admin_method("ivc_getTask")


async def test_admin_methods_served_without_origin(
    rpc: Any, admin: tuple[RpcEndpoint, _P2P]
) -> None:
    endpoint, p2p = admin
    answer = (await rpc.http.post(endpoint.url, json=call("ivc_adminBlockPeer", PEER))).json()
    assert answer["result"] is True and p2p.blocked == [PEER]
    answer = (await rpc.http.post(endpoint.url, json=call("ivc_adminUnblockPeer", PEER))).json()
    assert answer["result"] is True and p2p.blocked == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},  # sandboxed iframes and file:// pages
        {"origin": "http://127.0.0.1:8545"},  # even the node's own origin
        {"sec-fetch-site": "cross-site"},
    ],
)
async def test_admin_methods_refused_from_a_browser(
    rpc: Any, admin: tuple[RpcEndpoint, _P2P], headers: dict[str, str]
) -> None:
    endpoint, p2p = admin
    response = await rpc.http.post(
        endpoint.url, json=call("ivc_adminBlockPeer", PEER), headers=headers
    )
    assert response.status_code == 200
    error = response.json()["error"]
    assert error["code"] == -32601 and "browser origin" in error["message"]
    # Batches and notifications take the same table: nothing reaches the p2p host.
    batch = [call("eth_chainId", id_=1), call("ivc_adminBlockPeer", PEER, id_=2)]
    answers = (await rpc.http.post(endpoint.url, json=batch, headers=headers)).json()
    assert answers[0]["result"] == "0x539"
    assert answers[1]["error"]["code"] == -32601
    notification = {"jsonrpc": "2.0", "method": "ivc_adminBlockPeer", "params": [PEER]}
    response = await rpc.http.post(endpoint.url, json=notification, headers=headers)
    assert response.status_code == 204
    assert p2p.blocked == []


async def test_ordinary_methods_still_served_to_browsers(
    rpc: Any, admin: tuple[RpcEndpoint, _P2P]
) -> None:
    endpoint, _ = admin
    response = await rpc.http.post(
        endpoint.url, json=call("eth_chainId"), headers={"origin": "http://localhost:3000"}
    )
    assert response.json()["result"] == "0x539"
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("headers", [{}, {"content-type": ""}, {"origin": "http://evil.example"}])
async def test_post_without_content_type_refused(
    rpc: Any, admin: tuple[RpcEndpoint, _P2P], headers: dict[str, str]
) -> None:
    endpoint, p2p = admin
    body = b'{"jsonrpc":"2.0","id":1,"method":"ivc_adminBlockPeer","params":["%s"]}' % PEER.encode()
    # httpx sets no Content-Type for raw bytes, as a browser fetch with an ArrayBuffer body.
    response = await rpc.http.post(endpoint.url, content=body, headers=headers)
    assert response.request.headers.get("content-type", "") == ""
    assert response.status_code == 415
    assert "application/json" in response.text
    assert p2p.blocked == []
    # The same request with the JSON type goes through (no Origin: an operator's tool).
    if "origin" not in headers:
        response = await rpc.http.post(
            endpoint.url, content=body, headers={"content-type": "application/json"}
        )
        assert response.json()["result"] is True and p2p.blocked == [PEER]


async def test_real_clients_send_a_json_content_type(rpc: Any) -> None:
    """The node's own tools post with httpx json=, which sets application/json."""
    async with httpx.AsyncClient() as client:
        response = await client.post(rpc.url, json=call("eth_chainId"))
    assert response.request.headers["content-type"] == "application/json"
    assert response.json()["result"] == "0x539"
