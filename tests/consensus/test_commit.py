"""Commits: aggregation, encoding and every way a forged or tampered commit is rejected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEcc

from consensus import (
    Commit,
    DecodeError,
    InvalidCommit,
    ValidatorSet,
    Vote,
    VoteType,
    bitmap_from_indices,
    build_commit,
    sign,
    verify_commit,
)

CHAIN = 4242
BLOCK = b"\x42" * 32


def precommit(sks: tuple[bytes, ...], i: int, height: int = 5, round_: int = 1,
              block: bytes = BLOCK) -> Vote:
    v = Vote(CHAIN, height, round_, VoteType.PRECOMMIT, block, i)
    return v.with_signature(sign(sks[i], v.sign_bytes()))


@pytest.fixture
def setup(
    keys: Callable[[int], tuple[bytes, ...]], make_vset: Callable[..., ValidatorSet]
) -> tuple[tuple[bytes, ...], ValidatorSet, Commit]:
    sks = keys(4)
    vset = make_vset(1, 1, 1, 1)
    commit = build_commit([precommit(sks, i) for i in (0, 2, 3)], len(vset))
    return sks, vset, commit


def test_commit_verifies_and_round_trips(setup: tuple[tuple[bytes, ...], ValidatorSet, Commit]) -> None:
    _, vset, commit = setup
    verify_commit(commit, vset, CHAIN, height=5, block_hash=BLOCK)
    assert commit.signer_indices() == [0, 2, 3]
    assert commit.signers == bytes([0b1101])
    decoded = Commit.decode(commit.encode())
    assert decoded == commit
    decoded.verify(vset, CHAIN)
    assert len(commit.hash()) == 32


def test_commit_verifies_under_py_ecc(setup: tuple[tuple[bytes, ...], ValidatorSet, Commit]) -> None:
    _, vset, commit = setup
    keys = [vset.validators[i].public_key for i in commit.signer_indices()]
    assert PyEcc.FastAggregateVerify(keys, commit.sign_bytes(CHAIN), commit.signature)


def test_tampered_bitmap_rejected(setup: tuple[tuple[bytes, ...], ValidatorSet, Commit]) -> None:
    _, vset, commit = setup
    # Swap a signer for a validator who did not sign: same power, wrong aggregate.
    swapped = replace(commit, signers=bitmap_from_indices([0, 1, 3], 4))
    with pytest.raises(InvalidCommit, match="aggregate"):
        verify_commit(swapped, vset, CHAIN)
    # Claim an extra signer: the aggregate no longer matches.
    extra = replace(commit, signers=bitmap_from_indices([0, 1, 2, 3], 4))
    with pytest.raises(InvalidCommit, match="aggregate"):
        verify_commit(extra, vset, CHAIN)
    # A bit beyond the last validator, or a bitmap of the wrong length.
    with pytest.raises(InvalidCommit, match="beyond"):
        verify_commit(replace(commit, signers=bytes([0b11101])), vset, CHAIN)
    with pytest.raises(InvalidCommit, match="bitmap"):
        verify_commit(replace(commit, signers=bytes([0b1101, 0])), vset, CHAIN)


def test_missing_power_rejected(
    setup: tuple[tuple[bytes, ...], ValidatorSet, Commit], make_vset: Callable[..., ValidatorSet]
) -> None:
    sks, vset, _ = setup
    two = build_commit([precommit(sks, i) for i in (0, 3)], 4)  # genuine, but 2 of 4
    with pytest.raises(InvalidCommit, match="power"):
        verify_commit(two, vset, CHAIN)
    # Weighted: 3 of 4 validators but only 3 of 6 power.
    heavy = make_vset(1, 1, 1, 3)
    with pytest.raises(InvalidCommit, match="power"):
        verify_commit(build_commit([precommit(sks, i) for i in (0, 1, 2)], 4), heavy, CHAIN)
    with pytest.raises(InvalidCommit, match="power"):  # 4 of 6 is exactly 2/3
        verify_commit(build_commit([precommit(sks, i) for i in (0, 3)], 4), heavy, CHAIN)
    verify_commit(build_commit([precommit(sks, i) for i in (0, 1, 3)], 4), heavy, CHAIN)


def test_wrong_signature_rejected(setup: tuple[tuple[bytes, ...], ValidatorSet, Commit]) -> None:
    sks, vset, commit = setup
    other = build_commit([precommit(sks, i, block=b"\x43" * 32) for i in (0, 2, 3)], 4)
    with pytest.raises(InvalidCommit, match="aggregate"):
        verify_commit(replace(commit, signature=other.signature), vset, CHAIN)
    # A prevote aggregate over the same block is not a commit.
    prevotes = []
    for i in (0, 2, 3):
        v = Vote(CHAIN, 5, 1, VoteType.PREVOTE, BLOCK, i)
        prevotes.append(sign(sks[i], v.sign_bytes()))
    from consensus import aggregate

    with pytest.raises(InvalidCommit, match="aggregate"):
        verify_commit(replace(commit, signature=aggregate(prevotes)), vset, CHAIN)


def test_wrong_height_round_block_or_chain_rejected(
    setup: tuple[tuple[bytes, ...], ValidatorSet, Commit],
) -> None:
    _, vset, commit = setup
    for tampered in (
        replace(commit, height=6),
        replace(commit, round=0),
        replace(commit, block_hash=b"\x43" * 32),
    ):
        with pytest.raises(InvalidCommit):
            verify_commit(tampered, vset, CHAIN)
    with pytest.raises(InvalidCommit):
        verify_commit(commit, vset, CHAIN + 1)
    with pytest.raises(InvalidCommit, match="height"):
        verify_commit(commit, vset, CHAIN, height=6)
    with pytest.raises(InvalidCommit, match="another block"):
        verify_commit(commit, vset, CHAIN, block_hash=b"\x43" * 32)


def test_every_byte_of_the_encoding_matters(
    setup: tuple[tuple[bytes, ...], ValidatorSet, Commit],
) -> None:
    _, vset, commit = setup
    data = commit.encode()
    # Signature bytes are the slow case (a BLS check each); sample them, cover the rest.
    positions = list(range(len(data) - 96)) + list(range(len(data) - 96, len(data), 7))
    for pos in positions:
        tampered = bytearray(data)
        tampered[pos] ^= 0x01
        try:
            c = Commit.decode(bytes(tampered))
        except DecodeError:
            continue
        with pytest.raises(InvalidCommit):
            verify_commit(c, vset, CHAIN)


def test_build_commit_rejects_mixed_or_nil_votes(keys: Callable[[int], tuple[bytes, ...]]) -> None:
    sks = keys(4)
    with pytest.raises(InvalidCommit):
        build_commit([], 4)
    with pytest.raises(InvalidCommit):
        build_commit([precommit(sks, 0), precommit(sks, 1, round_=2)], 4)
    with pytest.raises(InvalidCommit):
        build_commit([precommit(sks, 0), precommit(sks, 0)], 4)
    with pytest.raises(InvalidCommit):
        build_commit([precommit(sks, 0, block=b"")], 4)


@pytest.mark.parametrize(
    "data",
    [b"", b"\xc0", b"\x01\x02", bytes.fromhex("c50102a0"), b"\xc5\x00\x01\x80\x80\x80"],
)
def test_hostile_commit_bytes_raise_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        Commit.decode(data)
