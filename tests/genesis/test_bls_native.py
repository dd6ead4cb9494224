"""genesis.bls_native (py-arkworks-bls12381) against py_ecc's G2ProofOfPossession: the same
bytes out and the same accept/reject decisions on keys, signatures and proofs of possession,
including hostile encodings (infinity with junk bits, wrong flags, x >= p, off the curve,
outside the subgroup)."""

from __future__ import annotations

import functools
import random

import pytest
from py_arkworks_bls12381 import G1Point, G2Point
from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEcc
from py_ecc.bls.g2_primitives import signature_to_G2, subgroup_check
from py_ecc.optimized_bls12_381 import field_modulus as FIELD_P

from genesis import bls_native
from genesis.keys import ValidatorKey, verify_proof_of_possession

SK_A = (0x1234567890ABCDEF * 7919).to_bytes(32, "big")
SK_B = (2**200 + 12345).to_bytes(32, "big")
G1_INFINITY = b"\xc0" + bytes(47)
G2_INFINITY = b"\xc0" + bytes(95)


def _int(sk: bytes) -> int:
    return int.from_bytes(sk, "big")


def _ref_signature_ok(data: bytes) -> bool:
    """py_ecc's signature_to_point plus signature_subgroup_check (as in its CoreVerify)."""
    try:
        return bool(subgroup_check(signature_to_G2(data)))
    except (ValueError, AssertionError):
        return False


def _non_subgroup_g1(rng: random.Random) -> bytes:
    """A canonical encoding of a point on the G1 curve outside the order-r subgroup."""
    while True:
        raw = bytes([0x80 | rng.randrange(0x20)]) + rng.randbytes(47)
        try:
            p = G1Point.from_compressed_bytes_unchecked(raw)
        except ValueError:
            continue
        if not p.is_in_subgroup():
            return bytes(p.to_compressed_bytes())


def _non_subgroup_g2(rng: random.Random) -> bytes:
    while True:
        raw = bytes([0x80 | rng.randrange(0x1A)]) + rng.randbytes(47) + _below_p(rng)
        try:
            p = G2Point.from_compressed_bytes_unchecked(raw)
        except ValueError:
            continue
        if not p.is_in_subgroup():
            return bytes(p.to_compressed_bytes())


def _below_p(rng: random.Random) -> bytes:
    return rng.randrange(FIELD_P).to_bytes(48, "big")


def _x_at_least_p(length: int, tail: bytes = b"") -> bytes:
    # Compression flag set, x = p exactly (not reduced): must be refused, not taken mod p.
    head = (FIELD_P | (1 << 383)).to_bytes(48, "big")
    return head + tail if length == 96 else head


