"""BLS12-381 primitives of Ethereum's proof-of-possession ciphersuite, on py-arkworks-bls12381.

This module lives in `genesis` rather than in `consensus` because both need it and the
dependency points one way (consensus imports genesis): genesis creates validator keys and
checks their proofs of possession, consensus signs and verifies votes and commits with the
same point decoding. `consensus.bls` is the consensus-facing API built on these functions.

The rules follow draft-irtf-cfrg-bls-signature-05 (the ciphersuite
`BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`), as the Ethereum consensus specs use it:
- public keys are compressed G1 points (48 bytes), signatures compressed G2 points (96 bytes),
  in the zcash encoding; only the canonical encoding of a point is accepted (arkworks alone
  also accepts an infinity flag followed by junk bits, py_ecc does not);
- KeyValidate: the key decodes, lies in the order-r subgroup and is not the identity;
- a signature decodes and lies in the order-r subgroup (the identity is a valid point; it
  never verifies against a valid key);
- proofs of possession sign the public key bytes under the POP tag
  `BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`.
py_ecc's `G2ProofOfPossession` is the reference in the tests (same bytes, same decisions).

Every function that takes a point takes untrusted bytes: a bad encoding gives None or False,
never an exception from inside the binding.
"""

from __future__ import annotations

from functools import lru_cache

from py_arkworks_bls12381 import GT, G1Point, G2Point, Scalar

PUBKEY_LEN = 48
SIGNATURE_LEN = 96
SECRET_KEY_LEN = 32

# The order r of G1 and G2: a secret key is an integer in [1, r).
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

SIGNATURE_DST = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"
POP_DST = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_"

_G1_GENERATOR = G1Point()
_NEG_G1_GENERATOR = -_G1_GENERATOR
_G1_IDENTITY = G1Point.identity()


def secret_scalar(secret_key: bytes) -> Scalar:
    """The secret key as a scalar; ValueError unless it is 32 bytes encoding [1, r)."""
    if len(secret_key) != SECRET_KEY_LEN:
        raise ValueError("a BLS secret key is 32 bytes")
    k = int.from_bytes(secret_key, "big")
    # Scalar() reduces modulo r silently, so the range is checked here.
    if not 0 < k < CURVE_ORDER:
        raise ValueError("a BLS secret key must be in [1, r)")
    return Scalar(k)


# Validators' keys recur in every vote and commit: the subgroup check is paid once per key.
# Bounded, so hostile keys can only evict entries, not grow memory.
def decode_public_key(data: bytes) -> G1Point | None:
    """The G1 point of a public key that passes KeyValidate, else None."""
    if len(data) != PUBKEY_LEN:
        return None
    return _decode_public_key(bytes(data))  # bytes(): a hashable cache key


@lru_cache(maxsize=4096)
def _decode_public_key(data: bytes) -> G1Point | None:
    try:
        # Unchecked decoding still checks the flags, x < p and that the point is on the
        # curve; the subgroup check is made explicitly below.
        point = G1Point.from_compressed_bytes_unchecked(data)
    except ValueError:
        return None
    # Canonical encoding only: one point, one byte string.
    if point.to_compressed_bytes() != data:
        return None
    # KeyValidate: not the identity, and in the order-r subgroup.
    if point == _G1_IDENTITY or not point.is_in_subgroup():
        return None
    return point


def decode_signature(data: bytes) -> G2Point | None:
    """The G2 point of a signature (signature_to_point plus the subgroup check), else None."""
    if len(data) != SIGNATURE_LEN:
        return None
    try:
        point = G2Point.from_compressed_bytes_unchecked(data)
    except ValueError:
        return None
    # Canonical encoding only.
    if point.to_compressed_bytes() != data:
        return None
    # signature_subgroup_check.
    if not point.is_in_subgroup():
        return None
    return point


def key_validate(public_key: bytes) -> bool:
    return decode_public_key(public_key) is not None


def secret_to_public(secret_key: bytes) -> bytes:
    """SkToPk: SK * G1, compressed. ValueError for a secret key outside [1, r)."""
    return bytes((_G1_GENERATOR * secret_scalar(secret_key)).to_compressed_bytes())


def core_sign(secret_key: bytes, message: bytes, dst: bytes) -> bytes:
    """CoreSign: SK * hash_to_curve(message, dst), compressed."""
    scalar = secret_scalar(secret_key)
    return bytes((G2Point.hash_to_curve(message, dst) * scalar).to_compressed_bytes())


def core_verify_points(public_key: G1Point, message: bytes, signature: G2Point, dst: bytes) -> bool:
    """CoreVerify on decoded, validated points: e(PK, H(m)) == e(G1, sig), checked as one
    product of two pairings equal to 1."""
    hashed = G2Point.hash_to_curve(message, dst)
    return bool(GT.pairing_check([public_key, _NEG_G1_GENERATOR], [hashed, signature]))


def core_verify(public_key: bytes, message: bytes, signature: bytes, dst: bytes) -> bool:
    pk = decode_public_key(public_key)
    sig = decode_signature(signature)
    if pk is None or sig is None:
        return False
    return core_verify_points(pk, message, sig, dst)


def pop_prove(secret_key: bytes) -> bytes:
    """PopProve: a signature of the public key bytes under the POP tag. A validator key needs
    one before it joins a set, because FastAggregateVerify is forgeable with rogue keys."""
    return core_sign(secret_key, secret_to_public(secret_key), POP_DST)


def pop_verify(public_key: bytes, proof: bytes) -> bool:
    """PopVerify: KeyValidate(PK), the proof decodes into the subgroup, and it signs PK."""
    return core_verify(public_key, public_key, proof, POP_DST)
