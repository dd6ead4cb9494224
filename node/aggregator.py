"""The proposer's side of the proving network: packing Universal Proofs into its blocks.

A task submitted in block H is pending until a later block brings a Universal Proof (v0,
execution.universal) that answers it, or until its deadline block H + task_deadline_blocks
expires it. When building a block, the proposer asks the proof pool for the task proofs of
every block whose tasks are still pending (oldest first: their deadline is nearest) and packs
them into one Universal Proof per named block, within a byte budget: a proposal travels as one
gossip message (4 MiB topic limit), a task proof is about 0.5 MB, and every validator verifies
every leaf (about 0.1 s each) while it checks the proposal. A block's tasks may therefore be
answered by several Universal Proofs over several blocks; the state transition accepts that,
since each proof only needs its tasks to be pending.

The same scan gives the `proven` height: the highest H such that every task submitted in
blocks 1..H is resolved (proven or expired) in the head state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from execution.chain import Chain
from execution.state import State, TaskStatus
from execution.types.block import Block
from execution.types.errors import InvalidBlock
from execution.universal import InvalidUniversalProof, ProofLeaf, UniversalProof
from execution.universal.version import is_v1
from node.logs import event
from storage import block_store

logger = logging.getLogger("node.aggregator")

# Bytes of task proofs per block: one sample proof (573 KB), about 0.14 s to verify on a quiet
# machine, 1-2 s on a starved one. Every validator verifies them on its event loop while
# checking the proposal, and in loaded multi-process runs 3-proof blocks (1.9 MB, 3-6 s to
# build or check) stalled consensus (docs/proving.md), so the default stays at one proof;
# leaves 3 MiB - this for transactions (node.MAX_BLOCK_BYTES).
UP_BYTES_PER_BLOCK = 1024 * 1024
# A single task proof larger than the budget still goes alone into a block, up to this size
# (3 MiB blocks, 4 MiB gossip limit): proofs grow with cycles (500-700 KB measured at 2^15-2^16
# cycles), and one that never fitted the budget could never be accepted, so its task would
# always expire.
MAX_LONE_LEAF_BYTES = 2 * 1024 * 1024
# RLP framing per leaf (task id, prover, list and string headers), counted against the budget.
_LEAF_OVERHEAD = 64
# Test only: a proposer started with this variable set to 1 corrupts the first task proof of
# every Universal Proof it proposes (after building the block), so that tests can show the
# other validators reject such a block.
TAMPER_ENV = "IVCNET_TEST_TAMPER_UNIVERSAL_PROOF"


class ProofSource(Protocol):
    """What the proposer needs of the proof pool (node.proof_pool.ProofPool)."""

    def for_block(self, height: int) -> list[ProofLeaf]: ...

    def discard(self, task_ids: Iterable[bytes]) -> int: ...


@dataclass(frozen=True)
class PendingBlock:
    """A committed block with tasks still pending at the head."""

    height: int
    block_hash: bytes
    task_ids: tuple[bytes, ...]


def pending_blocks(chain: Chain, state: State | None = None) -> list[PendingBlock]:
    """The blocks whose tasks are not all resolved in the head state, oldest first.

    Only the last task_deadline_blocks blocks can hold one: a task of block H is expired at
    the end of block H + task_deadline_blocks, and all tasks of a block share that deadline,
    so the state's deadline index lists them (`tasks_due(H + D)`)."""
    state = chain.state() if state is None else state
    head = chain.height
    deadline = chain.genesis.params.task_deadline_blocks
    out: list[PendingBlock] = []
    for height in range(max(1, head - deadline + 1), head + 1):
        pending = []
        for task_id in state.tasks_due(height + deadline):
            task = state.task(task_id)
            if task is not None and task.status is TaskStatus.PENDING:
                pending.append(task_id)
        if pending:
            block_hash = block_store.hash_at(chain.db, height)
            if block_hash is not None:
                out.append(PendingBlock(height, block_hash, tuple(pending)))
    return out


def proven_height(chain: Chain) -> int:
    """The highest height H such that every task submitted in blocks 1..H is proven or
    expired in the head state (the head itself when no task is pending)."""
    pending = pending_blocks(chain)
    return pending[0].height - 1 if pending else chain.height


