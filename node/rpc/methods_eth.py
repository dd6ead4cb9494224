"""The `eth_` methods: Ethereum's names and shapes for what ivcnet also has.

Each handler validates every parameter before it touches the chain view.
"""

from __future__ import annotations

from typing import Any

from node.rpc.block_tags import BlockRef, require_state_block, resolve_block
from node.rpc.chain_view import CallRequest, RpcBlock, RpcTransaction
from node.rpc.context import Handler, RpcContext
from node.rpc.errors import ServerError
from node.rpc.formatting import (
    format_account_proof,
    format_block,
    format_receipt,
    format_sync_status,
    format_transaction,
)
from node.rpc.hexcodec import (
    UINT64_MAX,
    encode_data,
    encode_quantity,
    parse_address,
    parse_bool,
    parse_count,
    parse_data,
    parse_hash,
    parse_quantity,
)
from node.rpc.params import Params, invalid

# Upper bounds on what one request may make the node do.
# An early bound only: the chain enforces its own, smaller limit (MAX_TX_BYTES, 1 MiB).
MAX_RAW_TRANSACTION_BYTES = 2 * 1024 * 1024
MAX_PROOF_STORAGE_KEYS = 256
MAX_FEE_HISTORY_BLOCKS = 1024
MAX_REWARD_PERCENTILES = 100
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


async def eth_chain_id(ctx: RpcContext, params: Params) -> str:
    params.at_most(0)
    return encode_quantity(await ctx.view.chain_id())


async def eth_block_number(ctx: RpcContext, params: Params) -> str:
    params.at_most(0)
    return encode_quantity(await ctx.view.head_height())


async def _state_block(ctx: RpcContext, params: Params, index: int) -> BlockRef:
    # geth requires the block; web3.py always sends it; a missing one means latest here.
    ref = await resolve_block(ctx, params, index, default="latest")
    await require_state_block(ctx, ref)
    return ref


async def eth_get_balance(ctx: RpcContext, params: Params) -> str:
    params.at_most(2)
    address = params.required(0, "address", parse_address)
    ref = await _state_block(ctx, params, 1)
    return encode_quantity(await ctx.view.balance(address, ref.state_height))


async def eth_get_transaction_count(ctx: RpcContext, params: Params) -> str:
    params.at_most(2)
    address = params.required(0, "address", parse_address)
    ref = await _state_block(ctx, params, 1)
    return encode_quantity(await ctx.view.nonce(address, ref.state_height))


async def eth_get_code(ctx: RpcContext, params: Params) -> str:
    """ivcnet has no EVM code: programs are RISC-V ELF images addressed by image id, so every
    account's code is empty (which tells wallets that a plain transfer is safe)."""
    params.at_most(2)
    params.required(0, "address", parse_address)
    await _state_block(ctx, params, 1)
    return "0x"


def _parse_raw_transaction(value: Any) -> bytes:
    raw = parse_data(value, max_length=MAX_RAW_TRANSACTION_BYTES)
    if not raw:
        raise ValueError("empty transaction")
    return raw


async def eth_send_raw_transaction(ctx: RpcContext, params: Params) -> str:
    params.at_most(1)
    raw = params.required(0, "transaction", _parse_raw_transaction)
    return encode_data(await ctx.view.send_raw_transaction(raw))


