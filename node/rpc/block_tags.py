"""Resolving a block parameter (tag, number, or EIP-1898 object) to a height.

Built-in tags: "latest" is the head; "safe" and "finalized" are the head too, because a
Tendermint commit is final (execution acceptance is a separate notion, the "proven" tag);
"earliest" is genesis; "pending" is the head for blocks and the head plus the mempool for
account state. Extra tags come from `RpcContext.block_tags`: the proving network registers
"proven" there (`RpcConfig(extra_block_tags={"proven": resolver})`), and every method that takes
a block parameter accepts it with no further change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from node.rpc.context import RpcContext
from node.rpc.errors import ServerError
from node.rpc.hexcodec import MAX_BLOCK_NUMBER, parse_hash, parse_quantity
from node.rpc.params import Params, invalid

BUILTIN_TAGS = ("latest", "earliest", "pending", "safe", "finalized")


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A resolved block parameter. `pending` asks for the pending state on top of `height`."""

    height: int
    pending: bool = False

    @property
    def state_height(self) -> int | None:
        """The `height` argument for ChainView state methods (None means pending)."""
        return None if self.pending else self.height


def known_tags(ctx: RpcContext) -> tuple[str, ...]:
    return BUILTIN_TAGS + tuple(tag for tag in ctx.block_tags if tag not in BUILTIN_TAGS)


async def resolve_block(
    ctx: RpcContext, params: Params, index: int, name: str = "block", default: str | None = None
) -> BlockRef:
    """Resolve parameter `index` to a height; None or absent means `default` (or is an error)."""
    value: Any = params.raw(index)
    if value is None:
        if default is None:
            return await _resolve_tag(ctx, params, index, name, None)
        value = default
    if isinstance(value, dict):
        return await _resolve_eip1898(ctx, value, index, name)
    if isinstance(value, str) and not value.startswith(("0x", "0X")):
        return await _resolve_tag(ctx, params, index, name, value)
    try:
        number = parse_quantity(value, MAX_BLOCK_NUMBER)
    except ValueError as exc:
        raise invalid(index, name, f"{exc} ({_expected(ctx)})") from None
    return BlockRef(number)


async def require_state_block(ctx: RpcContext, ref: BlockRef) -> None:
    """State queries above the head fail as geth's do, rather than answering the head's state."""
    head = await ctx.view.head_height()
    if ref.height > head:
        raise ServerError(f"header not found: block {ref.height} is above the head {head}")


async def _resolve_tag(
    ctx: RpcContext, params: Params, index: int, name: str, tag: str | None
) -> BlockRef:
    if tag is None:
        raise invalid(index, name, f"missing block ({_expected(ctx)})")
    view = ctx.view
    if tag in ("latest", "safe", "finalized"):
        return BlockRef(await view.head_height())
    if tag == "earliest":
        return BlockRef(0)
    if tag == "pending":
        return BlockRef(await view.head_height(), pending=True)
    resolver = ctx.block_tags.get(tag)
    if resolver is None:
        raise invalid(index, name, f"unknown block tag {tag[:40]!r} ({_expected(ctx)})")
    return BlockRef(await resolver(view))


async def _resolve_eip1898(
    ctx: RpcContext, value: dict[str, Any], index: int, name: str
) -> BlockRef:
    has_hash = "blockHash" in value
    has_number = "blockNumber" in value
    if has_hash == has_number:
        raise invalid(index, name, "object must hold exactly one of blockHash and blockNumber")
    if has_number:
        try:
            return BlockRef(parse_quantity(value["blockNumber"], MAX_BLOCK_NUMBER))
        except ValueError as exc:
            raise invalid(index, name, f"blockNumber: {exc}") from None
    try:
        block_hash = parse_hash(value["blockHash"])
    except ValueError as exc:
        raise invalid(index, name, f"blockHash: {exc}") from None
    canonical = value.get("requireCanonical", False)
    if not isinstance(canonical, bool):
        raise invalid(index, name, "requireCanonical must be true or false")
    # Committed blocks are final, so every known block is canonical.
    block = await ctx.view.block_by_hash(block_hash, False)
    if block is None:
        raise ServerError(f"header for hash {'0x' + block_hash.hex()} not found")
    return BlockRef(block.number)


def _expected(ctx: RpcContext) -> str:
    return "expected " + ", ".join(known_tags(ctx)) + " or a 0x-prefixed block number"
