"""The gossip and request/response messages of the proving network.

All RLP, canonical (re-encoded and compared on decode: pyrlp accepts a truncated last item),
on the topic /ivcnet/proof-announce/1 (16 KiB limit) and the protocol /ivcnet/proof/1:

    Claim         = rlp([1, prover(20), height, [task_id(32), ...]])
        a prover takes these tasks of committed block `height`; an empty list is a presence
        beacon (how provers learn of each other when the genesis names no prover set)
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

import rlp
from rlp.exceptions import RLPException
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

KIND_CLAIM = 1
KIND_ANNOUNCEMENT = 2
MAX_CLAIM_TASKS = 256
MAX_ANNOUNCED_PROOF_BYTES = 16 << 20

_ID = Binary.fixed_length(32)
_ADDR = Binary.fixed_length(20)
_CLAIM = List([big_endian_int, _ADDR, big_endian_int, CountableList(_ID)], strict=True)
_ANNOUNCEMENT = List([big_endian_int, _ID, _ADDR, _ID, big_endian_int], strict=True)
_REQUEST = List([_ID], strict=True)
_RESPONSE = List([binary, binary, binary], strict=True)
SIGNATURE_LEN = 65


class MalformedMessage(Exception):
    """Bytes from a peer that are not a message of this protocol."""


@dataclass(frozen=True)
class Claim:
    prover: bytes
    height: int
    task_ids: tuple[bytes, ...]

    def encode(self) -> bytes:
        return rlp.encode([KIND_CLAIM, self.prover, self.height, list(self.task_ids)], _CLAIM)


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
    if kind == b"\x01":
        _, prover, height, task_ids = _decode(data, _CLAIM, "claim")
        if len(task_ids) > MAX_CLAIM_TASKS:  # type: ignore[arg-type]
            raise MalformedMessage(f"a claim names at most {MAX_CLAIM_TASKS} tasks")
        return Claim(prover, height, tuple(task_ids))  # type: ignore[arg-type]
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
