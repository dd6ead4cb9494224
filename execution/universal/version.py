"""Telling Universal Proof versions apart by their first bytes (without importing the
recursion stack: a v0 chain never loads it)."""

from __future__ import annotations

__all__ = ["MAGIC_V1", "is_v1"]

# A v0 proof is an RLP list (first byte >= 0xc0); a v1 proof starts with this tag.
MAGIC_V1 = b"IVCUPv1\x00"


def is_v1(raw: bytes) -> bool:
    return bytes(raw[: len(MAGIC_V1)]) == MAGIC_V1
