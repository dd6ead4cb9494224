from __future__ import annotations

import contextlib
import random

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus import (
    NIL,
    DecodeError,
    Proposal,
    ProposalBundle,
    Vote,
    VoteType,
    bls,
    secret_to_public,
    sign,
)
from consensus.messages import proposal_sign_bytes, vote_sign_bytes

H32 = b"\xab" * 32
SK = bls.keygen(b"\x05" * 32)
PK = secret_to_public(SK)


def signed_vote(**kw: object) -> Vote:
    fields: dict[str, object] = dict(
        chain_id=7, height=3, round=1, vote_type=VoteType.PRECOMMIT, block_hash=H32, validator_index=2
    )
    fields.update(kw)
    v = Vote(**fields)  # type: ignore[arg-type]
    return v.with_signature(sign(SK, v.sign_bytes()))


def test_vote_round_trip_and_verify() -> None:
    v = signed_vote()
    assert Vote.decode(v.encode()) == v
    assert v.verify(PK)
    nil = signed_vote(block_hash=NIL, vote_type=VoteType.PREVOTE)
    assert Vote.decode(nil.encode()) == nil and nil.is_nil and nil.verify(PK)


def test_proposal_and_bundle_round_trip() -> None:
    p = Proposal(7, 3, 2, H32, -1, 1)
    p = p.with_signature(sign(SK, p.sign_bytes()))
    assert Proposal.decode(p.encode()) == p
    q = Proposal(7, 3, 2, H32, 1, 1)
    assert Proposal.decode(q.encode()) == q
    b = ProposalBundle(p, b"value bytes")
    assert ProposalBundle.decode(b.encode()) == b


def test_sign_bytes_are_domain_separated() -> None:
    prevote = vote_sign_bytes(7, 3, 1, VoteType.PREVOTE, H32)
    precommit = vote_sign_bytes(7, 3, 1, VoteType.PRECOMMIT, H32)
    other_chain = vote_sign_bytes(8, 3, 1, VoteType.PRECOMMIT, H32)
    proposal = proposal_sign_bytes(7, 3, 1, H32, -1)
    assert len({prevote, precommit, other_chain, proposal}) == 4
    v = signed_vote()
    # A precommit signature is not a prevote signature, nor valid on another chain.
    assert not Vote(7, 3, 1, VoteType.PREVOTE, H32, 2, v.signature).verify(PK)
    assert not Vote(8, 3, 1, VoteType.PRECOMMIT, H32, 2, v.signature).verify(PK)
    # The validator index is not signed: commits aggregate identical sign bytes.
    assert Vote(7, 3, 1, VoteType.PRECOMMIT, H32, 0, v.signature).verify(PK)


def test_every_signed_field_is_covered() -> None:
    v = signed_vote()
    for change in (
        dict(chain_id=8),
        dict(height=4),
        dict(round=2),
        dict(vote_type=VoteType.PREVOTE),
        dict(block_hash=b"\xac" * 32),
        dict(block_hash=NIL),
    ):
        tampered = Vote(**{**_asdict(v), **change})  # type: ignore[arg-type]
        assert not tampered.verify(PK), change
    p = Proposal(7, 3, 2, H32, 0, 1)
    p = p.with_signature(sign(SK, p.sign_bytes()))
    for change in (dict(chain_id=8), dict(height=4), dict(round=3), dict(valid_round=1),
                   dict(valid_round=-1), dict(block_hash=b"\x01" * 32)):
        fields = {**_asdict(p), **change}
        assert not Proposal(**fields).verify(PK), change  # type: ignore[arg-type]


def _asdict(obj: Vote | Proposal) -> dict[str, object]:
    return {name: getattr(obj, name) for name in obj.__slots__}


@pytest.mark.parametrize(
    "fields",
    [
        [7, 3, 1, 2, H32, 2],  # too few fields
        [7, 3, 1, 2, H32, 2, b"", b""],  # too many
        [7, 3, 1, 3, H32, 2, b""],  # unknown vote type
        [7, 3, 1, 0, H32, 2, b""],
        [7, 0, 1, 2, H32, 2, b""],  # height 0
        [7, 3, 2**31, 2, H32, 2, b""],  # round out of range
        [7, 3, 1, 2, H32, 2**16, b""],  # index out of range
        [7, 3, 1, 2, b"\x01" * 31, 2, b""],  # short hash
        [7, 3, 1, 2, H32, 2, b"\x01" * 95],  # short signature
        [7, 3, 1, 2, [H32], 2, b""],  # nested list where bytes belong
    ],
)
def test_malformed_votes_raise_decode_error(fields: list[object]) -> None:
    with pytest.raises(DecodeError):
        Vote.decode(rlp.encode(fields))


def test_non_minimal_integers_and_trailing_bytes_rejected() -> None:
    good = signed_vote().encode()
    with pytest.raises(DecodeError):
        Vote.decode(good + b"\x00")
    with pytest.raises(DecodeError):
        Vote.decode(rlp.encode([b"\x00\x07", 3, 1, 2, H32, 2, b""]))
    with pytest.raises(DecodeError):
        Vote.decode("not bytes")  # type: ignore[arg-type]


def test_proposal_valid_round_must_be_below_round() -> None:
    with pytest.raises(DecodeError):
        Proposal.decode(rlp.encode([7, 3, 2, H32, 3, 1, b""]))  # valid_round = 2 = round
    with pytest.raises(DecodeError):
        Proposal.decode(rlp.encode([7, 3, 2, NIL, 0, 1, b""]))  # nil cannot be proposed


def test_every_truncation_and_bit_flip_is_handled() -> None:
    data = signed_vote().encode()
    rng = random.Random(3)
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            Vote.decode(data[:cut])
    for _ in range(300):
        pos = rng.randrange(len(data))
        flipped = bytearray(data)
        flipped[pos] ^= 1 << rng.randrange(8)
        try:
            v = Vote.decode(bytes(flipped))
        except DecodeError:
            continue
        # A flip that still verifies can only be in the unsigned validator index.
        assert not v.verify(PK) or v.sign_bytes() == signed_vote().sign_bytes()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_decoders_only_raise_decode_error(data: bytes) -> None:
    for decode in (Vote.decode, Proposal.decode, ProposalBundle.decode):
        with contextlib.suppress(DecodeError):
            decode(data)


def test_truncated_last_item_is_refused() -> None:
    # pyrlp alone decodes this to [b"\x01"]; a vote must have exactly one encoding.
    from consensus.errors import DecodeError
    from consensus.messages import rlp_decode

    with pytest.raises(DecodeError, match="not canonical RLP"):
        rlp_decode(b"\xc3\x01\x82\x61", None, "vote")
