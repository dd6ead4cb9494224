"""The proof byte format: round trip, size, and hostile bytes."""

from __future__ import annotations

import os
import struct
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stark_cases import FAST, statement

from execution.stark.errors import ProofFormatError
from execution.stark.proof import MAGIC, Proof


@pytest.fixture(scope="module")
def proof_bytes() -> bytes:
    return statement("logup", 8).prove(FAST).to_bytes()


def test_round_trip_is_exact(proof_bytes: bytes) -> None:
    p = Proof.from_bytes(proof_bytes)
    assert p.to_bytes() == proof_bytes
    assert p.size() == len(proof_bytes)
    assert proof_bytes.startswith(MAGIC)


def test_every_truncation_is_a_format_error(proof_bytes: bytes) -> None:
    spans = Proof.from_bytes(proof_bytes).layout()
    cuts = (
        {0, 1, len(proof_bytes) - 1}
        | {s for _, s, _ in spans}
        | {(s + e) // 2 for _, s, e in spans}
    )
    for cut in sorted(cuts):
        if cut >= len(proof_bytes):
            continue
        with pytest.raises(ProofFormatError):
            Proof.from_bytes(proof_bytes[:cut])


def test_trailing_bytes_and_bad_magic(proof_bytes: bytes) -> None:
    with pytest.raises(ProofFormatError, match="trailing"):
        Proof.from_bytes(proof_bytes + b"\x00")
    with pytest.raises(ProofFormatError, match="magic"):
        Proof.from_bytes(b"X" + proof_bytes[1:])


def test_non_canonical_element_is_rejected(proof_bytes: bytes) -> None:
    spans = Proof.from_bytes(proof_bytes).layout()
    _name, start, _end = next(s for s in spans if s[0] == "table0.main_rows")
    bad = bytearray(proof_bytes)
    off = start + 1 + 4 * 2  # ndim byte, two dims, then the first element
    bad[off : off + 4] = struct.pack("<I", 0xFFFFFFFF)
    with pytest.raises(ProofFormatError, match="non-canonical"):
        Proof.from_bytes(bytes(bad))


def test_huge_declared_dimensions_fail_before_allocating(proof_bytes: bytes) -> None:
    spans = Proof.from_bytes(proof_bytes).layout()
    _, start, _ = next(s for s in spans if s[0] == "table0.main_paths")
    bad = bytearray(proof_bytes)
    bad[start + 1 : start + 13] = struct.pack("<3I", 1 << 30, 1 << 30, 8)
    with pytest.raises(ProofFormatError, match="longer than the proof"):
        Proof.from_bytes(bytes(bad))


def test_garbage_is_a_format_error() -> None:
    for junk in (b"", b"\x00" * 10, MAGIC + b"\xff" * 40):
        with pytest.raises(ProofFormatError):
            Proof.from_bytes(junk)


def test_size_by_part_accounts_for_every_byte(proof_bytes: bytes) -> None:
    p = Proof.from_bytes(proof_bytes)
    parts = p.size_by_part()
    assert sum(parts.values()) == len(proof_bytes)
    assert {"main_paths", "fri_paths", "fri_rows", "final_poly"} <= set(parts)
