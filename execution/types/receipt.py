"""Receipts: what applying one transaction did, committed by the block's receipts root."""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from execution.types import rlp_fast
from execution.types.errors import DecodingError
from execution.types.hashing import Hash32, keccak256, merkle_root

hash32 = Binary.fixed_length(32)


@dataclass(frozen=True)
class Receipt:
    """`created` is the program's 20-byte address for a deploy, the 32-byte task id for a task
    submission, and empty for a transfer."""

    tx_hash: Hash32
    kind: int
    status: int
    gas_used: int
    cumulative_gas_used: int
    fee_paid: int
    created: bytes = b""

    SEDES = List(
        [
            hash32,
            big_endian_int,
            big_endian_int,
            big_endian_int,
            big_endian_int,
            big_endian_int,
            binary,
        ],
        strict=True,
    )

    def to_list(self) -> list[object]:
        return [
            self.tx_hash,
            self.kind,
            self.status,
            self.gas_used,
            self.cumulative_gas_used,
            self.fee_paid,
            self.created,
        ]

    def encode(self) -> bytes:
        return rlp_fast.encode(self.to_list())  # type: ignore[arg-type]

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        rlp_fast.check_canonical(data, "receipt")
        try:
            return cls(*rlp.decode(data, sedes=cls.SEDES, strict=True))
        except (rlp.DecodingError, rlp.DeserializationError) as exc:
            raise DecodingError(f"malformed receipt: {exc}") from exc


RECEIPT_LIST = CountableList(Receipt.SEDES)


def encode_receipts(receipts: list[Receipt]) -> bytes:
    return rlp_fast.encode([r.to_list() for r in receipts])  # type: ignore[misc]


def decode_receipts(data: bytes) -> list[Receipt]:
    rlp_fast.check_canonical(data, "receipt list")
    try:
        return [Receipt(*items) for items in rlp.decode(data, sedes=RECEIPT_LIST, strict=True)]
    except (rlp.DecodingError, rlp.DeserializationError) as exc:
        raise DecodingError(f"malformed receipt list: {exc}") from exc


def receipts_root(receipts: list[Receipt]) -> Hash32:
    return merkle_root([keccak256(r.encode()) for r in receipts])
