"""The image id: the digest that names a program on chain and in every task statement.

It binds everything that decides the program's behaviour apart from its input: the memory
layout, the entry point, the ROM words and the initial RAM contents (.rodata and .data live
in RAM, so they must be bound too, or two programs with different constants would share an
id). The element encoding is documented in docs/zkvm.md.
"""

from __future__ import annotations

import numpy as np

from execution.stark.poseidon2 import hash_elements
from execution.zkvm.program import Program

IMAGE_DOMAIN = b"ivcnet/zkvm/image/v1"


def _limbs16_of_words(words: np.ndarray) -> np.ndarray:
    """Each 32-bit word as two 16-bit field elements (low first): a word may exceed p."""
    w = np.asarray(words, dtype=np.uint32)
    out = np.empty(2 * len(w), dtype=np.uint32)
    out[0::2] = w & 0xFFFF
    out[1::2] = w >> 16
    return out


def _limbs16_of_bytes(data: bytes) -> np.ndarray:
    padded = data + b"\x00" * (len(data) % 2)
    return np.frombuffer(padded, dtype="<u2").astype(np.uint32)


def image_elements(program: Program) -> np.ndarray:
    """The field elements hashed into the image id, in their fixed order."""
    layout = program.layout
    parts: list[np.ndarray] = [
        _limbs16_of_bytes(IMAGE_DOMAIN),
        _limbs16_of_words(np.array([*layout.as_words(), program.entry], dtype=np.uint32)),
        _limbs16_of_words(np.array([len(program.rom)], dtype=np.uint32)),
        _limbs16_of_words(program.rom),
        _limbs16_of_words(np.array([len(program.ram_init)], dtype=np.uint32)),
    ]
    for seg in program.ram_init:
        parts.append(_limbs16_of_words(np.array([seg.addr, len(seg.data)], dtype=np.uint32)))
        parts.append(_limbs16_of_bytes(seg.data))
    return np.concatenate(parts).astype(np.uint32)


def image_id(program: Program) -> np.ndarray:
    """The image id: Poseidon2 sponge digest (8 BabyBear elements, uint32) of image_elements."""
    return hash_elements(image_elements(program))


def image_id_hex(program: Program) -> str:
    """The image id as 64 hex characters (8 little-endian uint32 words)."""
    return image_id(program).astype("<u4").tobytes().hex()
