"""Receipts: what applying one transaction did, committed by the block's receipts root."""

from __future__ import annotations

from dataclasses import dataclass

import rlp
import rusty_rlp
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

    def _items(self) -> list[bytes]:
        def scalar(n: int) -> bytes:
            return n.to_bytes((n.bit_length() + 7) // 8, "big")

        return [
            self.tx_hash,
            scalar(self.kind),
            scalar(self.status),
            scalar(self.gas_used),
            scalar(self.cumulative_gas_used),
            scalar(self.fee_paid),
            self.created,
        ]

    def encode(self) -> bytes:
        # Encoded twice per block (receipts root, stored list): cache it on the frozen object.
        cached: bytes | None = self.__dict__.get("_encoded")
        if cached is None:
            cached = self.__dict__["_encoded"] = bytes(rusty_rlp.encode_raw(self._items()))
        return cached

    @classmethod
    def decode(cls, data: bytes) -> Receipt:
        rlp_fast.check_canonical(data, "receipt")
        try:
            return cls(*rlp.decode(data, sedes=cls.SEDES, strict=True))
        except (rlp.DecodingError, rlp.DeserializationError) as exc:
            raise DecodingError(f"malformed receipt: {exc}") from exc


RECEIPT_LIST = CountableList(Receipt.SEDES)


def encode_receipts(receipts: list[Receipt]) -> bytes:
    # A list's payload is its items' encodings concatenated: reuse each receipt's encoding.
    return _concat_list([r.encode() for r in receipts])


def decode_receipts(data: bytes) -> list[Receipt]:
    rlp_fast.check_canonical(data, "receipt list")
    try:
        return [Receipt(*items) for items in rlp.decode(data, sedes=RECEIPT_LIST, strict=True)]
    except (rlp.DecodingError, rlp.DeserializationError) as exc:
        raise DecodingError(f"malformed receipt list: {exc}") from exc


def receipts_root(receipts: list[Receipt]) -> Hash32:
    return merkle_root([keccak256(r.encode()) for r in receipts])


def _concat_list(encoded_items: list[bytes]) -> bytes:
    """RLP of a list given its items' encodings (RLP list header + payload)."""
    payload = b"".join(encoded_items)
    n = len(payload)
    if n < 56:
        return bytes([0xC0 + n]) + payload
    length = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0xF7 + len(length)]) + length + payload
