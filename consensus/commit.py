"""Commit certificates: +2/3 precommits for one block as one aggregate BLS signature.

Commit = RLP [height, round, block_hash, signers, signature] where `signers` is a bitmap of
ceil(n / 8) bytes over the validator set of `height` (validator i is bit i % 8, least
significant first, of byte i // 8; unused high bits are zero) and `signature` aggregates the
precommits of exactly those validators. All of them signed the same precommit sign bytes
(the validator index is not signed), so one FastAggregateVerify checks the commit.
Blocks carry the previous block's commit as these encoded bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import rlp
from rlp.sedes import List, big_endian_int, binary

from consensus import bls
from consensus.errors import DecodeError, InvalidCommit, InvalidSignature
from consensus.messages import (
    HASH_LEN,
    MAX_HEIGHT,
    MAX_ROUND,
    Vote,
    VoteType,
    rlp_decode,
    vote_sign_bytes,
)
from consensus.state_machine import keccak256
from consensus.validator_set import ValidatorSet

_COMMIT_SEDES = List([big_endian_int, big_endian_int, binary, binary, binary], strict=True)


def bitmap_from_indices(indices: Iterable[int], n: int) -> bytes:
    bits = bytearray((n + 7) // 8)
    for i in indices:
        if not 0 <= i < n:
            raise ValueError(f"signer index {i} outside a set of {n}")
        bits[i // 8] |= 1 << (i % 8)
    return bytes(bits)


def indices_from_bitmap(bitmap: bytes) -> list[int]:
    return [i for i in range(len(bitmap) * 8) if bitmap[i // 8] >> (i % 8) & 1]


@dataclass(frozen=True, slots=True)
class Commit:
    height: int
    round: int
    block_hash: bytes
    signers: bytes  # bitmap over the validator set of `height`
    signature: bytes  # aggregate of the signers' precommit signatures

    def encode(self) -> bytes:
        fields = [self.height, self.round, self.block_hash, self.signers, self.signature]
        return bytes(rlp.encode(fields, sedes=_COMMIT_SEDES))

    @classmethod
    def decode(cls, data: bytes) -> Commit:
        height, round_, block_hash, signers, signature = rlp_decode(data, _COMMIT_SEDES, "commit")
        if not 0 < height <= MAX_HEIGHT:
            raise DecodeError("commit: height out of range")
        if round_ > MAX_ROUND:
            raise DecodeError("commit: round out of range")
        if len(block_hash) != HASH_LEN:
            raise DecodeError("commit: block hash must be 32 bytes")
        if len(signature) != bls.SIGNATURE_LEN:
            raise DecodeError("commit: signature must be 96 bytes")
        if not signers:
            raise DecodeError("commit: empty signer bitmap")
        return cls(height, round_, block_hash, signers, signature)

    def hash(self) -> bytes:
        return keccak256(self.encode())

    def signer_indices(self) -> list[int]:
        return indices_from_bitmap(self.signers)

    def sign_bytes(self, chain_id: int) -> bytes:
        return vote_sign_bytes(chain_id, self.height, self.round, VoteType.PRECOMMIT, self.block_hash)

    def verify(self, validators: ValidatorSet, chain_id: int) -> None:
        verify_commit(self, validators, chain_id)


def build_commit(precommits: Sequence[Vote], n_validators: int) -> Commit:
    """Aggregate signed precommits for one (height, round, block) into a Commit."""
    if not precommits:
        raise InvalidCommit("a commit needs at least one precommit")
    first = precommits[0]
    if first.vote_type != VoteType.PRECOMMIT or first.is_nil:
        raise InvalidCommit("a commit aggregates precommits for a block")
    seen: set[int] = set()
    for v in precommits:
        if (v.vote_type, v.chain_id, v.height, v.round, v.block_hash) != (
            first.vote_type,
            first.chain_id,
            first.height,
            first.round,
            first.block_hash,
        ):
            raise InvalidCommit("precommits of a commit must all sign the same bytes")
        if v.validator_index in seen:
            raise InvalidCommit(f"validator {v.validator_index} appears twice")
        seen.add(v.validator_index)
    try:
        signature = bls.aggregate([v.signature for v in precommits])
    except InvalidSignature as exc:
        raise InvalidCommit(str(exc)) from exc
    return Commit(
        first.height,
        first.round,
        first.block_hash,
        bitmap_from_indices(seen, n_validators),
        signature,
    )


def verify_commit(
    commit: Commit,
    validators: ValidatorSet,
    chain_id: int,
    *,
    height: int | None = None,
    block_hash: bytes | None = None,
) -> None:
    """Raise InvalidCommit unless +2/3 of `validators`' power signed this precommit.

    `validators` must be the set of commit.height; `height` and `block_hash`, when given,
    pin the commit to the block the caller expects it to certify.
    """
    n = len(validators)
    # Rule: the commit certifies the block the caller asked about.
    if height is not None and commit.height != height:
        raise InvalidCommit(f"commit is for height {commit.height}, expected {height}")
    if block_hash is not None and commit.block_hash != block_hash:
        raise InvalidCommit("commit is for another block")
    # Rule: a commit certifies a block, never nil.
    if len(commit.block_hash) != HASH_LEN:
        raise InvalidCommit("commit block hash must be 32 bytes")
    # Rule: the bitmap covers exactly this validator set (no bit beyond the last validator).
    if len(commit.signers) != (n + 7) // 8:
        raise InvalidCommit(f"signer bitmap is {len(commit.signers)} bytes for {n} validators")
    signers = commit.signer_indices()
    if any(i >= n for i in signers):
        raise InvalidCommit("signer bitmap names a validator beyond the set")
    # Rule: strictly more than 2/3 of the voting power signed.
    power = validators.power_of_indices(signers)
    if not validators.has_two_thirds(power):
        raise InvalidCommit(f"signers hold {power} of {validators.total_power} power, need > 2/3")
    # Rule: the aggregate signature is theirs, over the precommit sign bytes.
    keys = [validators.validators[i].public_key for i in signers]
    if not bls.fast_aggregate_verify(keys, commit.sign_bytes(chain_id), commit.signature):
        raise InvalidCommit("aggregate signature does not verify")
