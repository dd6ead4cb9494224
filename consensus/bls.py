"""BLS12-381 signatures, Ethereum's proof-of-possession ciphersuite.

milagro_bls_binding is the hot path (Sign, Verify, Aggregate, FastAggregateVerify); it uses
the POP domain-separation tag `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_`, so its bytes are
the bytes of py_ecc's `G2ProofOfPossession` (tests check this). KeyGen is the IETF HKDF
construction written out here (tests compare it with py_ecc's). py_ecc is only used where
milagro has no function, key validation and proofs of possession (once per validator when a
validator set is admitted), and is imported on first use: importing it costs about a second.

Every function here takes untrusted bytes: lengths are checked first and a bad point makes the
verification return False, never raise from inside the binding.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Sequence
from typing import Any

with warnings.catch_warnings():
    # Upstream marks the binding deprecated (unmaintained); docs/consensus.md says why it is
    # still used and how to swap it (this module is its only importer).
    warnings.simplefilter("ignore", DeprecationWarning)
    import milagro_bls_binding as milagro

from consensus.errors import InvalidSignature

PUBKEY_LEN = 48
SIGNATURE_LEN = 96
SECRET_KEY_LEN = 32

# The curve order r: a secret key is an integer in [1, r).
CURVE_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001

# Compressed encodings of the points at infinity; a public key must never be one.
_INFINITY_PUBKEY = b"\xc0" + b"\x00" * (PUBKEY_LEN - 1)


def _py_ecc() -> Any:
    from py_ecc.bls.ciphersuites import G2ProofOfPossession

    return G2ProofOfPossession


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
        return bool(_py_ecc().KeyValidate(public_key))
    except Exception:
        return False


def pop_prove(secret_key: bytes) -> bytes:
    """Proof of possession of a secret key: required before a key joins a validator set,
    because FastAggregateVerify is forgeable with rogue keys otherwise."""
    _check_secret(secret_key)
    return bytes(_py_ecc().PopProve(int.from_bytes(secret_key, "big")))


def pop_verify(public_key: bytes, proof: bytes) -> bool:
    if len(public_key) != PUBKEY_LEN or len(proof) != SIGNATURE_LEN:
        return False
    try:
        return bool(_py_ecc().PopVerify(public_key, proof))
    except Exception:
        return False
