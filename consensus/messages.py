"""Votes and proposals: RLP wire encoding and domain-separated sign bytes.

Wire encodings (RLP lists with explicit sedes, integers big-endian minimal):
  Vote     = [chain_id, height, round, type, block_hash, validator_index, signature]
  Proposal = [chain_id, height, round, block_hash, valid_round + 1, proposer_index, signature]
  ProposalBundle = [Proposal, value]   (a proposal travelling with its value)
`type` is 1 for a prevote and 2 for a precommit; `block_hash` is empty for a vote for nil and
32 bytes otherwise; `valid_round + 1` is 0 when the proposal carries no valid round (-1).

Sign bytes carry a tag per message kind, then the chain id, so that a signature can never be
replayed as another kind of message or on another chain:
  sign_bytes = RLP([tag, chain_id, height, round, block_hash])            (votes)
  sign_bytes = RLP([tag, chain_id, height, round, block_hash, valid_round + 1])  (proposals)
The validator index is not signed: every precommit for one block then signs the same bytes,
which is what lets a commit carry one aggregate signature (FastAggregateVerify).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

import rlp
import rusty_rlp
from rlp.sedes import CountableList, List, big_endian_int, binary, raw

from consensus import bls
from consensus.errors import DecodeError

HASH_LEN = 32
NIL: bytes = b""

# Bounds on decoded integers: far above anything honest, low enough that no arithmetic on
# them (round-dependent timeouts, proposer increments) can be turned into a resource attack.
MAX_HEIGHT = 2**63 - 1
MAX_ROUND = 2**31 - 1
MAX_VALIDATOR_INDEX = 2**16 - 1
MAX_CHAIN_ID = 2**64 - 1

TAG_PREVOTE = b"ivcnet/prevote/v1"
TAG_PRECOMMIT = b"ivcnet/precommit/v1"
TAG_PROPOSAL = b"ivcnet/proposal/v1"


class VoteType(IntEnum):
    PREVOTE = 1
    PRECOMMIT = 2


_VOTE_SEDES = List(
    [big_endian_int, big_endian_int, big_endian_int, big_endian_int, binary, big_endian_int, binary],
    strict=True,
)
_PROPOSAL_SEDES = List(
    [big_endian_int, big_endian_int, big_endian_int, binary, big_endian_int, big_endian_int, binary],
    strict=True,
)
_VOTE_SIGN_SEDES = List([binary, big_endian_int, big_endian_int, big_endian_int, binary])
_PROPOSAL_SIGN_SEDES = List(
    [binary, big_endian_int, big_endian_int, big_endian_int, binary, big_endian_int]
)
_BUNDLE_SEDES = List([_PROPOSAL_SEDES, binary], strict=True)


def rlp_decode(data: bytes, sedes: Any, what: str) -> Any:
    """rlp.decode with every failure mapped to DecodeError (hostile bytes never crash).

    The bytes must also be the canonical encoding of what they decode to: pyrlp drops a last
    list item that claims more bytes than the list holds (b"\\xc3\\x01\\x82\\x61" -> [b"\\x01"]),
    which would let two encodings stand for one signed message."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    try:
        if bytes(rusty_rlp.encode_raw(rusty_rlp.decode_raw(data, True, False)[0])) != data:
            raise DecodeError(f"{what}: not canonical RLP")
    except rusty_rlp.DecodingError as exc:
        raise DecodeError(f"{what}: {exc}") from exc
    try:
        return rlp.decode(data, sedes=sedes, strict=True)
    except (rlp.exceptions.RLPException, ValueError, TypeError, IndexError) as exc:
        raise DecodeError(f"{what}: {exc}") from exc


def _check_int(value: int, bound: int, field: str, what: str) -> None:
    if value > bound:
        raise DecodeError(f"{what}: {field} {value} exceeds {bound}")


def _check_hash(block_hash: bytes, allow_nil: bool, what: str) -> None:
    if len(block_hash) == HASH_LEN or (allow_nil and block_hash == NIL):
        return
    raise DecodeError(f"{what}: block hash must be 32 bytes{' or empty' if allow_nil else ''}")


def _check_signature(signature: bytes, what: str) -> None:
    if signature and len(signature) != bls.SIGNATURE_LEN:
        raise DecodeError(f"{what}: signature must be 96 bytes (or empty when unsigned)")


