"""The `ivc_` methods: node status, validators, peers, sync and compute tasks.

Later issues add Universal Proof methods by merging their own tables into the server's
(`RpcConfig(extra_methods=...)`).
"""

from __future__ import annotations

from typing import Any

from node.rpc.block_tags import require_state_block, resolve_block
from node.rpc.chain_view import ProgramInfo, TaskInfo
from node.rpc.context import Handler, RpcContext
from node.rpc.formatting import format_peer, format_sync_status, format_validator
from node.rpc.hexcodec import encode_data, encode_quantity, parse_hash
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


def _printable(data: bytes) -> str | None:
    """The output as text when it is printable UTF-8 (a guest's usual `println!`), else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\n\r\t" for c in text) else None


def format_task(task: TaskInfo) -> dict[str, Any]:
    return {
        "taskId": encode_data(task.task_id),
        "imageId": encode_data(task.image_id),
        "submitter": encode_data(task.submitter),
        "input": encode_data(task.input),
        "maxCycles": encode_quantity(task.max_cycles),
        "feePerCycle": encode_quantity(task.fee_per_cycle),
        "escrow": encode_quantity(task.escrow),
        "status": task.status,
        "submittedHeight": encode_quantity(task.submitted_height),
        "deadlineHeight": encode_quantity(task.deadline_height),
    }


def format_task_result(task: TaskInfo) -> dict[str, Any]:
    """The result; every field but `status` is null until the task is proven."""
    proven = task.status == "proven"
    return {
        "taskId": encode_data(task.task_id),
        "status": task.status,
        "exitCode": encode_quantity(task.exit_code) if proven else None,
        "output": encode_data(task.output) if proven else None,
        "outputText": _printable(task.output) if proven else None,
        "cycles": encode_quantity(task.cycles) if proven else None,
        "prover": encode_data(task.prover) if proven and task.prover is not None else None,
    }


def format_program(program: ProgramInfo) -> dict[str, Any]:
    return {
        "imageId": encode_data(program.image_id),
        "address": encode_data(program.address),
        "elfHash": encode_data(program.elf_hash),
        "elfSize": encode_quantity(program.elf_size),
        "deployer": encode_data(program.deployer),
        "deployedHeight": encode_quantity(program.height),
    }


async def ivc_get_program(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    """A deployed program by image id; null if none (tasks for it would be refused)."""
    params.at_most(1)
    image_id = params.required(0, "imageId", parse_hash)
    program = await ctx.view.program(image_id)
    return None if program is None else format_program(program)


async def ivc_get_task(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    """A compute task by id (its submitting transaction's hash); null if unknown."""
    params.at_most(1)
    task_id = params.required(0, "taskId", parse_hash)
    task = await ctx.view.task(task_id)
    return None if task is None else format_task(task)


async def ivc_get_task_result(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    params.at_most(1)
    task_id = params.required(0, "taskId", parse_hash)
    task = await ctx.view.task(task_id)
    return None if task is None else format_task_result(task)


IVC_METHODS: dict[str, Handler] = {
    "ivc_getProgram": ivc_get_program,
    "ivc_getTask": ivc_get_task,
    "ivc_getTaskResult": ivc_get_task_result,
    "ivc_status": ivc_status,
    "ivc_validators": ivc_validators,
    "ivc_peers": ivc_peers,
    "ivc_syncing": ivc_syncing,
}