async def eth_get_transaction_by_hash(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    params.at_most(1)
    tx_hash = params.required(0, "transaction hash", parse_hash)
    tx = await ctx.view.transaction_by_hash(tx_hash)
    return None if tx is None else format_transaction(tx)


async def eth_get_transaction_receipt(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    params.at_most(1)
    tx_hash = params.required(0, "transaction hash", parse_hash)
    receipt = await ctx.view.receipt_by_hash(tx_hash)
    return None if receipt is None else format_receipt(receipt)


async def eth_get_block_by_number(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    params.at_most(2)
    ref = await resolve_block(ctx, params, 0)
    full = params.optional(1, "full transactions", parse_bool, False)
    # "pending" answers the head block: a Tendermint node has no half-built block to show.
    block = await ctx.view.block_by_number(ref.height, full)
    return None if block is None else format_block(block, full)


async def eth_get_block_by_hash(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
    params.at_most(2)
    block_hash = params.required(0, "block hash", parse_hash)
    full = params.optional(1, "full transactions", parse_bool, False)
    block = await ctx.view.block_by_hash(block_hash, full)
    return None if block is None else format_block(block, full)


async def eth_get_block_transaction_count_by_number(ctx: RpcContext, params: Params) -> str | None:
    params.at_most(1)
    ref = await resolve_block(ctx, params, 0)
    block = await ctx.view.block_by_number(ref.height, False)
    return None if block is None else encode_quantity(len(block.transaction_hashes))


async def eth_get_block_transaction_count_by_hash(ctx: RpcContext, params: Params) -> str | None:
    params.at_most(1)
    block_hash = params.required(0, "block hash", parse_hash)
    block = await ctx.view.block_by_hash(block_hash, False)
    return None if block is None else encode_quantity(len(block.transaction_hashes))


def _transaction_at(block: RpcBlock | None, index: int) -> dict[str, Any] | None:
    if block is None or block.transactions is None or index >= len(block.transactions):
        return None
    return format_transaction(block.transactions[index])


async def eth_get_transaction_by_block_number_and_index(
    ctx: RpcContext, params: Params
) -> dict[str, Any] | None:
    params.at_most(2)
    ref = await resolve_block(ctx, params, 0)
    index = params.required(1, "index", lambda v: parse_quantity(v, UINT64_MAX))
    return _transaction_at(await ctx.view.block_by_number(ref.height, True), index)


async def eth_get_transaction_by_block_hash_and_index(
    ctx: RpcContext, params: Params
) -> dict[str, Any] | None:
    params.at_most(2)
    block_hash = params.required(0, "block hash", parse_hash)
    index = params.required(1, "index", lambda v: parse_quantity(v, UINT64_MAX))
    return _transaction_at(await ctx.view.block_by_hash(block_hash, True), index)


def _parse_storage_keys(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("expected an array of storage keys")
    if len(value) > MAX_PROOF_STORAGE_KEYS:
        raise ValueError(f"{len(value)} storage keys, at most {MAX_PROOF_STORAGE_KEYS}")
    keys = []
    for position, key in enumerate(value):
        try:
            parse_data(key, max_length=32)
        except ValueError as exc:
            raise ValueError(f"storage key {position}: {exc}") from None
        keys.append(key)
    return keys


async def eth_get_proof(ctx: RpcContext, params: Params) -> dict[str, Any]:
    params.at_most(3)
    address = params.required(0, "address", parse_address)
    storage_keys: list[str] = params.optional(1, "storage keys", _parse_storage_keys, [])
    ref = await _state_block(ctx, params, 2)
    # A proof is against a committed state root; the pending state has none.
    proof = await ctx.view.account_proof(address, ref.height)
    return format_account_proof(proof, storage_keys)


async def eth_syncing(ctx: RpcContext, params: Params) -> bool | dict[str, Any]:
    params.at_most(0)
    status = await ctx.view.syncing()
    return format_sync_status(status) if status.syncing else False


async def _head_base_fee(ctx: RpcContext) -> int:
    head = await ctx.view.block_by_number(await ctx.view.head_height(), False)
    return 0 if head is None else head.base_fee_per_gas


async def eth_gas_price(ctx: RpcContext, params: Params) -> str:
    """Legacy gas price: the head block's base fee plus the suggested tip."""
    params.at_most(0)
    tip = await ctx.view.suggested_priority_fee()
    return encode_quantity(await _head_base_fee(ctx) + tip)


async def eth_max_priority_fee_per_gas(ctx: RpcContext, params: Params) -> str:
    params.at_most(0)
    return encode_quantity(await ctx.view.suggested_priority_fee())


def _parse_percentiles(value: Any) -> list[float]:
    if not isinstance(value, list):
        raise ValueError("expected an array of percentiles")
    if len(value) > MAX_REWARD_PERCENTILES:
        raise ValueError(f"{len(value)} percentiles, at most {MAX_REWARD_PERCENTILES}")
    percentiles: list[float] = []
    for position, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ValueError(f"percentile {position} is not a number")
        if not 0 <= item <= 100:
            raise ValueError(f"percentile {position} ({item}) is outside [0, 100]")
        if percentiles and item < percentiles[-1]:
            raise ValueError(f"percentile {position} ({item}) is below the one before it")
        percentiles.append(float(item))
    return percentiles


def _effective_tip(tx: RpcTransaction, base_fee: int) -> int:
    return max(0, min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee))


def _block_rewards(block: RpcBlock, percentiles: list[float]) -> list[str]:
    """Tips at the requested percentiles of the block's transactions, each weighted by one
    transaction (not by gas, as ivcnet's gas is not a measure of block space)."""
    tips = sorted(_effective_tip(tx, block.base_fee_per_gas) for tx in block.transactions or ())
    if not tips:
        return ["0x0"] * len(percentiles)
    return [
        encode_quantity(tips[min(len(tips) - 1, int(p / 100 * len(tips)))]) for p in percentiles
    ]


async def eth_fee_history(ctx: RpcContext, params: Params) -> dict[str, Any]:
    """Base fees and gas-used ratios of up to 1,024 blocks ending at `newestBlock`, plus the
    newest block's base fee again as the next block's (ivcnet has no base fee adjustment rule
    the RPC layer could apply), and tips at the requested percentiles."""
    params.at_most(3)
    count = params.required(0, "block count", lambda v: parse_count(v, UINT64_MAX))
    ref = await resolve_block(ctx, params, 1, name="newest block")
    percentiles: list[float] = params.optional(2, "reward percentiles", _parse_percentiles, [])
    head = await ctx.view.head_height()
    newest = min(ref.height, head)
    count = min(count, MAX_FEE_HISTORY_BLOCKS, newest + 1)
    if count == 0:
        return {"oldestBlock": "0x0", "baseFeePerGas": [], "gasUsedRatio": []}
    oldest = newest - count + 1
    base_fees: list[str] = []
    ratios: list[float] = []
    rewards: list[list[str]] = []
    last_base_fee = 0
    for number in range(oldest, newest + 1):
        block = await ctx.view.block_by_number(number, bool(percentiles))
        if block is None:
            raise ServerError(f"block {number} not found")
        last_base_fee = block.base_fee_per_gas
        base_fees.append(encode_quantity(last_base_fee))
        ratios.append(block.gas_used / block.gas_limit if block.gas_limit else 0.0)
        if percentiles:
            rewards.append(_block_rewards(block, percentiles))
    base_fees.append(encode_quantity(last_base_fee))
    result: dict[str, Any] = {
        "oldestBlock": encode_quantity(oldest),
        "baseFeePerGas": base_fees,
        "gasUsedRatio": ratios,
    }
    if percentiles:
        result["reward"] = rewards
    return result


def _parse_call(value: Any) -> CallRequest:
    if not isinstance(value, dict):
        raise ValueError("expected a transaction object")

    def field(name: str, parse: Any) -> Any:
        item = value.get(name)
        if item is None:
            return None
        try:
            return parse(item)
        except ValueError as exc:
            raise ValueError(f"field {name}: {exc}") from None

    data = field("input", parse_data)
    if data is None:
        data = field("data", parse_data)
    value_wei = field("value", parse_quantity)
    gas = field("gas", lambda v: parse_quantity(v, UINT64_MAX))
    return CallRequest(
        sender=field("from", parse_address),
        to=field("to", parse_address),
        value=0 if value_wei is None else value_wei,
        data=b"" if data is None else data,
        gas=gas,
    )


async def eth_estimate_gas(ctx: RpcContext, params: Params) -> str:
    """Gas for a transaction at the head state. A block argument is checked but only the head
    is estimated against (ivcnet's costs do not depend on older state)."""
    params.at_most(2)
    call = params.required(0, "transaction", _parse_call)
    if len(params.values) > 1 and params.values[1] is not None:
        await _state_block(ctx, params, 1)
    return encode_quantity(await ctx.view.estimate_gas(call))


async def eth_call(ctx: RpcContext, params: Params) -> str:
    """What the transaction would return: ivcnet's transactions (transfers, deploys, task
    submissions) return no data, so the answer is `0x` once the call passes the checks a real
    transaction would (funds, intrinsic gas against a given `gas`); `-32000` otherwise. A block
    argument is checked, the checks run at the head, as for eth_estimateGas."""
    params.at_most(3)
    call = params.required(0, "transaction", _parse_call)
    if len(params.values) > 1 and params.values[1] is not None:
        await _state_block(ctx, params, 1)
    # A state-override set (geth's third parameter) cannot apply: there is no EVM state to
    # override, and silently ignoring it would answer a different question.
    if len(params.values) > 2 and params.values[2] not in (None, {}):
        raise invalid(2, "state overrides", "not supported: ivcnet has no EVM state")
    needed = await ctx.view.estimate_gas(call)
    if call.gas is not None and call.gas < needed:
        raise ServerError(f"intrinsic gas too low: have {call.gas}, want {needed}")
    return "0x"


def _parse_storage_slot(value: Any) -> int:
    # geth reads a slot as a hash of up to 32 bytes, short or odd-length hex allowed: web3.py
    # and ethers send slot numbers as quantities ("0x0").
    if not isinstance(value, str) or value[:2] not in ("0x", "0X"):
        raise ValueError("expected a 0x-prefixed hex storage slot")
    digits = value[2:]
    if not digits or len(digits) > 64:
        raise ValueError("storage slot must have 1 to 64 hex digits")
    # int() alone would also take underscores and spaces.
    if not _HEX_DIGITS.issuperset(digits):
        raise ValueError("invalid hex string")
    return int(digits, 16)


async def eth_get_storage_at(ctx: RpcContext, params: Params) -> str:
    """Every slot of every account is zero: ivcnet accounts have no storage (their proofs carry
    the empty storage root)."""
    params.at_most(3)
    params.required(0, "address", parse_address)
    params.required(1, "storage slot", _parse_storage_slot)
    await _state_block(ctx, params, 2)
    return "0x" + "00" * 32


async def eth_accounts(ctx: RpcContext, params: Params) -> list[str]:
    """The node holds no user keys: wallets sign locally and send raw transactions."""
    params.at_most(0)
    return []


ETH_METHODS: dict[str, Handler] = {
    "eth_chainId": eth_chain_id,
    "eth_blockNumber": eth_block_number,
    "eth_getBalance": eth_get_balance,
    "eth_getTransactionCount": eth_get_transaction_count,
    "eth_getCode": eth_get_code,
    "eth_sendRawTransaction": eth_send_raw_transaction,
    "eth_getTransactionByHash": eth_get_transaction_by_hash,
    "eth_getTransactionReceipt": eth_get_transaction_receipt,
    "eth_getBlockByNumber": eth_get_block_by_number,
    "eth_getBlockByHash": eth_get_block_by_hash,
    "eth_getBlockTransactionCountByNumber": eth_get_block_transaction_count_by_number,
    "eth_getBlockTransactionCountByHash": eth_get_block_transaction_count_by_hash,
    "eth_getTransactionByBlockNumberAndIndex": eth_get_transaction_by_block_number_and_index,
    "eth_getTransactionByBlockHashAndIndex": eth_get_transaction_by_block_hash_and_index,
    "eth_getProof": eth_get_proof,
    "eth_syncing": eth_syncing,
    "eth_gasPrice": eth_gas_price,
    "eth_maxPriorityFeePerGas": eth_max_priority_fee_per_gas,
    "eth_feeHistory": eth_fee_history,
    "eth_estimateGas": eth_estimate_gas,
    "eth_accounts": eth_accounts,
    "eth_call": eth_call,
    "eth_getStorageAt": eth_get_storage_at,
}