@dataclass(frozen=True, slots=True)
class Vote:
    chain_id: int
    height: int
    round: int
    vote_type: VoteType
    block_hash: bytes  # NIL for a vote for nil
    validator_index: int
    signature: bytes = b""

    def sign_bytes(self) -> bytes:
        return vote_sign_bytes(
            self.chain_id, self.height, self.round, self.vote_type, self.block_hash
        )

    def encode(self) -> bytes:
        return bytes(rlp.encode(self._fields(), sedes=_VOTE_SEDES))

    def _fields(self) -> list[Any]:
        return [
            self.chain_id,
            self.height,
            self.round,
            int(self.vote_type),
            self.block_hash,
            self.validator_index,
            self.signature,
        ]

    @classmethod
    def decode(cls, data: bytes) -> Vote:
        return cls._from_fields(rlp_decode(data, _VOTE_SEDES, "vote"))

    @classmethod
    def _from_fields(cls, f: Any) -> Vote:
        chain_id, height, round_, vtype, block_hash, index, signature = f
        what = "vote"
        _check_int(chain_id, MAX_CHAIN_ID, "chain id", what)
        _check_int(height, MAX_HEIGHT, "height", what)
        _check_int(round_, MAX_ROUND, "round", what)
        _check_int(index, MAX_VALIDATOR_INDEX, "validator index", what)
        if vtype not in (VoteType.PREVOTE, VoteType.PRECOMMIT):
            raise DecodeError(f"vote: unknown vote type {vtype}")
        if height == 0:
            raise DecodeError("vote: height 0 is the genesis and is never voted on")
        _check_hash(block_hash, True, what)
        _check_signature(signature, what)
        return cls(chain_id, height, round_, VoteType(vtype), block_hash, index, signature)

    def with_signature(self, signature: bytes) -> Vote:
        return replace(self, signature=signature)

    def verify(self, public_key: bytes) -> bool:
        return bls.verify(public_key, self.sign_bytes(), self.signature)

    @property
    def is_nil(self) -> bool:
        return self.block_hash == NIL


@dataclass(frozen=True, slots=True)
class Proposal:
    chain_id: int
    height: int
    round: int
    block_hash: bytes
    valid_round: int  # -1 when the proposer has no valid value from an earlier round
    proposer_index: int
    signature: bytes = b""

    def sign_bytes(self) -> bytes:
        return proposal_sign_bytes(
            self.chain_id, self.height, self.round, self.block_hash, self.valid_round
        )

    def _fields(self) -> list[Any]:
        return [
            self.chain_id,
            self.height,
            self.round,
            self.block_hash,
            self.valid_round + 1,
            self.proposer_index,
            self.signature,
        ]

    def encode(self) -> bytes:
        return bytes(rlp.encode(self._fields(), sedes=_PROPOSAL_SEDES))

    @classmethod
    def decode(cls, data: bytes) -> Proposal:
        return cls._from_fields(rlp_decode(data, _PROPOSAL_SEDES, "proposal"))

    @classmethod
    def _from_fields(cls, f: Any) -> Proposal:
        chain_id, height, round_, block_hash, vr1, index, signature = f
        what = "proposal"
        _check_int(chain_id, MAX_CHAIN_ID, "chain id", what)
        _check_int(height, MAX_HEIGHT, "height", what)
        _check_int(round_, MAX_ROUND, "round", what)
        _check_int(index, MAX_VALIDATOR_INDEX, "proposer index", what)
        if height == 0:
            raise DecodeError("proposal: height 0 is the genesis and is never proposed")
        # Algorithm 1 only accepts valid_round < round; anything else is malformed.
        if vr1 > round_:
            raise DecodeError("proposal: valid round must be below the round")
        _check_hash(block_hash, False, what)
        _check_signature(signature, what)
        return cls(chain_id, height, round_, block_hash, vr1 - 1, index, signature)

    def with_signature(self, signature: bytes) -> Proposal:
        return replace(self, signature=signature)

    def verify(self, public_key: bytes) -> bool:
        return bls.verify(public_key, self.sign_bytes(), self.signature)


@dataclass(frozen=True, slots=True)
class ProposalBundle:
    """A signed proposal with the value it names, as sent over the network."""

    proposal: Proposal
    value: bytes

    @property
    def height(self) -> int:
        return self.proposal.height

    def encode(self) -> bytes:
        return bytes(rlp.encode([self.proposal._fields(), self.value], sedes=_BUNDLE_SEDES))

    @classmethod
    def decode(cls, data: bytes) -> ProposalBundle:
        fields, value = rlp_decode(data, _BUNDLE_SEDES, "proposal bundle")
        return cls(Proposal._from_fields(fields), value)


def vote_sign_bytes(
    chain_id: int, height: int, round_: int, vote_type: VoteType, block_hash: bytes
) -> bytes:
    tag = TAG_PREVOTE if vote_type == VoteType.PREVOTE else TAG_PRECOMMIT
    return bytes(rlp.encode([tag, chain_id, height, round_, block_hash], sedes=_VOTE_SIGN_SEDES))


def proposal_sign_bytes(
    chain_id: int, height: int, round_: int, block_hash: bytes, valid_round: int
) -> bytes:
    return bytes(
        rlp.encode(
            [TAG_PROPOSAL, chain_id, height, round_, block_hash, valid_round + 1],
            sedes=_PROPOSAL_SIGN_SEDES,
        )
    )


# Re-used by evidence encoding: a vote as a nested RLP list.
VOTE_SEDES = _VOTE_SEDES
VOTE_LIST_SEDES = CountableList(_VOTE_SEDES)
RAW = raw
