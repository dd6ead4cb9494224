"""STARK proof system over BabyBear: field, extension, NTT, Poseidon2, Merkle trees, challenger."""

from __future__ import annotations

from execution.stark.field import (
    GENERATOR,
    TWO_ADICITY,
    P,
    add,
    batch_inv,
    inv,
    mul,
    neg,
    pow,
    sub,
    two_adic_generator,
)
from execution.stark.poseidon2 import compress, hash_elements, hash_rows, permute

__all__ = [
    "GENERATOR",
    "TWO_ADICITY",
    "P",
    "add",
    "batch_inv",
    "compress",
    "hash_elements",
    "hash_rows",
    "inv",
    "mul",
    "neg",
    "permute",
    "pow",
    "sub",
    "two_adic_generator",
]
