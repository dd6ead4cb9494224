"""consensus.bls (py-arkworks-bls12381) against py_ecc's G2ProofOfPossession (reference): the
same bytes out, the same accept/reject decisions, and Ethereum's known answer.

Encodings (infinity variants, flags, x >= p, off-curve and non-subgroup points) are compared
exhaustively with py_ecc in tests/genesis/test_bls_native.py, where the decoding lives; here
the operations built on it. py_ecc costs 0.5-2 s per signature or pairing, so the default
run samples a few seeded keys and the slow run many.
"""

from __future__ import annotations

import random

import pytest
from py_arkworks_bls12381 import G1Point, G2Point
from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEcc
from py_ecc.optimized_bls12_381 import field_modulus as FIELD_P

from consensus import bls
from consensus.errors import InvalidSignature

SK = bls.keygen(b"\x07" * 32)
MSG = b"ivcnet consensus known answer"
G1_INFINITY = b"\xc0" + bytes(47)
G2_INFINITY = b"\xc0" + bytes(95)

# Known answer from Ethereum's BLS test vectors (ethereum/bls12-381-tests, `sign` case with
# this key and a 32-byte zero message): pins the ciphersuite (POP DST, hash-to-curve).
KAT_SK = bytes.fromhex("263dbd792f5b1be47ed85f8938c0f29586af0d3ac7b977f21c278fe1462040e3")
KAT_PK = bytes.fromhex(
    "a491d1b0ecd9bb917989f0e74f0dea0422eac4a873e5e2644f368dffb9a6e20f"
    "d6e10c1b77654d067c0618f6e5a7f79a"
)
KAT_SIG = bytes.fromhex(
    "b6ed936746e01f8ecf281f020953fbf1f01debd5657c4a383940b020b26507f6"
    "076334f91e2366c96e9ab279fb5158090352ea1c5b0c9274504f4f0e7053af24"
    "802e51e4568d164fe986834f41e55c8e850ce1f98458c0cfc9ab380b55285a55"
)


