"""Duplicate-vote evidence: two different signed votes of one validator for one (h, r, type).

DuplicateVoteEvidence = RLP [vote_a, vote_b], each vote in its wire form (messages.Vote), in
canonical order (vote_a's encoding sorts strictly before vote_b's), so that one equivocation
has exactly one encoding and evidence pools can deduplicate by hash. Anyone holding the
validator set of that height can verify it: both signatures under the same key, same chain,
height, round and type, different block hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from rlp.sedes import List

from consensus.errors import DecodeError, InvalidEvidence
from consensus.messages import VOTE_SEDES, Vote, rlp_decode
from consensus.state_machine import keccak256
from consensus.validator_set import ValidatorSet

_EVIDENCE_SEDES = List([VOTE_SEDES, VOTE_SEDES], strict=True)


@dataclass(frozen=True, slots=True)
class DuplicateVoteEvidence:
    vote_a: Vote
    vote_b: Vote

    @classmethod
    def create(cls, first: Vote, second: Vote) -> DuplicateVoteEvidence:
        a, b = sorted((first, second), key=lambda v: v.encode())
        return cls(a, b)

    @property
    def height(self) -> int:
        return self.vote_a.height

    @property
    def validator_index(self) -> int:
        return self.vote_a.validator_index

    def encode(self) -> bytes:
        return bytes(
            rlp.encode([self.vote_a._fields(), self.vote_b._fields()], sedes=_EVIDENCE_SEDES)
        )

    @classmethod
    def decode(cls, data: bytes) -> DuplicateVoteEvidence:
        fa, fb = rlp_decode(data, _EVIDENCE_SEDES, "duplicate-vote evidence")
        try:
            return cls(Vote._from_fields(fa), Vote._from_fields(fb))
        except DecodeError as exc:
            raise DecodeError(f"duplicate-vote evidence: {exc}") from exc

    def hash(self) -> bytes:
        return keccak256(self.encode())

    def verify(self, validators: ValidatorSet, chain_id: int) -> None:
        verify_evidence(self, validators, chain_id)


def verify_evidence(ev: DuplicateVoteEvidence, validators: ValidatorSet, chain_id: int) -> None:
    """Raise InvalidEvidence unless `ev` proves an equivocation by a member of `validators`
    (which must be the set of the votes' height)."""
    a, b = ev.vote_a, ev.vote_b
    # Rule: both votes are on this chain.
    if a.chain_id != chain_id or b.chain_id != chain_id:
        raise InvalidEvidence("a vote is for another chain")
    # Rule: same validator, height, round and vote type.
    if (a.validator_index, a.height, a.round, a.vote_type) != (
        b.validator_index,
        b.height,
        b.round,
        b.vote_type,
    ):
        raise InvalidEvidence("the votes differ in validator, height, round or type")
    # Rule: the votes are for different blocks (nil counts as a block hash of its own).
    if a.block_hash == b.block_hash:
        raise InvalidEvidence("the votes are for the same block: no equivocation")
    # Rule: canonical order, so one equivocation has one encoding.
    if not a.encode() < b.encode():
        raise InvalidEvidence("votes are not in canonical order")
    if not 0 <= a.validator_index < len(validators):
        raise InvalidEvidence("validator index outside the set")
    # Rule: both signatures are the validator's.
    key = validators.validators[a.validator_index].public_key
    if not a.verify(key) or not b.verify(key):
        raise InvalidEvidence("a vote signature does not verify")