def pack_universal_proofs(
    chain: Chain,
    pool: ProofSource,
    budget: int = UP_BYTES_PER_BLOCK,
    max_lone_leaf: int = MAX_LONE_LEAF_BYTES,
) -> tuple[bytes, ...]:
    """The encoded Universal Proofs the next block should bring, within `budget` bytes.

    One per block that has pending tasks with proofs in the pool, oldest block first; a leaf
    that does not fit is left for a later block (a smaller one after it may still fit); one
    larger than the whole budget goes alone, up to `max_lone_leaf` bytes."""
    proofs: list[bytes] = []
    used = 0
    for pb in pending_blocks(chain):
        wanted = set(pb.task_ids)
        chosen: list[ProofLeaf] = []
        for leaf in pool.for_block(pb.height):
            if leaf.task_id not in wanted:
                continue  # already answered, expired, or not a task of this block
            size = len(leaf.task_proof) + _LEAF_OVERHEAD
            if used + size > budget and not (used == 0 and size <= max_lone_leaf):
                continue
            wanted.discard(leaf.task_id)  # one proof per task
            chosen.append(leaf)
            used += size
        if chosen:
            proofs.append(UniversalProof(pb.height, pb.block_hash, tuple(chosen)).encode())
        if used + _LEAF_OVERHEAD >= budget:
            break
    return tuple(proofs)


def drop_rejected(
    proofs: tuple[bytes, ...], exc: InvalidBlock, pool: ProofSource
) -> tuple[bytes, ...]:
    """After the chain refused `proofs` (reason invalid_universal_proof), discard from the pool
    the task proof it names and return the proofs without it (without the whole Universal
    Proof when the error names no leaf)."""
    index = 0 if exc.index is None else exc.index
    if not 0 <= index < len(proofs):
        return ()
    try:
        up = UniversalProof.decode(proofs[index])
    except InvalidUniversalProof:
        return proofs[:index] + proofs[index + 1 :]
    leaf_index = exc.leaf
    if leaf_index is None:
        pool.discard([leaf.task_id for leaf in up.leaves])
        return proofs[:index] + proofs[index + 1 :]
    if not 0 <= leaf_index < len(up.leaves):
        return proofs[:index] + proofs[index + 1 :]
    bad = up.leaves[leaf_index]
    pool.discard([bad.task_id])
    event(
        logger,
        "task_proof_dropped",
        logging.WARNING,
        task=bad.task_id.hex(),
        prover=bad.prover.hex(),
        error=exc.detail,
    )
    rest = up.leaves[:leaf_index] + up.leaves[leaf_index + 1 :]
    if not rest:
        return proofs[:index] + proofs[index + 1 :]
    return (*proofs[:index], replace(up, leaves=rest).encode(), *proofs[index + 1 :])


def resolved_task_ids(block: Block, state: State) -> list[bytes]:
    """The tasks a committed block resolved: those its Universal Proofs answered and those it
    expired (due at its height and no longer pending in `state`, the state after it)."""
    ids: list[bytes] = []
    for raw in block.universal_proofs:
        try:
            if is_v1(raw):
                from execution.universal.proof_v1 import UniversalProofV1

                ids.extend(leaf.task_id for leaf in UniversalProofV1.decode(raw).leaves)
            else:
                ids.extend(leaf.task_id for leaf in UniversalProof.decode(raw).leaves)
        except InvalidUniversalProof:
            continue  # cannot happen for a committed block
    for task_id in state.tasks_due(block.height):
        task = state.task(task_id)
        if task is not None and task.status is not TaskStatus.PENDING:
            ids.append(task_id)
    return ids


def tamper_enabled() -> bool:
    return os.environ.get(TAMPER_ENV) == "1"


def tampered(block: Block) -> Block:
    """`block` with one byte of its first Universal Proof's first task proof flipped (test only);
    the header still names the honest root."""
    if not block.universal_proofs:
        return block
    up = UniversalProof.decode(block.universal_proofs[0])
    leaf = up.leaves[0]
    proof = bytearray(leaf.task_proof)
    proof[len(proof) // 2] ^= 1
    bad_up = replace(up, leaves=(replace(leaf, task_proof=bytes(proof)), *up.leaves[1:]))
    return Block(
        block.header,
        block.transactions,
        block.last_commit,
        block.evidence,
        (bad_up.encode(), *block.universal_proofs[1:]),
    )
