"""The proving network's methods: Universal Proofs by block, the provers, the `proven` tag.

    methods = universal_methods(view)            # {"ivc_getUniversalProof": ..., "ivc_provers": ...}
    RpcConfig(extra_methods=methods, extra_block_tags={"proven": proven_tag(view)})

They read through `UniversalView`, a seam of their own beside `ChainView`, so that the server
stays unaware of proofs; the node implements it in node/universal_index.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from node.rpc.block_tags import resolve_block
from node.rpc.chain_view import ChainView
from node.rpc.context import Handler, RpcContext, TagResolver
from node.rpc.hexcodec import encode_data, encode_quantity
from node.rpc.params import Params


@dataclass(frozen=True, slots=True)
class UniversalProofInfo:
    """One Universal Proof as a block brought it: the block it names (`height`, `block_hash`),
    the block that included it (`included_height`, `included_hash`, position `index` in its
    body), the root its header records, and the encoded proof."""

    height: int
    block_hash: bytes
    included_height: int
    included_hash: bytes
    index: int
    root: bytes
    version: int
    leaves: tuple[tuple[bytes, bytes, int], ...]  # (task id, prover, proof bytes; v1: 0)
    encoded: bytes
    # Version 1 only: the root program's control id, and per leaf its lift shape (table log
    # heights) and statement bytes (what the root commits to, in leaf order).
    control_id: bytes = b""
    shapes: tuple[tuple[int, ...], ...] = ()
    statements: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class BlockTasks:
    """The tasks submitted in one block, with their status at the head state."""

    height: int
    block_hash: bytes
    tasks: tuple[tuple[bytes, str], ...]  # (task id, "pending" | "proven" | "expired")


@dataclass(frozen=True, slots=True)
class ProverInfo:
    """A prover's record on chain: tasks its proofs answered, their cycles, what it was paid,
    the last block that brought one of its proofs; `active` if the node knows it as a member of
    the current prover set."""

    address: bytes
    proven_tasks: int
    proven_cycles: int
    rewards: int
    last_included_height: int | None
    active: bool
    stake: int = 0  # prover stake on chain (execution.staking)
    slashed: int = 0  # what missed tasks cost it
    misses: int = 0
    registered: bool = False  # in the on-chain prover set


class UniversalView(Protocol):
    async def block_tasks(self, height: int) -> BlockTasks | None:
        """The tasks of committed block `height` (None above the head)."""
        ...

    async def universal_proofs(self, height: int) -> Sequence[UniversalProofInfo]:
        """The Universal Proofs that later blocks brought for block `height`, in chain order."""
        ...

    async def provers(self) -> Sequence[ProverInfo]:
        """Every prover known on chain or in the current prover set, by address."""
        ...

    async def proven_height(self) -> int:
        """The `proven` tag: the highest H such that every task submitted in blocks 1..H is
        proven or expired at the head."""
        ...

    async def proof_profile(self) -> str:
        """The chain's task proof profile (genesis params.proof.profile)."""
        ...


def format_universal_proof(info: UniversalProofInfo, with_proof: bool) -> dict[str, Any]:
    provers = sorted({prover for _, prover, _ in info.leaves})
    result: dict[str, Any] = {
        "version": encode_quantity(info.version),
        "blockNumber": encode_quantity(info.height),
        "blockHash": encode_data(info.block_hash),
        "includedInBlockNumber": encode_quantity(info.included_height),
        "includedInBlockHash": encode_data(info.included_hash),
        "index": encode_quantity(info.index),
        "root": encode_data(info.root),
        "size": encode_quantity(len(info.encoded)),
        "leaves": [
            {"taskId": encode_data(t), "prover": encode_data(p), "proofSize": encode_quantity(n)}
            for t, p, n in info.leaves
        ],
        "provers": [encode_data(p) for p in provers],
    }
    if info.version == 1:
        # A v1 proof is one root proof: its leaves carry statements, not task proofs.
        result["controlId"] = encode_data(info.control_id)
        for leaf, shape, statement in zip(
            result["leaves"], info.shapes, info.statements, strict=True
        ):
            del leaf["proofSize"]
            leaf["shape"] = list(shape)
            leaf["statement"] = encode_data(statement)
    if with_proof:
        result["proof"] = encode_data(info.encoded)
    return result


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value


def universal_methods(view: UniversalView) -> dict[str, Handler]:
    async def get_universal_proof(ctx: RpcContext, params: Params) -> dict[str, Any] | None:
        """ivc_getUniversalProof(block, withProof=true): the Universal Proofs that answered the
        tasks of `block` (number or tag), null above the head."""
        params.at_most(2)
        ref = await resolve_block(ctx, params, 0)
        with_proof = params.optional(1, "withProof", _bool, True)
        tasks = await view.block_tasks(ref.height)
        if tasks is None:
            return None
        proofs = await view.universal_proofs(ref.height)
        pending = sum(1 for _, status in tasks.tasks if status == "pending")
        return {
            "blockNumber": encode_quantity(tasks.height),
            "blockHash": encode_data(tasks.block_hash),
            "profile": await view.proof_profile(),
            "tasks": [{"taskId": encode_data(t), "status": s} for t, s in tasks.tasks],
            "pendingTasks": encode_quantity(pending),
            "universalProofs": [format_universal_proof(p, with_proof) for p in proofs],
        }

    async def provers(ctx: RpcContext, params: Params) -> dict[str, Any]:
        """ivc_provers(): every prover with its on-chain record, at the head."""
        params.at_most(0)
        head = await ctx.view.head_height()
        return {
            "blockNumber": encode_quantity(head),
            "provers": [
                {
                    "address": encode_data(p.address),
                    "active": p.active,
                    "provenTasks": encode_quantity(p.proven_tasks),
                    "provenCycles": encode_quantity(p.proven_cycles),
                    "rewards": encode_quantity(p.rewards),
                    "lastIncludedBlockNumber": (
                        None
                        if p.last_included_height is None
                        else encode_quantity(p.last_included_height)
                    ),
                    "registered": p.registered,
                    "stake": encode_quantity(p.stake),
                    "slashed": encode_quantity(p.slashed),
                    "misses": encode_quantity(p.misses),
                }
                for p in await view.provers()
            ],
        }

    return {"ivc_getUniversalProof": get_universal_proof, "ivc_provers": provers}


def proven_tag(view: UniversalView) -> TagResolver:
    async def resolve(chain_view: ChainView) -> int:
        return min(await view.proven_height(), await chain_view.head_height())

    return resolve


__all__ = [
    "BlockTasks",
    "ProverInfo",
    "UniversalProofInfo",
    "UniversalView",
    "format_universal_proof",
    "proven_tag",
    "universal_methods",
]
