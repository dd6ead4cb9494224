"""Block headers and blocks, RLP-encoded with explicit sedes.

A block carries the commit certificate of its parent (as opaque bytes produced and verified by
consensus; the header binds its hash), evidence of misbehaviour (opaque bytes as well), and the
Universal Proofs of earlier blocks that it brings in (the header lists which, by digest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from execution.types import rlp_fast
from execution.types.errors import DecodingError
from execution.types.hashing import Hash32, keccak256, merkle_root

ZERO_HASH: Hash32 = b"\x00" * 32
MAX_BLOCK_BYTES = 64 << 20

hash32 = Binary.fixed_length(32)
address20 = Binary.fixed_length(20)


@dataclass(frozen=True)
class UniversalProofRef:
    """Names the Universal Proof of block `height` that this block brings in: by its root
    (`digest`, the Poseidon2 root over the proven statements) and by the keccak-256 of its
    bytes (`bytes_hash`), so that the header, and so the block hash that consensus votes on,
    commits to the exact proof bytes of the body as it does to the transactions."""

    height: int
    digest: Hash32
    bytes_hash: Hash32

    SEDES = List([big_endian_int, hash32, hash32], strict=True)


@dataclass(frozen=True)
class Header:
    chain_id: int
    height: int
    time_ms: int
    parent_hash: Hash32
    proposer: bytes  # 20-byte validator address
    state_root: Hash32
    transactions_root: Hash32
    receipts_root: Hash32
    last_commit_hash: Hash32
    evidence_root: Hash32
    gas_used: int
    universal_proofs: tuple[UniversalProofRef, ...] = ()

    SEDES = List(
        [
            big_endian_int,
            big_endian_int,
            big_endian_int,
            hash32,
            address20,
            hash32,
            hash32,
            hash32,
            hash32,
            hash32,
            big_endian_int,
            CountableList(UniversalProofRef.SEDES),
        ],
        strict=True,
    )

    def to_list(self) -> list[object]:
        return [
            self.chain_id,
            self.height,
            self.time_ms,
            self.parent_hash,
            self.proposer,
            self.state_root,
            self.transactions_root,
            self.receipts_root,
            self.last_commit_hash,
            self.evidence_root,
            self.gas_used,
            [[r.height, r.digest, r.bytes_hash] for r in self.universal_proofs],
        ]

    @classmethod
    def from_list(cls, items: list) -> Header:  # type: ignore[type-arg]
        if len(items) != 12:
            raise DecodingError("a header has 12 fields")
        return cls(
            chain_id=items[0],
            height=items[1],
            time_ms=items[2],
            parent_hash=items[3],
            proposer=items[4],
            state_root=items[5],
            transactions_root=items[6],
            receipts_root=items[7],
            last_commit_hash=items[8],
            evidence_root=items[9],
            gas_used=items[10],
            universal_proofs=tuple(UniversalProofRef(h, d, b) for h, d, b in items[11]),
        )

    def encode(self) -> bytes:
        return rlp_fast.encode(self.to_list())  # type: ignore[arg-type]

    @classmethod
    def decode(cls, data: bytes) -> Header:
        return cls.from_list(_decode(data, cls.SEDES, "header"))

    @cached_property
    def hash(self) -> Hash32:
        return keccak256(self.encode())


@dataclass(frozen=True)
class Block:
    header: Header
    transactions: tuple[bytes, ...] = ()
    last_commit: bytes = b""
    evidence: tuple[bytes, ...] = ()
    universal_proofs: tuple[bytes, ...] = field(default=())

    SEDES = List(
        [Header.SEDES, CountableList(binary), binary, CountableList(binary), CountableList(binary)],
        strict=True,
    )

    @property
    def hash(self) -> Hash32:
        return self.header.hash

    @property
    def height(self) -> int:
        return self.header.height

    def encode(self) -> bytes:
        return rlp_fast.encode(
            [
                self.header.to_list(),  # type: ignore[list-item]
                list(self.transactions),
                self.last_commit,
                list(self.evidence),
                list(self.universal_proofs),
            ]
        )

    @classmethod
    def decode(cls, data: bytes) -> Block:
        if len(data) > MAX_BLOCK_BYTES:
            raise DecodingError(f"block of {len(data)} bytes exceeds {MAX_BLOCK_BYTES}")
        header, txs, last_commit, evidence, proofs = _decode(data, cls.SEDES, "block")
        return cls(
            Header.from_list(header), tuple(txs), last_commit, tuple(evidence), tuple(proofs)
        )


def transactions_root(raw_transactions: tuple[bytes, ...] | list[bytes]) -> Hash32:
    return merkle_root([keccak256(tx) for tx in raw_transactions])


def evidence_root(evidence: tuple[bytes, ...] | list[bytes]) -> Hash32:
    return merkle_root([keccak256(ev) for ev in evidence])


def _decode(data: bytes, sedes: List, what: str) -> list:  # type: ignore[type-arg]
    if not isinstance(data, bytes | bytearray):
        raise DecodingError(f"{what} must be bytes")
    rlp_fast.check_canonical(bytes(data), what)
    try:
        return rlp.decode(bytes(data), sedes=sedes, strict=True)  # type: ignore[no-any-return]
    except (rlp.DecodingError, rlp.DeserializationError) as exc:
        raise DecodingError(f"malformed {what}: {exc}") from exc
