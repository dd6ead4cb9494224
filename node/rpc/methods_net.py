"""The `net_` and `web3_` basics Ethereum tooling asks for on connect."""

from __future__ import annotations

import sha3  # safe-pysha3, the C keccak the chain core uses

from node.rpc.context import Handler, RpcContext
from node.rpc.hexcodec import encode_data, encode_quantity, parse_data
from node.rpc.params import Params


async def net_version(ctx: RpcContext, params: Params) -> str:
    """The network id, which on ivcnet is the chain id, as a decimal string (as geth)."""
    params.at_most(0)
    return str(await ctx.view.chain_id())


async def net_peer_count(ctx: RpcContext, params: Params) -> str:
    params.at_most(0)
    return encode_quantity(len(await ctx.view.peers()))


async def net_listening(ctx: RpcContext, params: Params) -> bool:
    """True: a node that answers RPC is running its P2P host."""
    params.at_most(0)
    return True


async def web3_client_version(ctx: RpcContext, params: Params) -> str:
    params.at_most(0)
    return ctx.client_version


async def web3_sha3(ctx: RpcContext, params: Params) -> str:
    params.at_most(1)
    data = params.required(0, "data", parse_data)
    return encode_data(sha3.keccak_256(data).digest())


NET_METHODS: dict[str, Handler] = {
    "net_version": net_version,
    "net_peerCount": net_peer_count,
    "net_listening": net_listening,
    "web3_clientVersion": web3_client_version,
    "web3_sha3": web3_sha3,
}
