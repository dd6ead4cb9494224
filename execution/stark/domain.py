"""Evaluation domains: two-adic subgroups and cosets in the bit-reversed row order of the LDE."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.field import two_adic_generator

__all__ = [
    "bitrev",
    "bitrev_permutation",
    "bitrev_vec",
    "coset_points_bitrev",
    "pow_vec",
    "subgroup_points_bitrev",
]


def bitrev(x: int, bits: int) -> int:
    return int(f"{x:0{bits}b}"[::-1], 2) if bits else 0


@lru_cache(maxsize=32)
def _bitrev_perm(log_n: int) -> npt.NDArray[np.int64]:
    # rev_k = (2 * rev_{k-1}) ++ (2 * rev_{k-1} + 1): about 2n operations instead of n log n.
    out = np.zeros(1, dtype=np.int64)
    for _ in range(log_n):
        out = np.concatenate([out * 2, out * 2 + 1])
    out.setflags(write=False)
    return out


def bitrev_permutation(log_n: int) -> npt.NDArray[np.int64]:
    """perm[i] = bitrev(i); applying it twice is the identity."""
    return _bitrev_perm(log_n)


def bitrev_vec(idx: npt.NDArray[np.int64], bits: int) -> npt.NDArray[np.int64]:
    out = np.zeros_like(idx)
    for b in range(bits):
        out |= ((idx >> b) & 1) << (bits - 1 - b)
    return out


def subgroup_points_bitrev(log_n: int) -> L.U64:
    """w^bitrev(i) for i < 2^log_n, w the primitive 2^log_n-th root."""
    nat = L.powers(two_adic_generator(log_n), 1 << log_n)
    return nat[bitrev_permutation(log_n)]


def coset_points_bitrev(log_n: int, shift: int) -> L.U64:
    return subgroup_points_bitrev(log_n) * np.uint64(shift) % np.uint64(L.P)  # type: ignore[no-any-return]


def pow_vec(base: int, exps: npt.NDArray[np.int64]) -> L.U64:
    """base^e for an array of non-negative exponents below 2^32."""
    result = np.ones(exps.shape, dtype=np.uint64)
    b = int(base) % L.P
    e = exps.astype(np.int64)
    for bit in range(32):
        if not np.any(e >> bit):
            break
        sel = ((e >> bit) & 1).astype(bool)
        result = np.where(sel, result * np.uint64(b) % np.uint64(L.P), result)
        b = b * b % L.P
    return result
