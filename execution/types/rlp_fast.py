"""RLP encoding for hot paths, byte-identical to pyrlp's.

pyrlp infers and applies a sedes for every item in Python (about 5 us per item) even with its
Rust backend; here ints become minimal big-endian bytes and the Rust encoder does the rest.
Decoding of untrusted bytes still goes through pyrlp with explicit sedes or explicit checks,
after `check_canonical`: pyrlp (and its Rust backend) accept a list whose last item runs past
the list's end, e.g. b"\xc3\x01\x82\x61" decodes to [b"\x01"], so two byte strings could
decode to one value. Re-encoding and comparing closes that and every other non-canonical form.
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


def check_canonical(data: bytes, what: str) -> None:
    """Raise DecodingError unless `data` is exactly the canonical RLP of what it decodes to."""
    from execution.types.errors import DecodingError

    try:
        struct = rusty_rlp.decode_raw(data, True, False)[0]
    except rusty_rlp.DecodingError as exc:
        raise DecodingError(f"malformed {what}: {exc}") from exc
    if bytes(rusty_rlp.encode_raw(struct)) != data:
        raise DecodingError(f"malformed {what}: not canonical RLP")
