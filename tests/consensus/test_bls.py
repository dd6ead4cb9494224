"""milagro (hot path) against py_ecc's G2ProofOfPossession (reference): same bytes out."""

from __future__ import annotations

import pytest
from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEcc

from consensus import bls
from consensus.errors import InvalidSignature

SK = bls.keygen(b"\x07" * 32)
MSG = b"ivcnet consensus known answer"

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


def test_known_answer() -> None:
    assert bls.secret_to_public(KAT_SK) == KAT_PK
    assert bls.sign(KAT_SK, b"\x00" * 32) == KAT_SIG
    assert bls.verify(KAT_PK, b"\x00" * 32, KAT_SIG)
    assert not bls.verify(KAT_PK, b"\x01" + b"\x00" * 31, KAT_SIG)


def test_keygen_matches_py_ecc() -> None:
    for seed, info in ((b"\x01" * 32, b""), (b"\xab" * 47, b"ivcnet"), (bytes(range(64)), b"")):
        assert bls.keygen(seed, info) == PyEcc.KeyGen(seed, info).to_bytes(32, "big")


def test_secret_to_public_matches_py_ecc() -> None:
    for seed in (b"\x01" * 32, b"\x02" * 32, b"\xff" * 40):
        sk = bls.keygen(seed)
        assert bls.secret_to_public(sk) == PyEcc.SkToPk(int.from_bytes(sk, "big"))


def test_sign_bytes_identical_to_py_ecc() -> None:
    for msg in (b"", MSG, b"\x00" * 200):
        assert bls.sign(SK, msg) == PyEcc.Sign(int.from_bytes(SK, "big"), msg)


def test_milagro_signature_verifies_under_py_ecc() -> None:
    sig = bls.sign(SK, MSG)
    assert PyEcc.Verify(bls.secret_to_public(SK), MSG, sig)
    assert bls.verify(bls.secret_to_public(SK), MSG, sig)


def test_aggregate_identical_and_fast_aggregate_verify_matches_py_ecc() -> None:
    sks = [bls.keygen(bytes([i]) * 32) for i in range(1, 5)]
    pks = [bls.secret_to_public(k) for k in sks]
    sigs = [bls.sign(k, MSG) for k in sks]
    agg = bls.aggregate(sigs)
    assert agg == PyEcc.Aggregate(sigs)
    assert bls.fast_aggregate_verify(pks, MSG, agg)
    assert PyEcc.FastAggregateVerify(pks, MSG, agg)
    # Missing one signer: both libraries reject.
    assert not bls.fast_aggregate_verify(pks[:3], MSG, agg)


def test_proof_of_possession_round_trip() -> None:
    proof = bls.pop_prove(SK)
    pk = bls.secret_to_public(SK)
    assert bls.pop_verify(pk, proof)
    other = bls.secret_to_public(bls.keygen(b"\x09" * 32))
    assert not bls.pop_verify(other, proof)


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


def test_empty_and_malformed_aggregation_raise_typed_error() -> None:
    with pytest.raises(InvalidSignature):
        bls.aggregate([])
    with pytest.raises(InvalidSignature):
        bls.aggregate([b"\x01" * 95])
    assert not bls.fast_aggregate_verify([], MSG, bls.sign(SK, MSG))


def test_secret_key_range_checked() -> None:
    with pytest.raises(ValueError):
        bls.sign(b"\x00" * 32, MSG)
    with pytest.raises(ValueError):
        bls.sign(bls.CURVE_ORDER.to_bytes(32, "big"), MSG)
    with pytest.raises(ValueError):
        bls.keygen(b"short")
