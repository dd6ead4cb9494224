"""BLS12-381 signatures, Ethereum's proof-of-possession ciphersuite.

milagro_bls_binding is the hot path (Sign, Verify, Aggregate, FastAggregateVerify); it uses
the POP domain-separation tag `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`, so its bytes are
the bytes of py_ecc's `G2ProofOfPossession` (tests check this). py_ecc is only used where
milagro has no function: key generation from a seed (HKDF, cheap) and proofs of possession
(once per validator when a validator set is admitted).

Every function here takes untrusted bytes: lengths are checked first and a bad point makes the
verification return False, never raise from inside the binding.
"""

from __future__ import annotations

from collections.abc import Sequence

import milagro_bls_binding as milagro
from eth_typing import BLSPubkey, BLSSignature
from py_ecc.bls.ciphersuites import G2ProofOfPossession as _PyEccPop

from consensus.errors import InvalidSignature

PUBKEY_LEN = 48
SIGNATURE_LEN = 96
SECRET_KEY_LEN = 32

# The curve order r: a secret key is an integer in [1, r).
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

# Compressed encodings of the points at infinity; a public key must never be one.
_INFINITY_PUBKEY = b"\xc0" + b"\x00" * (PUBKEY_LEN - 1)


def keygen(seed: bytes) -> bytes:
    """Derive a 32-byte secret key from at least 32 bytes of seed (IETF KeyGen, HKDF)."""
    if len(seed) < 32:
        raise ValueError("BLS KeyGen needs a seed of at least 32 bytes")
    return int(_PyEccPop.KeyGen(seed)).to_bytes(SECRET_KEY_LEN, "big")


def _check_secret(secret_key: bytes) -> None:
    if len(secret_key) != SECRET_KEY_LEN:
        raise ValueError("a BLS secret key is 32 bytes")
    k = int.from_bytes(secret_key, "big")
    if not 0 < k < CURVE_ORDER:
        raise ValueError("a BLS secret key must be in [1, r)")


def secret_to_public(secret_key: bytes) -> bytes:
    _check_secret(secret_key)
    return bytes(milagro.SkToPk(secret_key))


def sign(secret_key: bytes, message: bytes) -> bytes:
    _check_secret(secret_key)
    return bytes(milagro.Sign(secret_key, message))


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != PUBKEY_LEN or len(signature) != SIGNATURE_LEN:
        return False
    if public_key == _INFINITY_PUBKEY:
        return False
    try:
        return bool(milagro.Verify(public_key, message, signature))
    except Exception:  # the binding must never turn hostile bytes into a crash
        return False


def aggregate(signatures: Sequence[bytes]) -> bytes:
    """Aggregate signatures; raises InvalidSignature for an empty list or a malformed point."""
    if not signatures:
        raise InvalidSignature("cannot aggregate zero signatures")
    if any(len(s) != SIGNATURE_LEN for s in signatures):
        raise InvalidSignature("a signature is not 96 bytes")
    try:
        out = bytes(milagro.Aggregate(list(signatures)))
    except Exception as exc:
        raise InvalidSignature(f"aggregation failed: {exc}") from exc
    if len(out) != SIGNATURE_LEN:
        raise InvalidSignature("aggregation returned a malformed signature")
    return out


def fast_aggregate_verify(public_keys: Sequence[bytes], message: bytes, signature: bytes) -> bool:
    """All keys signed the same message. Safe only for keys whose possession was proven."""
    if not public_keys or len(signature) != SIGNATURE_LEN:
        return False
    if any(len(pk) != PUBKEY_LEN or pk == _INFINITY_PUBKEY for pk in public_keys):
        return False
    try:
        return bool(milagro.FastAggregateVerify(list(public_keys), message, signature))
    except Exception:
        return False


def key_validate(public_key: bytes) -> bool:
    """The key decodes to a point of the G1 subgroup other than the identity."""
    if len(public_key) != PUBKEY_LEN or public_key == _INFINITY_PUBKEY:
        return False
    try:
        return bool(_PyEccPop.KeyValidate(BLSPubkey(public_key)))
    except Exception:
        return False


def pop_prove(secret_key: bytes) -> bytes:
    """Proof of possession of a secret key: required before a key joins a validator set,
    because FastAggregateVerify is forgeable with rogue keys otherwise."""
    _check_secret(secret_key)
    return bytes(_PyEccPop.PopProve(int.from_bytes(secret_key, "big")))


def pop_verify(public_key: bytes, proof: bytes) -> bool:
    if len(public_key) != PUBKEY_LEN or len(proof) != SIGNATURE_LEN:
        return False
    try:
        return bool(_PyEccPop.PopVerify(BLSPubkey(public_key), BLSSignature(proof)))
    except Exception:
        return False