def seeded_cases(seed: int, n: int) -> list[tuple[bytes, bytes]]:
    """(secret key, message) pairs: random keys in [1, r), messages of 0 to 300 bytes."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sk = rng.randrange(1, bls.CURVE_ORDER).to_bytes(32, "big")
        out.append((sk, rng.randbytes(rng.choice((0, 1, 32, 80, 300)))))
    return out


def non_subgroup_signature(seed: int) -> bytes:
    """A canonical encoding of a G2 curve point outside the order-r subgroup."""
    rng = random.Random(seed)
    while True:
        x1 = rng.randrange(FIELD_P) | (1 << 383)
        raw = x1.to_bytes(48, "big") + rng.randrange(FIELD_P).to_bytes(48, "big")
        try:
            p = G2Point.from_compressed_bytes_unchecked(raw)
        except ValueError:
            continue
        if not p.is_in_subgroup():
            return bytes(p.to_compressed_bytes())


def negate_g1(pk: bytes) -> bytes:
    return bytes((-G1Point.from_compressed_bytes(pk)).to_compressed_bytes())


def test_known_answer() -> None:
    assert bls.secret_to_public(KAT_SK) == KAT_PK
    assert bls.sign(KAT_SK, b"\x00" * 32) == KAT_SIG
    assert bls.verify(KAT_PK, b"\x00" * 32, KAT_SIG)
    assert not bls.verify(KAT_PK, b"\x01" + b"\x00" * 31, KAT_SIG)


def test_keygen_matches_py_ecc() -> None:
    for seed, info in ((b"\x01" * 32, b""), (b"\xab" * 47, b"ivcnet"), (bytes(range(64)), b"")):
        assert bls.keygen(seed, info) == PyEcc.KeyGen(seed, info).to_bytes(32, "big")


def test_secret_to_public_matches_py_ecc() -> None:
    for sk, _ in seeded_cases(1, 32):
        assert bls.secret_to_public(sk) == PyEcc.SkToPk(int.from_bytes(sk, "big"))


def _check_sign_and_verify(sk: bytes, msg: bytes) -> None:
    pk = bls.secret_to_public(sk)
    sig = bls.sign(sk, msg)
    assert sig == PyEcc.Sign(int.from_bytes(sk, "big"), msg)
    wrong = msg + b"\x00"
    cases = [(pk, msg, sig, True), (pk, wrong, sig, False)]
    for pk_, msg_, sig_, expected in cases:
        assert bls.verify(pk_, msg_, sig_) is expected
        assert bool(PyEcc.Verify(pk_, msg_, sig_)) is expected


@pytest.mark.parametrize(("sk", "msg"), seeded_cases(2, 2), ids=["seed2-0", "seed2-1"])
def test_sign_and_verify_match_py_ecc(sk: bytes, msg: bytes) -> None:
    _check_sign_and_verify(sk, msg)


@pytest.mark.slow
@pytest.mark.parametrize(("sk", "msg"), seeded_cases(3, 16), ids=[f"seed3-{i}" for i in range(16)])
def test_sign_and_verify_match_py_ecc_many(sk: bytes, msg: bytes) -> None:
    _check_sign_and_verify(sk, msg)


def test_verify_decisions_match_py_ecc_on_forgeries() -> None:
    """Each forgery is refused by both libraries; the cheap ones are decided by decoding."""
    pk = bls.secret_to_public(SK)
    sig = bls.sign(SK, MSG)
    other_pk = bls.secret_to_public(bls.keygen(b"\x09" * 32))
    flipped = sig[:50] + bytes([sig[50] ^ 0x04]) + sig[51:]
    forgeries = [
        (other_pk, MSG, sig),  # another key
        (pk, MSG, bytes([sig[0] ^ 0x20]) + sig[1:]),  # -sig: a valid point, wrong equation
        (pk, MSG, flipped),
        (pk, MSG, G2_INFINITY),  # the identity is in the subgroup; the pairing refuses it
        (G1_INFINITY, MSG, G2_INFINITY),  # KeyValidate refuses the identity key
        (pk, MSG, non_subgroup_signature(1)),
        (negate_g1(pk), MSG, sig),
    ]
    for pk_, msg_, sig_ in forgeries:
        assert not bls.verify(pk_, msg_, sig_)
        assert not PyEcc.Verify(pk_, msg_, sig_)


def test_signature_outside_subgroup_is_refused_even_when_the_equation_could_hold() -> None:
    """sig + T for a point T outside the subgroup: only the subgroup check stops it."""
    pk = bls.secret_to_public(SK)
    sig = G2Point.from_compressed_bytes(bls.sign(SK, MSG))
    torsioned = bytes(
        (
            sig + G2Point.from_compressed_bytes_unchecked(non_subgroup_signature(2))
        ).to_compressed_bytes()
    )
    assert not bls.verify(pk, MSG, torsioned)
    assert not bls.fast_aggregate_verify([pk], MSG, torsioned)
    with pytest.raises(InvalidSignature):
        bls.aggregate([torsioned])


def test_aggregate_identical_and_fast_aggregate_verify_matches_py_ecc() -> None:
    sks = [bls.keygen(bytes([i]) * 32) for i in range(1, 5)]
    pks = [bls.secret_to_public(k) for k in sks]
    sigs = [bls.sign(k, MSG) for k in sks]
    for n in (1, 2, 4):
        assert bls.aggregate(sigs[:n]) == PyEcc.Aggregate(sigs[:n])
    agg = bls.aggregate(sigs)
    assert bls.aggregate([*sigs, G2_INFINITY]) == agg  # the identity adds nothing
    cases = [
        (pks, agg, True),
        (pks[:3], agg, False),  # one signer missing
        (pks[::-1], agg, True),  # order does not matter
    ]
    for pks_, agg_, expected in cases:
        assert bls.fast_aggregate_verify(pks_, MSG, agg_) is expected
        assert bool(PyEcc.FastAggregateVerify(pks_, MSG, agg_)) is expected


def test_fast_aggregate_verify_refusals_match_py_ecc() -> None:
    """The refusals py_ecc decides before any pairing: cheap to compare, and each one a rule."""
    pk = bls.secret_to_public(SK)
    sig = bls.sign(SK, MSG)
    bad_lists = [
        [],  # no keys
        [pk, G1_INFINITY],  # an identity key among valid ones
        [pk, b"\xc0" + bytes(46) + b"\x01"],  # a malformed key
        [pk, negate_g1(pk)],  # valid keys whose sum is the identity
    ]
    for pks in bad_lists:
        assert not bls.fast_aggregate_verify(pks, MSG, sig)
        assert not PyEcc.FastAggregateVerify(pks, MSG, sig)
    # Rogue sum: with the identity signature the pairing equation e(0, H) = e(G1, 0) holds,
    # so only the identity-aggregate rule refuses this.
    assert not bls.fast_aggregate_verify([pk, negate_g1(pk)], MSG, G2_INFINITY)
    assert not PyEcc.FastAggregateVerify([pk, negate_g1(pk)], MSG, G2_INFINITY)


def test_aggregate_rules() -> None:
    sig = bls.sign(SK, MSG)
    with pytest.raises(InvalidSignature):
        bls.aggregate([])
    for bad in (sig[:95], b"\xc0" + bytes(94) + b"\x01", b"\xff" * 96, non_subgroup_signature(3)):
        with pytest.raises(InvalidSignature):
            bls.aggregate([sig, bad])
    # Deliberately stricter than py_ecc, whose Aggregate only decodes: a point outside the
    # subgroup is refused here (py_ecc's FastAggregateVerify would refuse the result later).
    assert PyEcc.Aggregate([sig, non_subgroup_signature(3)])


def test_proof_of_possession_round_trip() -> None:
    proof = bls.pop_prove(SK)
    pk = bls.secret_to_public(SK)
    assert bls.pop_verify(pk, proof)
    assert proof != bls.sign(SK, pk)  # separate domain tags
    assert not bls.verify(pk, pk, proof)
    other = bls.secret_to_public(bls.keygen(b"\x09" * 32))
    assert not bls.pop_verify(other, proof)


def test_key_validate() -> None:
    pk = bls.secret_to_public(SK)
    assert bls.key_validate(pk)
    assert bls.key_validate(negate_g1(pk))
    for bad in (
        G1_INFINITY,
        b"\x80" + bytes(47),
        pk[:47],
        b"\xff" * 48,
        bytes([pk[0] ^ 0x40]) + pk[1:],
    ):
        assert not bls.key_validate(bad)
        assert not PyEcc.KeyValidate(bad)


@pytest.mark.parametrize(
    ("pk", "sig"),
    [
        (b"", b""),
        (b"\x00" * 48, b"\x00" * 96),
        (b"\xc0" + b"\x00" * 47, b"\xc0" + b"\x00" * 95),  # points at infinity
        (b"\xff" * 48, b"\xff" * 96),
        (b"\x01" * 47, b"\x01" * 96),
    ],
)
def test_hostile_bytes_are_rejected_not_crashing(pk: bytes, sig: bytes) -> None:
    good_pk = bls.secret_to_public(SK)
    good_sig = bls.sign(SK, MSG)
    assert not bls.verify(pk, MSG, good_sig)
    assert not bls.verify(good_pk, MSG, sig)
    assert not bls.fast_aggregate_verify([pk], MSG, good_sig)
    assert not bls.fast_aggregate_verify([good_pk], MSG, sig)
    assert not bls.key_validate(pk)
    assert not bls.pop_verify(pk, bls.pop_prove(SK))


def test_secret_key_range_checked() -> None:
    for bad in (b"\x00" * 32, bls.CURVE_ORDER.to_bytes(32, "big"), b"\xff" * 32, b"\x01" * 31):
        with pytest.raises(ValueError):
            bls.sign(bad, MSG)
        with pytest.raises(ValueError):
            bls.secret_to_public(bad)
        with pytest.raises(ValueError):
            bls.pop_prove(bad)
    with pytest.raises(ValueError):
        bls.keygen(b"short")
