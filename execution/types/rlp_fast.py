"""RLP encoding for hot paths, byte-identical to pyrlp's.

pyrlp infers and applies a sedes for every item in Python (about 5 us per item) even with its
Rust backend; here ints become minimal big-endian bytes and the Rust encoder does the rest.
Decoding of untrusted bytes still goes through pyrlp with explicit sedes or explicit checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import rusty_rlp

Item = Union[bytes, int, Sequence["Item"]]  # noqa: UP007 - a recursive alias needs Union


def _prepare(item: Item) -> object:
    if isinstance(item, bytes):
        return item
    if isinstance(item, int):
        if item < 0:
            raise ValueError("RLP integers are non-negative")
        return item.to_bytes((item.bit_length() + 7) // 8, "big")
    return [_prepare(i) for i in item]


def encode(item: Item) -> bytes:
    return bytes(rusty_rlp.encode_raw(_prepare(item)))
