"""Duplicate-vote evidence: found by the driver, verifiable by anyone, forgeries rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from consensus import (
    ConsensusDriver,
    DecodeError,
    DuplicateVoteEvidence,
    EvidenceFound,
    InvalidEvidence,
    MemorySignerStore,
    PrivValidator,
    ValidatorSet,
    Vote,
    VoteType,
    sign,
    verify_evidence,
)

CHAIN = 4242
A, B = b"\xaa" * 32, b"\xbb" * 32


def vote(sk: bytes, index: int, block: bytes, *, height: int = 1, round_: int = 0,
         vtype: VoteType = VoteType.PREVOTE, chain: int = CHAIN) -> Vote:
    v = Vote(chain, height, round_, vtype, block, index)
    return v.with_signature(sign(sk, v.sign_bytes()))


def test_driver_turns_equivocation_into_evidence(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    driver = ConsensusDriver(
        CHAIN,
        signer=PrivValidator(sks[0], MemorySignerStore()),
        get_value=lambda h: b"v",
        is_valid=lambda v: True,
    )
    driver.start_height(1, vset)
    first, second = vote(sks[2], 2, A), vote(sks[2], 2, B)
    driver.on_vote(first)
    out = driver.on_vote(second)
    found = [o.evidence for o in out if isinstance(o, EvidenceFound)]
    assert found == [DuplicateVoteEvidence.create(first, second)]
    ev = found[0]
    verify_evidence(ev, vset, CHAIN)
    decoded = DuplicateVoteEvidence.decode(ev.encode())
    assert decoded == ev and decoded.hash() == ev.hash()
    decoded.verify(vset, CHAIN)
    assert driver.on_vote(second) == []  # reported once, re-delivery is silent
    # A forged second vote (bad signature) is not evidence.
    forged = replace(vote(sks[2], 2, b"\xcc" * 32), signature=vote(sks[1], 1, B).signature)
    assert driver.on_vote(forged) == []


def test_nil_versus_block_is_equivocation(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    ev = DuplicateVoteEvidence.create(vote(sks[1], 1, A), vote(sks[1], 1, b""))
    verify_evidence(ev, make_vset(1, 1, 1, 1), CHAIN)


def test_forged_evidence_rejected(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    a = vote(sks[1], 1, A)
    cases = {
        "same block": (a, vote(sks[1], 1, A)),
        "other validator": (a, vote(sks[2], 2, B)),
        "other round": (a, vote(sks[1], 1, B, round_=1)),
        "other height": (a, vote(sks[1], 1, B, height=2)),
        "other type": (a, vote(sks[1], 1, B, vtype=VoteType.PRECOMMIT)),
        "other chain": (vote(sks[1], 1, A, chain=1), vote(sks[1], 1, B, chain=1)),
        # Validator 2 signed both, but the evidence blames validator 1.
        "framed": (replace(vote(sks[2], 2, A), validator_index=1),
                   replace(vote(sks[2], 2, B), validator_index=1)),
        "bad signature": (a, replace(vote(sks[1], 1, B), signature=a.signature)),
        "outside the set": (vote(sks[1], 9, A), vote(sks[1], 9, B)),
    }
    for name, (x, y) in cases.items():
        with pytest.raises(InvalidEvidence):
            verify_evidence(DuplicateVoteEvidence.create(x, y), vset, CHAIN)
            pytest.fail(name)
    good = DuplicateVoteEvidence.create(a, vote(sks[1], 1, B))
    with pytest.raises(InvalidEvidence, match="canonical"):
        verify_evidence(DuplicateVoteEvidence(good.vote_b, good.vote_a), vset, CHAIN)


def test_evidence_encoding_tamper_and_hostile_bytes(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    ev = DuplicateVoteEvidence.create(vote(sks[3], 3, A), vote(sks[3], 3, B))
    data = ev.encode()
    for pos in range(0, len(data), 5):
        t = bytearray(data)
        t[pos] ^= 0x80
        try:
            forged = DuplicateVoteEvidence.decode(bytes(t))
        except DecodeError:
            continue
        with pytest.raises(InvalidEvidence):
            verify_evidence(forged, vset, CHAIN)
    for bad in (b"", b"\xc0", data[:-1], data + b"\x00"):
        with pytest.raises(DecodeError):
            DuplicateVoteEvidence.decode(bad)