def _off_curve_g1() -> bytes:
    for x in range(1, 1000):
        if pow((x**3 + 4) % FIELD_P, (FIELD_P - 1) // 2, FIELD_P) != 1:
            return (x | (1 << 383)).to_bytes(48, "big")
    raise AssertionError("no x off the curve found")


@functools.cache
def public_key_variants() -> list[bytes]:
    rng = random.Random(11)
    pk = PyEcc.SkToPk(_int(SK_A))
    torsion = G1Point.from_compressed_bytes_unchecked(b"\x80" + bytes(47))  # (0, 2), order 3
    rogue = bytes((G1Point.from_compressed_bytes(pk) + torsion).to_compressed_bytes())
    out = [
        pk,
        bytes(PyEcc.SkToPk(_int(SK_B))),
        G1_INFINITY,
        b"\xc0" + bytes(46) + b"\x01",  # infinity flag with junk x bits
        b"\xe0" + bytes(47),  # infinity with the sign flag
        b"\xff" * 48,
        bytes(48),
        b"\x80" + bytes(47),  # x = 0 without the infinity flag: an order-3 point
        b"\x40" + bytes(47),  # infinity, uncompressed flag
        _x_at_least_p(48),
        _off_curve_g1(),
        rogue,
        _non_subgroup_g1(rng),
        _non_subgroup_g1(rng),
    ]
    for bit in (0x80, 0x40, 0x20):  # each flag toggled on a valid key
        out.append(bytes([pk[0] ^ bit]) + pk[1:])
    for _ in range(12):  # seeded single-byte corruptions
        i = rng.randrange(48)
        out.append(pk[:i] + bytes([pk[i] ^ (1 << rng.randrange(8))]) + pk[i + 1 :])
    return out


@functools.cache
def signature_variants() -> list[bytes]:
    rng = random.Random(12)
    sig = bytes(PyEcc.Sign(_int(SK_A), b"variants"))
    out = [
        sig,
        G2_INFINITY,
        b"\xc0" + bytes(94) + b"\x01",
        b"\xc0" + bytes(46) + b"\x01" + bytes(48),
        b"\xe0" + bytes(95),
        b"\xff" * 96,
        bytes(96),
        b"\x80" + bytes(95),
        _x_at_least_p(96, sig[48:]),
        sig[:48] + FIELD_P.to_bytes(48, "big"),  # real part x0 = p
        sig[:48] + bytes([sig[48] | 0x80]) + sig[49:],  # flag bits set in the second half
        _non_subgroup_g2(rng),
    ]
    for bit in (0x80, 0x40, 0x20):
        out.append(bytes([sig[0] ^ bit]) + sig[1:])
    for _ in range(8):
        i = rng.randrange(96)
        out.append(sig[:i] + bytes([sig[i] ^ (1 << rng.randrange(8))]) + sig[i + 1 :])
    return out


def test_key_validate_agrees_with_py_ecc_on_every_encoding() -> None:
    variants = public_key_variants()
    decisions = [bls_native.key_validate(v) for v in variants]
    assert decisions == [bool(PyEcc.KeyValidate(v)) for v in variants]
    # The list must exercise both answers (and the valid keys are the first two).
    assert decisions[:2] == [True, True] and decisions.count(False) >= 20


def test_signature_decoding_agrees_with_py_ecc_on_every_encoding() -> None:
    variants = signature_variants()
    decisions = [bls_native.decode_signature(v) is not None for v in variants]
    assert decisions == [_ref_signature_ok(v) for v in variants]
    assert decisions[:2] == [True, True]  # a real signature, the identity
    assert decisions.count(False) >= 12


def test_wrong_lengths_are_refused() -> None:
    pk = bls_native.secret_to_public(SK_A)
    for bad in (b"", pk[:47], pk + b"\x00", bytearray(pk[:47])):
        assert not bls_native.key_validate(bytes(bad))
    sig = bls_native.pop_prove(SK_A)
    for bad in (b"", sig[:95], sig + b"\x00"):
        assert bls_native.decode_signature(bad) is None
        assert not bls_native.pop_verify(pk, bad)
    assert bls_native.key_validate(bytearray(pk))  # bytes-like keys still hit the cache


def test_secret_to_public_identical_to_py_ecc() -> None:
    rng = random.Random(5)
    sks = [1, 2, bls_native.CURVE_ORDER - 1] + [
        rng.randrange(1, bls_native.CURVE_ORDER) for _ in range(24)
    ]
    for k in sks:
        assert bls_native.secret_to_public(k.to_bytes(32, "big")) == PyEcc.SkToPk(k)


@pytest.mark.parametrize("k", [0, bls_native.CURVE_ORDER, bls_native.CURVE_ORDER + 1, 2**256 - 1])
def test_secret_key_out_of_range_refused(k: int) -> None:
    # Scalar() would reduce modulo r silently; the range check must come first.
    with pytest.raises(ValueError):
        bls_native.secret_to_public(k.to_bytes(32, "big"))
    with pytest.raises(ValueError):
        bls_native.pop_prove(k.to_bytes(32, "big"))


def test_pop_prove_identical_to_py_ecc() -> None:
    for sk in (SK_A, SK_B):
        assert bls_native.pop_prove(sk) == PyEcc.PopProve(_int(sk))


def test_pop_verify_agrees_with_py_ecc() -> None:
    pk_a, pk_b = bls_native.secret_to_public(SK_A), bls_native.secret_to_public(SK_B)
    proof_a, proof_b = bls_native.pop_prove(SK_A), bls_native.pop_prove(SK_B)
    flipped = proof_a[:-1] + bytes([proof_a[-1] ^ 1])
    # A signature of the key under the signing tag is not a proof of possession.
    wrong_domain = bls_native.core_sign(SK_A, pk_a, bls_native.SIGNATURE_DST)
    cases = [
        (pk_a, proof_a, True),
        (pk_b, proof_b, True),
        (pk_a, proof_b, False),  # another key's proof
        (pk_b, proof_a, False),
        (pk_a, flipped, False),
        (pk_a, G2_INFINITY, False),
        (G1_INFINITY, proof_a, False),
        (G1_INFINITY, G2_INFINITY, False),
        (pk_a, wrong_domain, False),
    ]
    for pk, proof, expected in cases:
        assert bls_native.pop_verify(pk, proof) is expected
        assert verify_proof_of_possession(pk, proof) is expected
        assert bool(PyEcc.PopVerify(pk, proof)) is expected


def test_pop_verify_refuses_every_hostile_proof_and_key() -> None:
    pk = bls_native.secret_to_public(SK_A)
    proof = bls_native.pop_prove(SK_A)
    for bad in signature_variants()[1:]:
        if bad != proof:
            assert not bls_native.pop_verify(pk, bad)
    for bad in public_key_variants():
        if bad != pk:
            assert not bls_native.pop_verify(bad, proof)


def test_validator_key_is_native_and_matches_py_ecc() -> None:
    key = ValidatorKey(SK_B)
    assert key.public_key == PyEcc.SkToPk(_int(SK_B))
    obj = key.to_json()
    pub = bytes.fromhex(obj["public_key"][2:])
    pop = bytes.fromhex(obj["proof_of_possession"][2:])
    assert verify_proof_of_possession(pub, pop)
    assert not verify_proof_of_possession(ValidatorKey(SK_A).public_key, pop)
