"""Blocks by height and hash, receipts by block, and the location of every transaction.

Values are the bytes the execution layer encoded; this module only places them under the
schema's keys, inside the caller's batch, so that a block and everything it implies land in
one atomic write.
"""

from __future__ import annotations

import rlp
import rusty_rlp

from storage import schema
from storage.database import Database, WriteBatch
from storage.errors import StorageError


def put_block(
    batch: WriteBatch,
    height: int,
    block_hash: bytes,
    block_bytes: bytes,
    tx_hashes: list[bytes],
    receipts_bytes: bytes,
) -> None:
    batch.put(schema.block_by_hash(block_hash), block_bytes)
    batch.put(schema.hash_by_height(height), block_hash)
    batch.put(schema.receipts(block_hash), receipts_bytes)
    for index, tx_hash in enumerate(tx_hashes):
        batch.put(schema.tx_location(tx_hash), _encode_location(height, index))
    batch.put(schema.head(), rlp.encode([height, block_hash]))


def commit_at(db: Database, height: int) -> bytes | None:
    return db.get(schema.commit_at(height))


def get_head(db: Database) -> tuple[int, bytes] | None:
    raw = db.get(schema.head())
    if raw is None:
        return None
    try:
        height, block_hash = rlp.decode(raw)
    except rlp.DecodingError as exc:
        raise StorageError(f"corrupt head record: {exc}") from exc
    return int.from_bytes(height, "big"), block_hash


def hash_at(db: Database, height: int) -> bytes | None:
    return db.get(schema.hash_by_height(height))


def block_bytes(db: Database, block_hash: bytes) -> bytes | None:
    return db.get(schema.block_by_hash(block_hash))


def receipts_bytes(db: Database, block_hash: bytes) -> bytes | None:
    return db.get(schema.receipts(block_hash))


def tx_location(db: Database, tx_hash: bytes) -> tuple[int, int] | None:
    raw = db.get(schema.tx_location(tx_hash))
    if raw is None:
        return None
    height, index = rlp.decode(raw)
    return int.from_bytes(height, "big"), int.from_bytes(index, "big")


def _encode_location(height: int, index: int) -> bytes:
    # rlp([height, index]) through the Rust encoder: pyrlp spends ~20 us inferring sedes.
    h = height.to_bytes((height.bit_length() + 7) // 8, "big")
    i = index.to_bytes((index.bit_length() + 7) // 8, "big")
    return bytes(rusty_rlp.encode_raw([h, i]))
