"""The owner signature of a bond: the validator key signs the chain and the owner it bonds for.

A bond carries `bond_sign(sk, chain_id, owner)`, a BLS signature by the validator key over

    b"ivcnet-bond-v1" || chain_id (8 bytes, big-endian) || owner (20 bytes) || public key (48)

hashed to G2 under `BOND_DST`, a tag used for nothing else (votes and commits use the POP
ciphersuite's signature tag, proofs of possession its POP tag), so a bond signature is never a
valid vote or proof of possession and no vote or proof of possession is a valid bond signature.
Copied from the mempool and sent by another account (or to another chain) it does not verify:
the bond cannot be front-run.

It replaces the proof of possession in the payload and serves as one: it is a signature by
the key over a message that contains the key, under a hash (DST) no other signature uses, which
is what a proof of possession is (Ristenpart-Yilek; Ethereum's deposit signature over
(pubkey, withdrawal credentials, amount) is the proof of possession of beacon validators the
same way). A rogue key (one made from another's key, whose secret nobody knows) cannot produce
it, so aggregate commits stay safe, and a first bond still costs one pairing, not two.
"""

from __future__ import annotations

from genesis import bls_native

BOND_MESSAGE_TAG = b"ivcnet-bond-v1"
# A hash-to-curve tag of its own (RFC 9380 section 3.1: one tag per use).
BOND_DST = b"IVCNET-BOND-V1_BLS12381G2_XMD:SHA-256_SSWU_RO_"

OWNER_LEN = 20


def bond_message(chain_id: int, owner: bytes, bls_public_key: bytes) -> bytes:
    """The signed bytes; ValueError for an owner that is not 20 bytes or a chain id that does
    not fit 8 bytes (a transaction's chain id is checked against the node's before this)."""
    if len(owner) != OWNER_LEN:
        raise ValueError("a bond owner is a 20-byte address")
    if not 0 <= chain_id < 1 << 64:
        raise ValueError("a chain id fits 8 bytes")
    return BOND_MESSAGE_TAG + chain_id.to_bytes(8, "big") + owner + bls_public_key


def bond_sign(secret_key: bytes, chain_id: int, owner: bytes) -> bytes:
    """The bond signature of BLS `secret_key` for `owner` on `chain_id` (96 bytes)."""
    public_key = bls_native.secret_to_public(secret_key)
    return bls_native.core_sign(secret_key, bond_message(chain_id, owner, public_key), BOND_DST)


def bond_verify(bls_public_key: bytes, chain_id: int, owner: bytes, signature: bytes) -> bool:
    """KeyValidate(key), the signature in the G2 subgroup, and it signs this chain and owner
    (one pairing check, ~7 ms). False for any malformed input."""
    try:
        message = bond_message(chain_id, owner, bls_public_key)
    except ValueError:
        return False
    return bls_native.core_verify(bls_public_key, message, signature, BOND_DST)
