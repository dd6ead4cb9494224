"""Byte layout of a transaction-batch gossip message: an RLP list of raw transactions.

Batching is what lets transaction gossip get past the ~700 messages/s a
py-libp2p receiver handles (docs/p2p.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import rlp

from p2p.errors import P2PError

MAX_TXS_PER_BATCH = 4096


class MalformedBatch(P2PError):
    """The bytes are not an RLP list of byte strings within the limits."""


def encode_tx_batch(raw_txs: Sequence[bytes]) -> bytes:
    if not raw_txs:
        raise MalformedBatch("a batch holds at least one transaction")
    if len(raw_txs) > MAX_TXS_PER_BATCH:
        raise MalformedBatch(f"a batch holds at most {MAX_TXS_PER_BATCH} transactions")
    for tx in raw_txs:
        if not isinstance(tx, bytes) or not tx:
            raise MalformedBatch("each transaction is a non-empty byte string")
    return bytes(rlp.encode(list(raw_txs)))


def decode_tx_batch(data: bytes) -> list[bytes]:
    try:
        items = rlp.decode(data, strict=True)
    except Exception as exc:  # rlp raises several unrelated types on garbage
        raise MalformedBatch(f"not RLP: {exc}") from exc
    # Rule: the top level is a non-empty list of non-empty byte strings (no nesting).
    if not isinstance(items, list) or not items:
        raise MalformedBatch("a batch is a non-empty RLP list")
    if len(items) > MAX_TXS_PER_BATCH:
        raise MalformedBatch(f"a batch holds at most {MAX_TXS_PER_BATCH} transactions")
    out: list[bytes] = []
    for item in items:
        if not isinstance(item, bytes) or not item:
            raise MalformedBatch("each batch item is a non-empty byte string")
        out.append(item)
    # Rule: canonical encoding only. pyrlp's strict mode still accepted a list
    # whose last item was truncated (b"\xc2\x00\x81" decoded to [b"\x00"]).
    if rlp.encode(out) != data:
        raise MalformedBatch("not the canonical RLP encoding of its items")
    return out
