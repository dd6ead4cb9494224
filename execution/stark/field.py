"""BabyBear, p = 15 * 2^27 + 1, on numpy arrays of canonical uint32 values.

Elementwise operations widen to uint64 (a product of two canonical values is below 2^62) and
broadcast like numpy. Hot loops (NTT, Poseidon2) have their own numba kernels; these functions are
the readable, vectorized layer the rest of the proof system builds on.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
from numba import njit

from execution.stark._monty import P_INT

P: int = P_INT
GENERATOR: int = 31
TWO_ADICITY: int = 27
# GENERATOR^((p - 1) / 2^27): a primitive 2^27-th root of unity (Plonky3's TWO_ADIC_GENERATOR).
_TWO_ADIC_ROOT: int = builtins.pow(GENERATOR, (P - 1) >> TWO_ADICITY, P)

_P64 = np.uint64(P)

ArrayLike = Any


def _u64(a: ArrayLike) -> np.ndarray:
    return np.asarray(a, dtype=np.uint64)


def from_int(a: ArrayLike) -> np.ndarray:
    """Reduce arbitrary (possibly negative) Python ints or int arrays into canonical uint32."""
    return np.asarray(np.mod(np.asarray(a, dtype=object), P), dtype=np.uint32)


def is_canonical(a: np.ndarray) -> bool:
    """True if every element is an integer in [0, p) (for checking untrusted input)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "ui":
        return False
    return bool(arr.size == 0 or (int(arr.min()) >= 0 and int(arr.max()) < P))


def add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    s = _u64(a) + _u64(b)
    return (s - _P64 * (s >= _P64)).astype(np.uint32)


def sub(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    s = _u64(a) + (_P64 - _u64(b))
    return (s - _P64 * (s >= _P64)).astype(np.uint32)


def neg(a: ArrayLike) -> np.ndarray:
    x = _u64(a)
    return np.where(x == 0, x, _P64 - x).astype(np.uint32)


def mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    return ((_u64(a) * _u64(b)) % _P64).astype(np.uint32)


def pow(a: ArrayLike, e: int) -> np.ndarray:
    """a^e elementwise; a negative e inverts first (ZeroDivisionError on a zero)."""
    e = int(e)
    if e < 0:
        return pow(inv(a), -e)
    base = _u64(a).copy()
    result = np.ones_like(base)
    while e:
        if e & 1:
            result = (result * base) % _P64
        e >>= 1
        if e:
            base = (base * base) % _P64
    return result.astype(np.uint32)


def inv(a: ArrayLike) -> np.ndarray:
    """Elementwise inverse by Fermat; raises ZeroDivisionError if any element is zero."""
    x = _u64(a)
    if np.any(x == 0):
        raise ZeroDivisionError("inverse of zero in BabyBear")
    return pow(x, P - 2)


@njit(cache=True)
def _batch_inv_kernel(x: np.ndarray, out: np.ndarray) -> bool:
    # Montgomery's trick: prefix products, one inversion, then a backward sweep.
    n = x.shape[0]
    p = np.uint64(2013265921)
    acc = np.uint64(1)
    for i in range(n):
        if x[i] == 0:
            return False
        out[i] = acc
        acc = (acc * np.uint64(x[i])) % p
    # acc^(p-2) by square-and-multiply
    e = np.uint64(2013265919)
    r = np.uint64(1)
    b = acc
    while e > 0:
        if e & np.uint64(1):
            r = (r * b) % p
        b = (b * b) % p
        e >>= np.uint64(1)
    for i in range(n - 1, -1, -1):
        xi = np.uint64(x[i])
        out[i] = (np.uint64(out[i]) * r) % p
        r = (r * xi) % p
    return True


def batch_inv(a: ArrayLike) -> np.ndarray:
    """Inverse of every element with one field inversion (any shape)."""
    arr = np.asarray(a, dtype=np.uint32)
    flat = np.ascontiguousarray(arr.reshape(-1))
    out = np.empty(flat.shape[0], dtype=np.uint32)
    if not _batch_inv_kernel(flat, out):
        raise ZeroDivisionError("inverse of zero in BabyBear")
    return out.reshape(arr.shape)


def two_adic_generator(log_n: int) -> int:
    """A primitive 2^log_n-th root of unity; generator(k)^2 == generator(k - 1)."""
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"BabyBear has no subgroup of order 2^{log_n}")
    return builtins.pow(_TWO_ADIC_ROOT, 1 << (TWO_ADICITY - log_n), P)
