"""The gossip and request/response messages of the proving network.

All RLP, canonical (re-encoded and compared on decode: pyrlp accepts a truncated last item),
on the topic /ivcnet/proof-announce/1 (16 KiB limit) and the protocol /ivcnet/proof/1:

    Claim         = rlp([3, prover(20), height, time_ms, [task_id(32), ...], signature(65)])
        the prover is proving these tasks now (`height`: its head, `time_ms`: its clock, in
        Unix milliseconds, strictly increasing per prover); sent when it starts a task and
        every 10 s while it proves (a heartbeat: node.prover.claims), an empty list being a
        presence beacon (how provers learn of each other when no prover set is registered).
        `signature` is the prover account's key over
            keccak256(b"ivcnet-claim-v1" || genesis_hash (32) || prover (20) || height (8)
                      || time_ms (8) || keccak256(task_id || ...))
        (fixed-length fields and a hash of the list: an unambiguous layout; the tag keeps it
        apart from proof envelopes and transactions; the genesis hash from other chains).
        Kind 1 was the unsigned claim; it is refused as an unknown kind.
    Announcement  = rlp([2, task_id(32), prover(20), statement_digest(32), size])
        a proof of the task is in the sender's pool and can be fetched from it
    ProofRequest  = rlp([task_id(32)])
    ProofResponse = rlp([prover(20), task_proof, signature(65)])   (all empty: not held)

`statement_digest` is keccak256 of the statement bytes (execution.zkproof.Statement.to_bytes);
a fetcher refuses a proof whose statement does not hash to it, and `size` bounds what it will
read. `signature` is the prover's envelope (execution.staking.proof_envelope: its account key
over chain id, task id, prover and the proof's hash); a relay serves the author's envelope, never
its own. None of these messages is trusted: the envelope is checked first, and a proof enters a
pool only after it verifies against the task's on-chain record (node.proof_pool); a signed proof
that does not verify becomes invalid-proof evidence (node.evidence_pool).
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
import rlp
from rlp.exceptions import RLPException
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from execution.types.hashing import keccak256
from genesis.keys import SECP256K1_N, AccountKey

KIND_ANNOUNCEMENT = 2
KIND_CLAIM = 3
MAX_CLAIM_TASKS = 256
CLAIM_MESSAGE_TAG = b"ivcnet-claim-v1"
_U64 = 1 << 64
MAX_ANNOUNCED_PROOF_BYTES = 16 << 20

_ID = Binary.fixed_length(32)
_ADDR = Binary.fixed_length(20)
_SIG = Binary.fixed_length(65)
_CLAIM = List(
    [big_endian_int, _ADDR, big_endian_int, big_endian_int, CountableList(_ID), _SIG], strict=True
)
_ANNOUNCEMENT = List([big_endian_int, _ID, _ADDR, _ID, big_endian_int], strict=True)
_REQUEST = List([_ID], strict=True)
_RESPONSE = List([binary, binary, binary], strict=True)
SIGNATURE_LEN = 65


class MalformedMessage(Exception):
    """Bytes from a peer that are not a message of this protocol."""


class BadClaim(MalformedMessage):
    """A claim whose signature is malformed or not the key of the prover it names."""


@dataclass(frozen=True)
class Claim:
    prover: bytes
    height: int
    time_ms: int
    task_ids: tuple[bytes, ...]
    signature: bytes

    def encode(self) -> bytes:
        return rlp.encode(
            [
                KIND_CLAIM,
                self.prover,
                self.height,
                self.time_ms,
                list(self.task_ids),
                self.signature,
            ],
            _CLAIM,
        )


def claim_digest(
    genesis_hash: bytes, prover: bytes, height: int, time_ms: int, task_ids: tuple[bytes, ...]
) -> bytes:
    """The 32 bytes a prover signs for a claim on the chain of `genesis_hash`."""
    if len(genesis_hash) != 32 or len(prover) != 20 or not all(len(t) == 32 for t in task_ids):
        raise BadClaim("a claim binds a 32-byte genesis hash, a 20-byte prover, 32-byte tasks")
    if not (0 <= height < _U64 and 0 <= time_ms < _U64):
        raise BadClaim("a claim's height and time are 64-bit")
    return keccak256(
        CLAIM_MESSAGE_TAG
        + genesis_hash
        + prover
        + height.to_bytes(8, "big")
        + time_ms.to_bytes(8, "big")
        + keccak256(b"".join(task_ids))
    )


def sign_claim(
    key: AccountKey, genesis_hash: bytes, height: int, time_ms: int, task_ids: tuple[bytes, ...]
) -> Claim:
    """A claim by the prover account of `key`."""
    digest = claim_digest(genesis_hash, key.address, height, time_ms, task_ids)
    sig = coincurve.PrivateKey(key.private_key).sign_recoverable(digest, hasher=None)
    return Claim(key.address, height, time_ms, task_ids, bytes(sig))


def check_claim(claim: Claim, genesis_hash: bytes) -> None:
    """Raise BadClaim unless the claim is signed by the prover it names, for this chain."""
    sig = claim.signature
    # Rule: r and s in range with s low (one signature per message and key), v 0/1.
    r = int.from_bytes(sig[:32], "big")
    s = int.from_bytes(sig[32:64], "big")
    if len(sig) != SIGNATURE_LEN or not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        raise BadClaim("claim signature values out of range")
    if sig[64] > 1:
        raise BadClaim("claim signature recovery id out of range")
    digest = claim_digest(genesis_hash, claim.prover, claim.height, claim.time_ms, claim.task_ids)
    try:
        pub = coincurve.PublicKey.from_signature_and_message(sig, digest, hasher=None)
    except Exception as exc:  # coincurve raises plain Exception on bad signatures
        raise BadClaim(f"claim signature does not recover: {exc}") from exc
    # Rule: signed by the prover it names (else anyone could hold a task in its name).
    if keccak256(pub.format(compressed=False)[1:])[12:] != claim.prover:
        raise BadClaim("the claim is not signed by the prover it names")


@dataclass(frozen=True)
class Announcement:
    task_id: bytes
    prover: bytes
    statement_digest: bytes
    size: int

    def encode(self) -> bytes:
        return rlp.encode(
            [KIND_ANNOUNCEMENT, self.task_id, self.prover, self.statement_digest, self.size],
            _ANNOUNCEMENT,
        )


def _decode(data: bytes, sedes: List, what: str) -> list[object]:
    # pyrlp raises TypeError/ValueError on some shapes that its sedes do not expect
    try:
        items = rlp.decode(data, sedes=sedes, strict=True)
        canonical = rlp.encode(items, sedes) == data
    except (RLPException, TypeError, ValueError) as exc:
        raise MalformedMessage(f"malformed {what}: {exc}") from exc
    if not canonical:
        raise MalformedMessage(f"non-canonical {what}")
    return list(items)


def decode_gossip(data: bytes) -> Claim | Announcement:
    """A claim or an announcement from the proof topic; MalformedMessage otherwise."""
    if not data:
        raise MalformedMessage("empty message")
    try:
        head = rlp.decode(data, strict=False)
    except (RLPException, TypeError, ValueError) as exc:
        raise MalformedMessage(f"malformed message: {exc}") from exc
    kind = head[0] if isinstance(head, list) and head else b""
    if kind == b"\x03":
        _, prover, height, time_ms, task_ids, signature = _decode(data, _CLAIM, "claim")
        if len(task_ids) > MAX_CLAIM_TASKS:  # type: ignore[arg-type]
            raise MalformedMessage(f"a claim names at most {MAX_CLAIM_TASKS} tasks")
        if height >= _U64 or time_ms >= _U64:  # type: ignore[operator]
            raise MalformedMessage("a claim's height and time are 64-bit")
        return Claim(prover, height, time_ms, tuple(task_ids), signature)  # type: ignore[arg-type]
    if kind == b"\x02":
        _, task_id, prover, digest, size = _decode(data, _ANNOUNCEMENT, "announcement")
        if not 0 < size <= MAX_ANNOUNCED_PROOF_BYTES:  # type: ignore[operator]
            raise MalformedMessage(f"announced proof size {size} out of range")
        return Announcement(task_id, prover, digest, size)  # type: ignore[arg-type]
    raise MalformedMessage("unknown message kind")


def encode_request(task_id: bytes) -> bytes:
    return rlp.encode([task_id], _REQUEST)


def decode_request(data: bytes) -> bytes:
    (task_id,) = _decode(data, _REQUEST, "proof request")
    return task_id  # type: ignore[return-value]


def encode_response(prover: bytes, proof: bytes, signature: bytes) -> bytes:
    return rlp.encode([prover, proof, signature], _RESPONSE)


def decode_response(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(prover, task proof, envelope signature), or None when the peer does not hold it."""
    prover, proof, signature = _decode(data, _RESPONSE, "proof response")
    if not prover and not proof and not signature:
        return None
    if len(prover) != 20 or not proof or len(signature) != SIGNATURE_LEN:  # type: ignore[arg-type]
        raise MalformedMessage(
            "a proof response carries a 20-byte prover, a proof and a 65-byte signature"
        )
    return prover, proof, signature  # type: ignore[return-value]
