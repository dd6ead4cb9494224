"""The proof envelope: a prover's signature over the task proof it sends.

A prover signs every task proof it publishes with the secp256k1 key of its prover account (the
account that sent the registration, whose address is the prover address; a node reads it from
`config/prover_key.json`). The signature is a recoverable ECDSA signature (r || s || v, 65
bytes, low s) over

    keccak256(b"ivcnet-proof-v2" || genesis_hash (32) || task_id (32) || prover (20)
              || keccak256(proof))

The tag makes the message one that no transaction (whose signing hash starts with the type
byte 0x02) and no other ivcnet signature can be (every field after it has a fixed length, so
the layout is unambiguous). The genesis hash (genesis.Genesis.hash, which covers the chain id
and every parameter) keeps a proof signed on one chain from convicting its prover on another:
v1 bound the chain id only, and two chains of one chain id (devnets, a testnet restarted from
a new genesis) share task ids whenever one account sends the same task at the same nonce. The chain learns nothing new: the key that signs is the
one whose address is registered, so recovering the signer and comparing it with the prover
address is the whole check (no key registry, no extra transaction field).

The signature makes a proof attributable: a proof that fails verification against its task,
with a valid envelope of X, shows that X published it (execution.staking.proof_evidence).
"""

from __future__ import annotations

import coincurve

from execution.types.hashing import keccak256
from genesis.keys import SECP256K1_N

PROOF_MESSAGE_TAG = b"ivcnet-proof-v2"
GENESIS_HASH_LEN = 32
SIGNATURE_LEN = 65
TASK_ID_LEN = 32
ADDRESS_LEN = 20


class BadEnvelope(Exception):
    """A proof envelope whose signature is missing, malformed or not the prover's."""


def proof_message(genesis_hash: bytes, task_id: bytes, prover: bytes, proof: bytes) -> bytes:
    """The 32-byte digest a prover signs for `proof` of `task_id` on the chain of
    `genesis_hash`."""
    if len(task_id) != TASK_ID_LEN or len(prover) != ADDRESS_LEN:
        raise BadEnvelope("a task id has 32 bytes and a prover address 20")
    # Fail closed: a caller that lacks the genesis hash convicts nobody.
    if len(genesis_hash) != GENESIS_HASH_LEN:
        raise BadEnvelope(f"a genesis hash has 32 bytes, not {len(genesis_hash)}")
    return keccak256(PROOF_MESSAGE_TAG + genesis_hash + task_id + prover + keccak256(proof))


def sign_proof(private_key: bytes, genesis_hash: bytes, task_id: bytes, proof: bytes) -> bytes:
    """The envelope signature of the account of `private_key` over `proof` of `task_id`."""
    key = coincurve.PrivateKey(private_key)
    prover = keccak256(key.public_key.format(compressed=False)[1:])[12:]
    sig = key.sign_recoverable(proof_message(genesis_hash, task_id, prover, proof), hasher=None)
    s = int.from_bytes(sig[32:64], "big")
    if s > SECP256K1_N // 2:  # coincurve already normalizes; keep the rule explicit
        raise BadEnvelope("coincurve returned a high-s signature")
    return bytes(sig)


def proof_signer(
    genesis_hash: bytes, task_id: bytes, prover: bytes, proof: bytes, signature: bytes
) -> bytes:
    """The address that signed the envelope; BadEnvelope if the signature is malformed."""
    # Rule: 65 bytes, r and s in range with s low (one signature per message and key), v 0/1.
    if len(signature) != SIGNATURE_LEN:
        raise BadEnvelope(f"a signature has {SIGNATURE_LEN} bytes, not {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2) or signature[64] > 1:
        raise BadEnvelope("signature values out of range")
    message = proof_message(genesis_hash, task_id, prover, proof)
    try:
        pub = coincurve.PublicKey.from_signature_and_message(signature, message, hasher=None)
    except Exception as exc:  # coincurve raises plain Exception on bad signatures
        raise BadEnvelope(f"signature does not recover: {exc}") from exc
    return keccak256(pub.format(compressed=False)[1:])[12:]


def check_envelope(
    genesis_hash: bytes, task_id: bytes, prover: bytes, proof: bytes, signature: bytes
) -> None:
    """Raise BadEnvelope unless `signature` is `prover`'s over `proof` of `task_id`."""
    # Rule: the envelope is signed by the prover it names.
    if proof_signer(genesis_hash, task_id, prover, proof, signature) != prover:
        raise BadEnvelope("the envelope is not signed by the prover it names")
