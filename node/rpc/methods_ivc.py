"""The `ivc_` methods: node status, validators, peers and sync, in ivcnet's own shapes.

Later issues add task, task result and Universal Proof methods by merging their own tables
into the server's (`RpcConfig(extra_methods=...)`).
"""

from __future__ import annotations

from typing import Any

from node.rpc.block_tags import require_state_block, resolve_block
from node.rpc.context import Handler, RpcContext
from node.rpc.formatting import format_peer, format_sync_status, format_validator
from node.rpc.hexcodec import encode_data, encode_quantity
from node.rpc.params import Params


async def ivc_status(ctx: RpcContext, params: Params) -> dict[str, Any]:
    """Who this node is and where its chain stands (CometBFT's /status, in one object)."""
    params.at_most(0)
    view = ctx.view
    node = await view.status()
    head = await view.head_height()
    block = await view.block_by_number(head, False)
    sync = await view.syncing()
    result: dict[str, Any] = {
        "nodeId": node.node_id,
        "moniker": node.moniker,
        "version": node.version,
        "listenAddresses": list(node.listen_addresses),
        "validatorAddress": (
            None if node.validator_address is None else encode_data(node.validator_address)
        ),
        "chainId": encode_quantity(await view.chain_id()),
        "latestBlockNumber": encode_quantity(head),
        "latestBlockHash": None if block is None else encode_data(block.hash),
        "latestBlockTime": None if block is None else encode_quantity(block.timestamp),
        "peerCount": encode_quantity(len(await view.peers())),
        "syncing": sync.syncing,
    }
    # Every extra block tag (the proving network's "proven") reports its height here too.
    for tag, resolver in ctx.block_tags.items():
        result[f"{tag}BlockNumber"] = encode_quantity(await resolver(view))
    return result


async def ivc_validators(ctx: RpcContext, params: Params) -> dict[str, Any]:
    """The validator set of a block (default latest) with its total voting power."""
    params.at_most(1)
    ref = await resolve_block(ctx, params, 0, default="latest")
    await require_state_block(ctx, ref)
    height = ref.height
    validators = await ctx.view.validators(height)
    return {
        "blockNumber": encode_quantity(height),
        "totalVotingPower": encode_quantity(sum(v.voting_power for v in validators)),
        "validators": [format_validator(v) for v in validators],
    }


async def ivc_peers(ctx: RpcContext, params: Params) -> list[dict[str, Any]]:
    params.at_most(0)
    return [format_peer(peer) for peer in await ctx.view.peers()]


async def ivc_syncing(ctx: RpcContext, params: Params) -> dict[str, Any]:
    """Sync progress, always as an object (eth_syncing answers false when idle)."""
    params.at_most(0)
    status = await ctx.view.syncing()
    return {"syncing": status.syncing, **format_sync_status(status)}


IVC_METHODS: dict[str, Handler] = {
    "ivc_status": ivc_status,
    "ivc_validators": ivc_validators,
    "ivc_peers": ivc_peers,
    "ivc_syncing": ivc_syncing,
}
