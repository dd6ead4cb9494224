"""Scalar BabyBear helpers for numba kernels (Montgomery form stays inside a kernel).

Every helper works on uint64 scalars holding values below 2^32, so that LLVM can vectorize the
loops that call them (the 32x32->64 products become vpmuludq). Montgomery form uses R = 2^32:
``monty_mul(a * R, b * R) = a * b * R`` and ``monty_mul(x, y * R) = x * y`` for canonical x, which
is how twiddles and round constants are applied to canonical data without converting it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

P_INT = 2013265921
R_INT = (1 << 32) % P_INT
R2_INT = (1 << 64) % P_INT
# -p^-1 mod 2^32: with it, t + m*p is divisible by 2^32 (Montgomery reduction).
MU_INT = (-pow(P_INT, -1, 1 << 32)) % (1 << 32)

P = np.uint64(P_INT)
MU = np.uint64(MU_INT)
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
SHIFT31 = np.uint64(31)
SHIFT27 = np.uint64(27)
MASK31 = np.uint64(0x7FFFFFFF)


def to_monty_int(x: int) -> int:
    return (x * R_INT) % P_INT


@njit(inline="always", cache=True)
def add_mod(a: np.uint64, b: np.uint64) -> np.uint64:
    s = a + b
    # The mask tells LLVM the result fits 32 bits, so later products use vpmuludq.
    return (s - P if s >= P else s) & MASK32


@njit(inline="always", cache=True)
def sub_mod(a: np.uint64, b: np.uint64) -> np.uint64:
    return (a - b if a >= b else a + P - b) & MASK32


@njit(inline="always", cache=True)
def monty_mul(a: np.uint64, b: np.uint64) -> np.uint64:
    t = a * b
    m = ((t & MASK32) * MU) & MASK32
    u = (t + m * P) >> SHIFT32
    return (u - P if u >= P else u) & MASK32


@njit(inline="always", cache=True)
def monty_reduce(t: np.uint64) -> np.uint64:
    """t * 2^-32 mod p for t < p * 2^32."""
    m = ((t & MASK32) * MU) & MASK32
    u = (t + m * P) >> SHIFT32
    return (u - P if u >= P else u) & MASK32


@njit(inline="always", cache=True)
def reduce36(x: np.uint64) -> np.uint64:
    """x mod p for x < 2^37, using 2^31 = 2^27 - 1 (mod p) twice (no division)."""
    hi = x >> SHIFT31
    x = (x & MASK31) + (hi << SHIFT27) - hi
    hi = x >> SHIFT31
    x = (x & MASK31) + (hi << SHIFT27) - hi
    return (x - P if x >= P else x) & MASK32
