"""Duplicate-vote evidence waiting for a block, and what recent blocks already hold.

Rules: evidence is accepted only if it verifies against the validator set of its height and is
at most `EVIDENCE_MAX_AGE` blocks old; each piece goes into at most one block (blocks of the last
`EVIDENCE_MAX_AGE` heights are scanned at start, committed blocks are added as they come).
"""

from __future__ import annotations

from collections.abc import Callable

from consensus import ConsensusError, DuplicateVoteEvidence, ValidatorSet, keccak256
from execution.chain import Chain
from execution.types.block import Block

EVIDENCE_MAX_AGE = 100
MAX_EVIDENCE_PER_BLOCK = 16


class EvidencePool:
    def __init__(self, chain_id: int, validator_set: Callable[[int], ValidatorSet]) -> None:
        self.chain_id = chain_id
        self._validator_set = validator_set
        self._pending: dict[bytes, DuplicateVoteEvidence] = {}
        self.committed: set[bytes] = set()

    def scan(self, chain: Chain) -> None:
        for h in range(max(1, chain.height - EVIDENCE_MAX_AGE), chain.height + 1):
            block = chain.block_at(h)
            if block is not None:
                self.mark_committed(block)

    def mark_committed(self, block: Block) -> None:
        self.committed.update(keccak256(raw) for raw in block.evidence)

    def for_block(self, height: int) -> tuple[bytes, ...]:
        out = []
        for h, ev in list(self._pending.items()):
            if h in self.committed or ev.height < height - EVIDENCE_MAX_AGE:
                del self._pending[h]
            elif ev.height < height:
                out.append(ev.encode())
        return tuple(out[:MAX_EVIDENCE_PER_BLOCK])

    def add(self, ev: DuplicateVoteEvidence, head_height: int) -> bool:
        """Pool verified, recent, new evidence; False if it is none of those."""
        h = ev.hash()
        if h in self._pending or h in self.committed:
            return False
        if ev.height > head_height + 1 or ev.height < head_height - EVIDENCE_MAX_AGE:
            return False
        try:
            ev.verify(self._validator_set(ev.height), self.chain_id)
        except ConsensusError:
            return False
        self._pending[h] = ev
        return True
