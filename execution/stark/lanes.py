"""BabyBear and BabyBear^4 arithmetic on uint64 lanes, for the prover's whole-column work.

The primitive layer (field.py, extension.py) takes and returns canonical uint32 arrays. The
constraint evaluator and the DEEP/FRI code chain dozens of operations over columns of 2^20+
values, so they keep values canonical but widened to uint64 between operations, which saves a
conversion per operation. Products of two canonical values are < 2^62, so one `% P` suffices.
Extension elements have a trailing axis of 4 (coefficients of 1, X, X^2, X^3; X^4 = 11).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

P = 2013265921
W = 11
GENERATOR = 31

U64 = npt.NDArray[np.uint64]

__all__ = [
    "GENERATOR",
    "P",
    "W",
    "b_add",
    "b_inv",
    "b_mul",
    "b_neg",
    "b_pow",
    "b_sub",
    "e_add",
    "e_from_base",
    "e_inv",
    "e_mul",
    "e_mul_base",
    "e_neg",
    "e_pow",
    "e_powers",
    "e_sub",
    "mat_dot_ext",
    "powers",
    "to64",
]

_P64 = np.uint64(P)


def to64(a: npt.ArrayLike) -> U64:
    return np.asarray(a, dtype=np.uint64)


def b_add(a: U64, b: U64) -> U64:
    return (a + b) % _P64  # type: ignore[no-any-return]


def b_sub(a: U64, b: U64) -> U64:
    return (a + (_P64 - b)) % _P64  # type: ignore[no-any-return]


def b_neg(a: U64) -> U64:
    return (_P64 - a) % _P64  # type: ignore[no-any-return]


def b_mul(a: U64, b: U64) -> U64:
    return (a * b) % _P64  # type: ignore[no-any-return]


@nb.njit(cache=True)
def _b_pow_scalar(a: int, e: int) -> int:
    r = 1
    a %= P
    while e > 0:
        if e & 1:
            r = r * a % P
        a = a * a % P
        e >>= 1
    return r


def b_pow(a: int, e: int) -> int:
    return pow(int(a), int(e), P)


@nb.njit(cache=True)
def _batch_inv_kernel(a: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    n = a.shape[0]
    out = np.empty(n, dtype=np.uint64)
    acc = np.uint64(1)
    for i in range(n):
        out[i] = acc
        acc = acc * a[i] % np.uint64(P)
    # Fermat inverse of the running product, then unwind (Montgomery's trick).
    e = P - 2
    inv = np.uint64(1)
    base = acc
    while e > 0:
        if e & 1:
            inv = inv * base % np.uint64(P)
        base = base * base % np.uint64(P)
        e >>= 1
    for i in range(n - 1, -1, -1):
        t = out[i] * inv % np.uint64(P)
        inv = inv * a[i] % np.uint64(P)
        out[i] = t
    return out


def b_inv(a: U64) -> U64:
    """Elementwise inverse (Montgomery batch trick); zero raises ZeroDivisionError."""
    flat = np.ascontiguousarray(a, dtype=np.uint64).reshape(-1)
    if flat.size and not np.all(flat):
        raise ZeroDivisionError("inverse of zero in BabyBear")
    return _batch_inv_kernel(flat).reshape(np.shape(a))  # type: ignore[no-any-return]


def e_add(a: U64, b: U64) -> U64:
    return (a + b) % _P64  # type: ignore[no-any-return]


def e_sub(a: U64, b: U64) -> U64:
    return (a + (_P64 - b)) % _P64  # type: ignore[no-any-return]


def e_neg(a: U64) -> U64:
    return (_P64 - a) % _P64  # type: ignore[no-any-return]


def e_from_base(a: U64) -> U64:
    a = to64(a)
    out = np.zeros((*a.shape, 4), dtype=np.uint64)
    out[..., 0] = a
    return out


def e_mul_base(a: U64, b: U64) -> U64:
    return (a * to64(b)[..., None]) % _P64  # type: ignore[no-any-return]


def e_mul(a: U64, b: U64) -> U64:
    a = to64(a)
    b = to64(b)
    a0, a1, a2, a3 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    b0, b1, b2, b3 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    w = np.uint64(W)

    def m(x: U64, y: U64) -> U64:
        return (x * y) % _P64  # type: ignore[no-any-return]

    c0 = (m(a0, b0) + w * ((m(a1, b3) + m(a2, b2) + m(a3, b1)) % _P64)) % _P64
    c1 = (m(a0, b1) + m(a1, b0) + w * ((m(a2, b3) + m(a3, b2)) % _P64)) % _P64
    c2 = (m(a0, b2) + m(a1, b1) + m(a2, b0) + w * m(a3, b3)) % _P64
    c3 = (m(a0, b3) + m(a1, b2) + m(a2, b1) + m(a3, b0)) % _P64
    return np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1)


def e_inv(a: U64) -> U64:
    """Elementwise extension inverse via the norm to the base field, batched."""
    a = to64(a)
    # conj(a) = a(-X) flips the odd coefficients; a * conj(a) lies in F[X^2].
    conj = a.copy()
    conj[..., 1] = (_P64 - a[..., 1]) % _P64
    conj[..., 3] = (_P64 - a[..., 3]) % _P64
    n2 = e_mul(a, conj)  # coefficients 1 and 3 are zero
    # n2 = u + v X^2; (u + v X^2)(u - v X^2) = u^2 - W v^2 in the base field.
    u, v = n2[..., 0], n2[..., 2]
    norm = (u * u % _P64 + (_P64 - (np.uint64(W) * (v * v % _P64)) % _P64)) % _P64
    ninv = b_inv(norm)
    inv2 = np.zeros_like(n2)
    inv2[..., 0] = u * ninv % _P64
    inv2[..., 2] = (_P64 - v) % _P64 * ninv % _P64
    return e_mul(conj, inv2)


def e_pow(a: U64, e: int) -> U64:
    result = np.zeros_like(to64(a))
    result[..., 0] = 1
    base = to64(a).copy()
    while e > 0:
        if e & 1:
            result = e_mul(result, base)
        base = e_mul(base, base)
        e >>= 1
    return result


def powers(x: int, n: int) -> U64:
    """[1, x, x^2, ..., x^(n-1)] in the base field."""
    out = np.empty(max(n, 1), dtype=np.uint64)
    out[0] = 1
    k = 1
    while k < n:
        step = min(k, n - k)
        out[k : k + step] = out[:step] * np.uint64(pow(int(x), k, P)) % _P64
        k += step
    return out[:n]


def e_powers(x: U64, n: int) -> U64:
    """[1, x, ..., x^(n-1)] of an extension element, shape (n, 4)."""
    out = np.zeros((max(n, 1), 4), dtype=np.uint64)
    out[0, 0] = 1
    k = 1
    while k < n:
        step = min(k, n - k)
        out[k : k + step] = e_mul(out[:step], e_pow(x, k)[None, :])
        k += step
    return out[:n]


@nb.njit(parallel=True, cache=True)
def _mat_dot_ext_kernel(m: np.ndarray, coeffs: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    n, w = m.shape
    out = np.empty((n, 4), dtype=np.uint64)
    p = np.uint64(P)
    for i in nb.prange(n):
        a0 = np.uint64(0)
        a1 = np.uint64(0)
        a2 = np.uint64(0)
        a3 = np.uint64(0)
        for j in range(w):
            x = np.uint64(m[i, j])
            # Each term is < 2^62; reducing every step keeps the sum < 2^63.
            a0 = (a0 + x * coeffs[j, 0]) % p
            a1 = (a1 + x * coeffs[j, 1]) % p
            a2 = (a2 + x * coeffs[j, 2]) % p
            a3 = (a3 + x * coeffs[j, 3]) % p
        out[i, 0] = a0
        out[i, 1] = a1
        out[i, 2] = a2
        out[i, 3] = a3
    return out


def mat_dot_ext(m: npt.NDArray[np.uint32], coeffs: U64) -> U64:
    """Rows of a base matrix (n, w) times an extension vector (w, 4): sum_j m[i, j] * c[j]."""
    return _mat_dot_ext_kernel(  # type: ignore[no-any-return]
        np.ascontiguousarray(m), np.ascontiguousarray(coeffs, dtype=np.uint64)
    )
