"""BLS12-381 signatures, Ethereum's proof-of-possession ciphersuite.

The native backend is py-arkworks-bls12381 through `genesis.bls_native` (point decoding with
the canonical-encoding, subgroup and identity rules, SkToPk, CoreSign/CoreVerify, PopProve /
PopVerify). It lives in genesis because genesis needs SkToPk and proofs of possession too and
must not import consensus; this module adds what only consensus uses (Sign, Verify,
Aggregate, FastAggregateVerify under `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`) and the
HKDF KeyGen. py_ecc's `G2ProofOfPossession` is the reference in the tests: the same bytes
out and the same accept/reject decisions (tests/consensus/test_bls.py).

Every function here takes untrusted bytes: lengths are checked first and a bad point makes the
verification return False, never raise from inside the binding.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from py_arkworks_bls12381 import G1Point, G2Point

from consensus.errors import InvalidSignature
from genesis import bls_native
from genesis.bls_native import (
    CURVE_ORDER,
    PUBKEY_LEN,
    SECRET_KEY_LEN,
    SIGNATURE_DST,
    SIGNATURE_LEN,
    decode_public_key,
    decode_signature,
)

__all__ = [
    "CURVE_ORDER",
    "PUBKEY_LEN",
    "SECRET_KEY_LEN",
    "SIGNATURE_LEN",
    "aggregate",
    "fast_aggregate_verify",
    "key_validate",
    "keygen",
    "pop_prove",
    "pop_verify",
    "secret_to_public",
    "sign",
    "verify",
]

_G1_IDENTITY = G1Point.identity()


def keygen(seed: bytes, key_info: bytes = b"") -> bytes:
    """Derive a 32-byte secret key from at least 32 bytes of seed: KeyGen of
    draft-irtf-cfrg-bls-signature-04 (HKDF-SHA256, L = 48), as py_ecc and Ethereum do."""
    if len(seed) < 32:
        raise ValueError("BLS KeyGen needs a seed of at least 32 bytes")
    salt = b"BLS-SIG-KEYGEN-SALT-"
    sk = 0
    while sk == 0:
        salt = hashlib.sha256(salt).digest()
        prk = hmac.new(salt, seed + b"\x00", hashlib.sha256).digest()
        info = key_info + (48).to_bytes(2, "big")
        okm, block = b"", b""
        for i in range(2):  # ceil(48 / 32) HKDF-Expand blocks
            block = hmac.new(prk, block + info + bytes([i + 1]), hashlib.sha256).digest()
            okm += block
        sk = int.from_bytes(okm[:48], "big") % CURVE_ORDER
    return sk.to_bytes(SECRET_KEY_LEN, "big")


def secret_to_public(secret_key: bytes) -> bytes:
    """SkToPk; ValueError for a secret key that is not 32 bytes in [1, r)."""
    return bls_native.secret_to_public(secret_key)


def sign(secret_key: bytes, message: bytes) -> bytes:
    """Sign (deterministic); ValueError for a secret key that is not 32 bytes in [1, r)."""
    return bls_native.core_sign(secret_key, message, SIGNATURE_DST)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Verify: KeyValidate(PK), the signature in the subgroup, and the pairing equation."""
    return bls_native.core_verify(public_key, message, signature, SIGNATURE_DST)


def aggregate(signatures: Sequence[bytes]) -> bytes:
    """Aggregate signatures; raises InvalidSignature for an empty list or a signature that
    does not decode to a point of the G2 subgroup.

    The subgroup check is stricter than the draft's Aggregate (and py_ecc's), which only
    decode: a sum of points outside the subgroup can land inside it, so an aggregate is
    only built from points that could each have verified."""
    if not signatures:
        raise InvalidSignature("cannot aggregate zero signatures")
    total = G2Point.identity()
    for i, sig in enumerate(signatures):
        point = decode_signature(sig)
        if point is None:
            raise InvalidSignature(f"signature {i} is not a valid G2 subgroup point")
        total = total + point
    return bytes(total.to_compressed_bytes())


def fast_aggregate_verify(public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    """All keys signed the same message. Safe only for keys whose possession was proven.

    As py_ecc (and the Ethereum consensus specs): at least one key, KeyValidate on every
    key, and the aggregate key must not be the identity (Verify's KeyValidate on it)."""
    if not public_keys:
        return False
    total = G1Point.identity()
    for pk in public_keys:
        point = decode_public_key(pk)
        if point is None:
            return False
        total = total + point
    if total == _G1_IDENTITY:
        return False
    sig = decode_signature(signature)
    if sig is None:
        return False
    return bls_native.core_verify_points(total, message, sig, SIGNATURE_DST)


def key_validate(public_key: bytes) -> bool:
    """The key decodes (canonically) to a point of the G1 subgroup other than the identity."""
    return bls_native.key_validate(public_key)


def pop_prove(secret_key: bytes) -> bytes:
    """Proof of possession of a secret key: required before a key joins a validator set,
    because FastAggregateVerify is forgeable with rogue keys otherwise."""
    return bls_native.pop_prove(secret_key)


def pop_verify(public_key: bytes, proof: bytes) -> bool:
    return bls_native.pop_verify(public_key, proof)
