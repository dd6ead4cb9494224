"""Node-local operator methods, served only with `--admin-rpc` (they let a client cut peers).

    ivc_adminBlockPeer(peerId)    disconnect a peer and refuse it until unblocked
    ivc_adminUnblockPeer(peerId)  undo it (persistent peers are redialed)

Partition tests drive these from outside the node processes. Their names start with
`ivc_admin`, which `node.rpc.app.is_admin_method` recognises: the RPC app never serves them to
a request from a browser (one with an Origin header), as CORS "*" would otherwise let any web
page the operator opens cut the node's peers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from node.rpc import Handler, InvalidParams, Params, RpcContext, ServerError
from p2p import P2PError

if TYPE_CHECKING:
    from node.node import Node


def _peer_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise ValueError("expected a base58 peer id")
    return value


def admin_methods(node: Node) -> dict[str, Handler]:
    async def block_peer(ctx: RpcContext, params: Params) -> bool:
        params.at_most(1)
        peer = params.required(0, "peerId", _peer_id)
        if node.p2p is None:
            raise ServerError("p2p is not running")
        try:
            await node.p2p.block_peer(peer)
        except P2PError as exc:
            raise InvalidParams(str(exc)) from None
        return True

    async def unblock_peer(ctx: RpcContext, params: Params) -> bool:
        params.at_most(1)
        peer = params.required(0, "peerId", _peer_id)
        if node.p2p is None:
            raise ServerError("p2p is not running")
        try:
            node.p2p.unblock_peer(peer)
        except P2PError as exc:
            raise InvalidParams(str(exc)) from None
        return True

    return {"ivc_adminBlockPeer": block_peer, "ivc_adminUnblockPeer": unblock_peer}
