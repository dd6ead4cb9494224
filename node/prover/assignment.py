"""Who proves a task, and when: a deterministic order of the prover set per task.

For a task submitted in the block with hash B, the provers are ranked by
keccak256(B || task id || prover address), smallest first. The first in line starts at once
when the block is committed; the prover ranked k starts once the chain has grown k *
`prover_timeout_blocks` blocks past the task's block with no valid proof of the task in its
pool. Every prover computes the same order from committed data alone, so no message is needed
to agree on it, and the block hash (fixed only at commit) keeps a submitter from choosing its
prover. A proof by anyone is accepted by consensus; the order only spreads the work and bounds
how long a silent prover can hold a task. Consensus charges a miss to a prover whose turn passed
before a later one's proof was accepted (execution.staking.slashing), with the same order.
"""

from __future__ import annotations

from collections.abc import Iterable

from execution.staking.assignment import rank_provers

__all__ = ["my_start_height", "rank_provers", "start_height"]


def start_height(task_height: int, rank: int, timeout_blocks: int) -> int:
    """The chain height at which the prover of `rank` (0 = first) starts on a task of block
    `task_height`, if no proof has been pooled by then."""
    return task_height + rank * timeout_blocks


def my_start_height(
    block_hash: bytes,
    task_id: bytes,
    task_height: int,
    provers: Iterable[bytes],
    me: bytes,
    timeout_blocks: int,
) -> int | None:
    """When `me` starts on the task, or None if `me` is not in the prover set."""
    order = rank_provers(block_hash, task_id, provers)
    if me not in order:
        return None
    return start_height(task_height, order.index(me), timeout_blocks)
