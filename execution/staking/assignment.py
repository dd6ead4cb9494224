"""The order in which the provers of a task take it over (node/prover/assignment.py uses it).

For a task submitted in the block with hash B, the provers are ranked by
keccak256(B || task id || prover address), smallest first. Consensus uses the same order to see
which provers missed a task (execution.staking.slashing).
"""

from __future__ import annotations

from collections.abc import Iterable

from execution.types.hashing import keccak256


def rank_provers(block_hash: bytes, task_id: bytes, provers: Iterable[bytes]) -> list[bytes]:
    """The provers of a task in the order in which they take it over (duplicates removed)."""
    prefix = block_hash + task_id
    return sorted(set(provers), key=lambda p: (keccak256(prefix + p), p))
