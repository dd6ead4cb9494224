"""BabyBear^4 = F[X]/(X^4 - 11), the challenge field, vectorized over arrays of shape (..., 4).

An element is the coefficient vector (c0, c1, c2, c3) of c0 + c1 X + c2 X^2 + c3 X^3, canonical
uint32. Every operation broadcasts over the leading axes like numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from execution.stark.field import P, batch_inv

W: int = 11
DEGREE: int = 4

_P64 = np.uint64(P)
_W64 = np.uint64(W)

ArrayLike = Any


def _ext(a: ArrayLike) -> np.ndarray:
    arr = np.asarray(a, dtype=np.uint64)
    if arr.ndim == 0 or arr.shape[-1] != DEGREE:
        raise ValueError(f"extension elements need a last axis of length 4, got {arr.shape}")
    return arr


def ext_zero(shape: tuple[int, ...] = ()) -> np.ndarray:
    return np.zeros((*shape, DEGREE), dtype=np.uint32)


def ext_one(shape: tuple[int, ...] = ()) -> np.ndarray:
    out = ext_zero(shape)
    out[..., 0] = 1
    return out


def ext_from_base(b: ArrayLike) -> np.ndarray:
    """Embed base-field elements (any shape) as extension elements (shape + (4,))."""
    base = np.asarray(b, dtype=np.uint32)
    out = np.zeros((*base.shape, DEGREE), dtype=np.uint32)
    out[..., 0] = base
    return out


def ext_add(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    s = _ext(a) + _ext(b)
    return (s - _P64 * (s >= _P64)).astype(np.uint32)


def ext_sub(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    s = _ext(a) + (_P64 - _ext(b))
    return (s - _P64 * (s >= _P64)).astype(np.uint32)


def ext_neg(a: ArrayLike) -> np.ndarray:
    x = _ext(a)
    return np.where(x == 0, x, _P64 - x).astype(np.uint32)


def ext_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    x = _ext(a)
    y = _ext(b)
    x, y = np.broadcast_arrays(x, y)
    # Each product is reduced before summing: four unreduced products could overflow 64 bits.
    prod = [[(x[..., i] * y[..., j]) % _P64 for j in range(DEGREE)] for i in range(DEGREE)]
    out = np.empty(x.shape, dtype=np.uint32)
    for k in range(DEGREE):
        low = sum((prod[i][k - i] for i in range(k + 1)), np.zeros(x.shape[:-1], np.uint64))
        high = sum(
            (prod[i][k + DEGREE - i] for i in range(k + 1, DEGREE)),
            np.zeros(x.shape[:-1], np.uint64),
        )
        out[..., k] = ((low + _W64 * (high % _P64)) % _P64).astype(np.uint32)
    return out


def ext_mul_base(a_ext: ArrayLike, b_base: ArrayLike) -> np.ndarray:
    """Multiply extension elements by base-field elements (b broadcast against a's leading axes)."""
    x = _ext(a_ext)
    b = np.asarray(b_base, dtype=np.uint64)[..., None]
    return ((x * b) % _P64).astype(np.uint32)


def ext_square(a: ArrayLike) -> np.ndarray:
    return ext_mul(a, a)


def ext_pow(a: ArrayLike, e: int) -> np.ndarray:
    """a^e elementwise; a negative e inverts first (ZeroDivisionError on a zero)."""
    e = int(e)
    if e < 0:
        return ext_pow(ext_inv(a), -e)
    base = _ext(a).astype(np.uint32)
    result = np.broadcast_to(ext_one(), base.shape).copy()
    while e:
        if e & 1:
            result = ext_mul(result, base)
        e >>= 1
        if e:
            base = ext_mul(base, base)
    return result


def ext_inv(a: ArrayLike) -> np.ndarray:
    """Elementwise inverse, raising ZeroDivisionError on a zero element.

    With a' = a(-X), a * a' = b0 + b2 X^2 lies in the subfield F[Y]/(Y^2 - W) (Y = X^2); its
    inverse is (b0 - b2 Y) / (b0^2 - W b2^2), one base-field inversion per element, batched.
    """
    x = _ext(a).astype(np.uint32)
    conj = x.copy()
    conj[..., 1] = np.where(x[..., 1] == 0, 0, P - x[..., 1].astype(np.int64)).astype(np.uint32)
    conj[..., 3] = np.where(x[..., 3] == 0, 0, P - x[..., 3].astype(np.int64)).astype(np.uint32)
    b = ext_mul(x, conj).astype(np.uint64)  # coefficients 1 and 3 are zero
    b0 = b[..., 0]
    b2 = b[..., 2]
    norm = (b0 * b0 % _P64 + (_P64 - (_W64 * (b2 * b2 % _P64)) % _P64)) % _P64
    if np.any(norm == 0):
        raise ZeroDivisionError("inverse of zero in BabyBear^4")
    ninv = batch_inv(norm.astype(np.uint32)).astype(np.uint64)
    binv = np.zeros(x.shape, dtype=np.uint32)
    binv[..., 0] = (b0 * ninv % _P64).astype(np.uint32)
    binv[..., 2] = ((_P64 - b2 * ninv % _P64) % _P64).astype(np.uint32)
    return ext_mul(conj, binv)


def ext_batch_inv(a: ArrayLike) -> np.ndarray:
    """Same as ext_inv (already one batched base inversion for the whole array)."""
    return ext_inv(a)
