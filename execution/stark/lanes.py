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
    "gather_columns",
    "gather_rows",
    "mat_dot_ext",
    "powers",
    "to64",
]

_P64 = np.uint64(P)

# Montgomery arithmetic with R = 2^32 inside the kernels below: mm(x, y * R) = x * y for
# canonical x, and the reduction needs no division (a uint64 `%` by p costs ~10 ns in numba).
_R = (1 << 32) % P
_R2 = (1 << 64) % P
_MU = (-pow(P, -1, 1 << 32)) % (1 << 32)


@nb.njit(inline="always", cache=True)
def _mm(a: np.uint64, b: np.uint64) -> np.uint64:
    t = a * b
    m = ((t & np.uint64(0xFFFFFFFF)) * np.uint64(_MU)) & np.uint64(0xFFFFFFFF)
    u = (t + m * np.uint64(P)) >> np.uint64(32)
    return u - np.uint64(P) if u >= np.uint64(P) else u


@nb.njit(inline="always", cache=True)
def _ma(a: np.uint64, b: np.uint64) -> np.uint64:
    s = a + b
    return s - np.uint64(P) if s >= np.uint64(P) else s


def to_monty(a: npt.ArrayLike) -> U64:
    """a * 2^32 mod p (the form the kernels' second operands take)."""
    return (to64(a) * np.uint64(_R)) % _P64  # type: ignore[no-any-return]


def to64(a: npt.ArrayLike) -> U64:
    return np.asarray(a, dtype=np.uint64)


@nb.njit(cache=True)
def _b_add_kernel(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:  # type: ignore[type-arg]
    for i in range(out.shape[0]):
        out[i] = _ma(a[i], b[i])


@nb.njit(cache=True)
def _b_sub_kernel(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:  # type: ignore[type-arg]
    p = np.uint64(P)
    for i in range(out.shape[0]):
        x = a[i]
        y = b[i]
        out[i] = x - y if x >= y else x + p - y


@nb.njit(cache=True)
def _b_mul_kernel(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:  # type: ignore[type-arg]
    r2 = np.uint64(_R2)
    for i in range(out.shape[0]):
        out[i] = _mm(_mm(a[i], b[i]), r2)


@nb.njit(cache=True)
def _b_add_scalar_kernel(a: np.ndarray, y: np.uint64, out: np.ndarray) -> None:  # type: ignore[type-arg]
    for i in range(out.shape[0]):
        out[i] = _ma(a[i], y)


@nb.njit(cache=True)
def _b_mul_scalar_kernel(a: np.ndarray, ym: np.uint64, out: np.ndarray) -> None:  # type: ignore[type-arg]
    for i in range(out.shape[0]):
        out[i] = _mm(a[i], ym)


def _b_kernel(op: int, a: U64, b: U64) -> U64:
    # Serial on purpose: these are memory-bound, and OpenMP threads on a shared, loaded
    # machine cost more than they give.
    n = max(a.shape[0], b.shape[0])
    out = np.empty(n, dtype=np.uint64)
    if a.shape[0] == 1 and op != 1:
        a, b = b, a
    if b.shape[0] == 1 and a.shape[0] > 1:
        y = np.uint64(b[0])
        if op == 0:
            _b_add_scalar_kernel(a, y, out)
        elif op == 1:
            _b_add_scalar_kernel(a, np.uint64((P - int(y)) % P), out)
        else:
            _b_mul_scalar_kernel(a, np.uint64(int(y) * _R % P), out)
        return out
    if a.shape[0] == 1:  # only for sub: scalar - array
        a = np.full(n, a[0], dtype=np.uint64)
    (_b_add_kernel, _b_sub_kernel, _b_mul_kernel)[op](a, b, out)
    return out


def _b_binop(op: int, a: U64, b: U64, fallback: str) -> U64:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim <= 1 and b.ndim <= 1 and max(a.size, b.size) >= _SMALL_BASE:
        return _b_kernel(
            op,
            np.atleast_1d(a).astype(np.uint64, copy=False),
            np.atleast_1d(b).astype(np.uint64, copy=False),
        )
    a64 = a.astype(np.uint64)
    b64 = b.astype(np.uint64)
    if fallback == "add":
        return (a64 + b64) % _P64  # type: ignore[no-any-return]
    if fallback == "sub":
        return (a64 + (_P64 - b64)) % _P64  # type: ignore[no-any-return]
    return (a64 * b64) % _P64  # type: ignore[no-any-return]


_SMALL_BASE = 1024


def b_add(a: U64, b: U64) -> U64:
    return _b_binop(0, a, b, "add")


def b_sub(a: U64, b: U64) -> U64:
    return _b_binop(1, a, b, "sub")


@nb.njit(cache=True)
def _b_neg_kernel(a: np.ndarray, out: np.ndarray) -> None:  # type: ignore[type-arg]
    p = np.uint64(P)
    for i in range(out.shape[0]):
        x = a[i]
        out[i] = p - x if x != 0 else x


def b_neg(a: U64) -> U64:
    a = np.asarray(a)
    if a.size >= _SMALL_BASE:
        flat = np.ascontiguousarray(a, dtype=np.uint64).reshape(-1)
        out = np.empty_like(flat)
        _b_neg_kernel(flat, out)
        return out.reshape(a.shape)
    return (_P64 - a) % _P64  # type: ignore[no-any-return]


def b_mul(a: U64, b: U64) -> U64:
    return _b_binop(2, a, b, "mul")


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


@nb.njit(cache=True)
def _e_addsub_row_kernel(a: np.ndarray, row: np.ndarray, mode: int, out: np.ndarray) -> None:  # type: ignore[type-arg]
    """mode 0: a + row, 1: a - row, 2: row - a (row is one extension element)."""
    p = np.uint64(P)
    for i in range(a.shape[0]):
        for c in range(4):
            x = a[i, c]
            y = row[c]
            if mode == 2:
                x, y = y, x
            if mode != 0:
                out[i, c] = x - y if x >= y else x + p - y
            else:
                out[i, c] = _ma(x, y)


def _e_addsub(a: U64, b: U64, sub: bool) -> U64:
    a = np.asarray(a)
    b = np.asarray(b)
    # One operand a single element (a challenge, a constant, an opening): the row kernel, on
    # either side (numpy's uint64 `%` on the broadcast was most of the DAG's add/sub time).
    mode = 1 if sub else 0
    if a.shape in ((4,), (1, 4)) and b.ndim == 2 and b.shape[1] == 4 and b.size >= _SMALL_BASE:
        a, b = b, a.reshape(4)
        mode = 2 if sub else 0
    elif b.shape == (1, 4) and a.ndim == 2 and a.shape[1] == 4:
        b = b.reshape(4)
    if b.shape == (4,) and a.ndim == 2 and a.shape[1] == 4 and a.size >= _SMALL_BASE:
        out = np.empty(a.shape, dtype=np.uint64)
        _e_addsub_row_kernel(
            np.ascontiguousarray(a, dtype=np.uint64), b.astype(np.uint64), mode, out
        )
        return out
    if a.shape == b.shape and a.size >= _SMALL_BASE:
        out = np.empty(a.shape, dtype=np.uint64)
        kernel = _b_sub_kernel if sub else _b_add_kernel
        kernel(
            np.ascontiguousarray(a, dtype=np.uint64).reshape(-1),
            np.ascontiguousarray(b, dtype=np.uint64).reshape(-1),
            out.reshape(-1),
        )
        return out
    a64 = a.astype(np.uint64, copy=False)
    b64 = b.astype(np.uint64, copy=False)
    if sub:
        return (a64 + (_P64 - b64)) % _P64  # type: ignore[no-any-return]
    return (a64 + b64) % _P64  # type: ignore[no-any-return]


def e_add(a: U64, b: U64) -> U64:
    return _e_addsub(a, b, False)


def e_sub(a: U64, b: U64) -> U64:
    return _e_addsub(a, b, True)


def e_neg(a: U64) -> U64:
    return b_neg(a)


def e_from_base(a: U64) -> U64:
    a = to64(a)
    out = np.zeros((*a.shape, 4), dtype=np.uint64)
    out[..., 0] = a
    return out


@nb.njit(cache=True)
def _e_mul_base_kernel(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:  # type: ignore[type-arg]
    r2 = np.uint64(_R2)
    da = 1 if a.shape[0] > 1 else 0
    db = 1 if b.shape[0] > 1 else 0
    for i in range(out.shape[0]):
        y = _mm(b[i * db], r2)  # y * R: one Montgomery product per coefficient gives a * y
        ia = i * da
        for c in range(4):
            out[i, c] = _mm(a[ia, c], y)


def e_mul_base(a: U64, b: npt.ArrayLike) -> U64:
    a = np.asarray(a)
    b64 = to64(b)
    # The constraint DAG, LogUp and DEEP multiply whole extension columns by base columns:
    # numpy's uint64 `%` was the prover's costliest elementwise operation.
    if a.ndim <= 2 and a.shape[-1:] == (4,) and b64.ndim <= 1:
        a2 = np.ascontiguousarray(a, dtype=np.uint64).reshape(-1, 4)
        b1 = np.ascontiguousarray(b64).reshape(-1)
        m, k = a2.shape[0], b1.shape[0]
        rows = max(m, k)
        if rows >= _SMALL_BASE // 4 and m in (1, rows) and k in (1, rows):
            out = np.empty((rows, 4), dtype=np.uint64)
            _e_mul_base_kernel(a2, b1, out)
            if a.ndim == 1 and b64.ndim == 0:
                return out.reshape(4)
            return out
    return (a * b64[..., None]) % _P64  # type: ignore[no-any-return]


@nb.njit(inline="always", cache=True)
def _e_mul_into(
    out: np.ndarray,  # type: ignore[type-arg]
    i: int,
    a: np.ndarray,  # type: ignore[type-arg]
    ia: int,
    b: np.ndarray,  # type: ignore[type-arg]
    ib: int,
    wr: np.uint64,
    r2: np.uint64,
) -> None:
    """out[i] = a[ia] * b[ib] in the extension (rows of 4 canonical limbs; `out` may be
    `a` with i != ia). wr = W*R and r2 = R^2 mod P: the products come out divided by R, and
    one final multiplication by R^2 restores them."""
    a0, a1, a2, a3 = a[ia, 0], a[ia, 1], a[ia, 2], a[ia, 3]
    b0, b1, b2, b3 = b[ib, 0], b[ib, 1], b[ib, 2], b[ib, 3]
    t = _ma(_ma(_mm(a1, b3), _mm(a2, b2)), _mm(a3, b1))
    out[i, 0] = _mm(_ma(_mm(a0, b0), _mm(t, wr)), r2)
    t = _ma(_mm(a2, b3), _mm(a3, b2))
    out[i, 1] = _mm(_ma(_ma(_mm(a0, b1), _mm(a1, b0)), _mm(t, wr)), r2)
    t = _ma(_ma(_mm(a0, b2), _mm(a1, b1)), _mm(a2, b0))
    out[i, 2] = _mm(_ma(t, _mm(_mm(a3, b3), wr)), r2)
    t = _ma(_ma(_mm(a0, b3), _mm(a1, b2)), _ma(_mm(a2, b1), _mm(a3, b0)))
    out[i, 3] = _mm(t, r2)


@nb.njit(parallel=True, cache=True)
def _e_mul_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    m = max(a.shape[0], b.shape[0])
    out = np.empty((m, 4), dtype=np.uint64)
    wr = np.uint64(W * _R % P)
    r2 = np.uint64(_R2)
    da = 1 if a.shape[0] > 1 else 0
    db = 1 if b.shape[0] > 1 else 0
    for i in nb.prange(m):
        ia = i * da
        ib = i * db
        _e_mul_into(out, i, a, ia, b, ib, wr, r2)
    return out


@nb.njit(cache=True)
def _e_mul_serial(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    m = max(a.shape[0], b.shape[0])
    out = np.empty((m, 4), dtype=np.uint64)
    wr = np.uint64(W * _R % P)
    r2 = np.uint64(_R2)
    da = 1 if a.shape[0] > 1 else 0
    db = 1 if b.shape[0] > 1 else 0
    for i in range(m):
        ia = i * da
        ib = i * db
        _e_mul_into(out, i, a, ia, b, ib, wr, r2)
    return out


_PARALLEL_ROWS = 1 << 14


def _e_mul_scalar(a: U64, b: U64) -> U64:
    # One element each: Python integers beat a dozen numpy calls on 4-element arrays.
    return np.array(_e_mul_ints(a.tolist(), b.tolist()), dtype=np.uint64)


def _e_mul_ints(a: list[int], b: list[int]) -> list[int]:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return [
        (a0 * b0 + W * (a1 * b3 + a2 * b2 + a3 * b1)) % P,
        (a0 * b1 + a1 * b0 + W * (a2 * b3 + a3 * b2)) % P,
        (a0 * b2 + a1 * b1 + a2 * b0 + W * a3 * b3) % P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P,
    ]


def e_mul(a: U64, b: U64) -> U64:
    a = to64(a)
    b = to64(b)
    if a.shape == (4,) and b.shape == (4,):
        return _e_mul_scalar(a, b)
    # A vector of up to a few thousand elements times one element (the verifier's per-query
    # values): straight to the serial kernel, without the general broadcast bookkeeping.
    if a.ndim == 2 and a.shape[1] == 4 and b.shape == (4,) and a.shape[0] < _PARALLEL_ROWS:
        return _e_mul_serial(np.ascontiguousarray(a), b.reshape(1, 4))  # type: ignore[no-any-return]
    if b.ndim == 2 and b.shape[1] == 4 and a.shape == (4,) and b.shape[0] < _PARALLEL_ROWS:
        return _e_mul_serial(a.reshape(1, 4), np.ascontiguousarray(b))  # type: ignore[no-any-return]
    shape = np.broadcast_shapes(a.shape, b.shape)
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    if (a.shape == shape or a.shape == (4,)) and (b.shape == shape or b.shape == (4,)):
        a2 = np.ascontiguousarray(a).reshape(-1, 4)
        b2 = np.ascontiguousarray(b).reshape(-1, 4)
        kernel = _e_mul_kernel if rows >= _PARALLEL_ROWS else _e_mul_serial
        return kernel(a2, b2).reshape(shape)  # type: ignore[no-any-return]
    a0, a1, a2_, a3 = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    b0, b1, b2_, b3 = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    w = np.uint64(W)

    def m(x: U64, y: U64) -> U64:
        return (x * y) % _P64  # type: ignore[no-any-return]

    c0 = (m(a0, b0) + w * ((m(a1, b3) + m(a2_, b2_) + m(a3, b1)) % _P64)) % _P64
    c1 = (m(a0, b1) + m(a1, b0) + w * ((m(a2_, b3) + m(a3, b2_)) % _P64)) % _P64
    c2 = (m(a0, b2_) + m(a1, b1) + m(a2_, b0) + w * m(a3, b3)) % _P64
    c3 = (m(a0, b3) + m(a1, b2_) + m(a2_, b1) + m(a3, b0)) % _P64
    return np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1)


@nb.njit(inline="always", cache=True)
def _mul(x: np.uint64, y: np.uint64) -> np.uint64:
    return _mm(_mm(x, y), np.uint64(_R2))


@nb.njit(inline="always", cache=True)
def _ms(x: np.uint64, y: np.uint64) -> np.uint64:
    return x - y if x >= y else x + np.uint64(P) - y


@nb.njit(inline="always", cache=True)
def _norm_parts(
    a0: np.uint64, a1: np.uint64, a2: np.uint64, a3: np.uint64
) -> tuple[np.uint64, np.uint64]:
    # a * conj(a) = u + v X^2 with conj(a) = a(-X).
    w = np.uint64(W)
    t = _mul(a1, a3)
    u = _ma(_mul(a0, a0), _mul(w, _ms(_mul(a2, a2), _ma(t, t))))
    s = _mul(a0, a2)
    v = _ms(_ms(_ma(s, s), _mul(a1, a1)), _mul(w, _mul(a3, a3)))
    return u, v


@nb.njit(cache=True)
def _e_inv_kernel(a: np.ndarray, out: np.ndarray) -> int:  # type: ignore[type-arg]
    """out[i] = 1 / a[i] (norm to the base field, one batched Fermat inversion of the norms).
    Returns the index of a zero element, or -1."""
    n = a.shape[0]
    w = np.uint64(W)
    zero = np.uint64(0)
    prefix = np.empty(n, dtype=np.uint64)
    acc = np.uint64(1)
    for i in range(n):
        u, v = _norm_parts(a[i, 0], a[i, 1], a[i, 2], a[i, 3])
        norm = _ms(_mul(u, u), _mul(w, _mul(v, v)))
        if norm == zero:
            return i
        prefix[i] = acc
        acc = _mul(acc, norm)
    inv = np.uint64(1)
    base = acc
    e = P - 2
    while e > 0:
        if e & 1:
            inv = _mul(inv, base)
        base = _mul(base, base)
        e >>= 1
    for i in range(n - 1, -1, -1):
        a0, a1, a2, a3 = a[i, 0], a[i, 1], a[i, 2], a[i, 3]
        u, v = _norm_parts(a0, a1, a2, a3)
        norm = _ms(_mul(u, u), _mul(w, _mul(v, v)))
        ninv = _mul(prefix[i], inv)
        inv = _mul(inv, norm)
        # 1/a = conj(a) (u - v X^2) / norm
        b0 = _mul(u, ninv)
        b2 = _mul(_ms(zero, v), ninv)
        c1 = _ms(zero, a1)
        c3 = _ms(zero, a3)
        out[i, 0] = _ma(_mul(a0, b0), _mul(w, _mul(a2, b2)))
        out[i, 1] = _ma(_mul(c1, b0), _mul(w, _mul(c3, b2)))
        out[i, 2] = _ma(_mul(a0, b2), _mul(a2, b0))
        out[i, 3] = _ma(_mul(c1, b2), _mul(c3, b0))
    return -1


def e_inv(a: U64) -> U64:
    """Elementwise extension inverse via the norm to the base field, batched."""
    a = to64(a)
    if a.ndim >= 2 and a.shape[-1] == 4 and a.size >= _SMALL_BASE:
        # One fused pass (LogUp denominators, DEEP's 1/(x - zeta)): the numpy version made a
        # dozen full-size temporaries with uint64 `%`.
        flat = np.ascontiguousarray(a).reshape(-1, 4)
        out = np.empty_like(flat)
        if _e_inv_kernel(flat, out) >= 0:
            raise ZeroDivisionError("inverse of zero in BabyBear^4")
        return out.reshape(a.shape)
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
    a = to64(a)
    if a.shape == (4,):
        # One element (the verifier's case): Python integers, no numpy call per product.
        acc = [1, 0, 0, 0]
        sq = a.tolist()
        while e > 0:
            if e & 1:
                acc = _e_mul_ints(acc, sq)
            sq = _e_mul_ints(sq, sq)
            e >>= 1
        return np.array(acc, dtype=np.uint64)
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


@nb.njit(cache=True)
def _e_powers_kernel(x: np.ndarray, n: int) -> np.ndarray:  # type: ignore[type-arg]
    out = np.zeros((n, 4), dtype=np.uint64)
    out[0, 0] = 1
    wr = np.uint64(W * _R % P)
    r2 = np.uint64(_R2)
    b = x.reshape(1, 4)
    for i in range(1, n):
        _e_mul_into(out, i, out, i - 1, b, 0, wr, r2)
    return out


def e_powers(x: U64, n: int) -> U64:
    """[1, x, ..., x^(n-1)] of an extension element, shape (n, 4)."""
    # One serial kernel call: the verifier asks for a few hundred powers per opened matrix, and
    # the doubling loop of numpy calls cost more than the products.
    out = _e_powers_kernel(np.ascontiguousarray(to64(x).reshape(4)), max(n, 1))
    return out[:n]  # type: ignore[no-any-return]


@nb.njit(parallel=True, cache=True)
def _mat_dot_ext_kernel(m: np.ndarray, cm: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    # cm holds the coefficients in Montgomery form, so _mm(x, cm) = x * c.
    n, w = m.shape
    out = np.empty((n, 4), dtype=np.uint64)
    for i in nb.prange(n):
        a0 = np.uint64(0)
        a1 = np.uint64(0)
        a2 = np.uint64(0)
        a3 = np.uint64(0)
        for j in range(w):
            x = np.uint64(m[i, j])
            a0 = _ma(a0, _mm(x, cm[j, 0]))
            a1 = _ma(a1, _mm(x, cm[j, 1]))
            a2 = _ma(a2, _mm(x, cm[j, 2]))
            a3 = _ma(a3, _mm(x, cm[j, 3]))
        out[i, 0] = a0
        out[i, 1] = a1
        out[i, 2] = a2
        out[i, 3] = a3
    return out


@nb.njit(cache=True)
def _mat_dot_ext_serial(m: np.ndarray, cm: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    # cm holds the coefficients in Montgomery form, so _mm(x, cm) = x * c.
    n, w = m.shape
    out = np.empty((n, 4), dtype=np.uint64)
    for i in range(n):
        a0 = np.uint64(0)
        a1 = np.uint64(0)
        a2 = np.uint64(0)
        a3 = np.uint64(0)
        for j in range(w):
            x = np.uint64(m[i, j])
            a0 = _ma(a0, _mm(x, cm[j, 0]))
            a1 = _ma(a1, _mm(x, cm[j, 1]))
            a2 = _ma(a2, _mm(x, cm[j, 2]))
            a3 = _ma(a3, _mm(x, cm[j, 3]))
        out[i, 0] = a0
        out[i, 1] = a1
        out[i, 2] = a2
        out[i, 3] = a3
    return out


@nb.njit(parallel=True, cache=True)
def _mat_dot_ext_cols_kernel(m: np.ndarray, cm: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    # m is column-major: per block of rows, walk each column contiguously while the block's
    # accumulators stay in cache.
    n, w = m.shape
    out = np.empty((n, 4), dtype=np.uint64)
    block = 512
    nblocks = (n + block - 1) // block
    for bi in nb.prange(nblocks):
        lo = bi * block
        hi = min(n, lo + block)
        acc = np.zeros((4, hi - lo), dtype=np.uint64)
        for j in range(w):
            c0 = cm[j, 0]
            c1 = cm[j, 1]
            c2 = cm[j, 2]
            c3 = cm[j, 3]
            for i in range(lo, hi):
                x = np.uint64(m[i, j])
                k = i - lo
                acc[0, k] = _ma(acc[0, k], _mm(x, c0))
                acc[1, k] = _ma(acc[1, k], _mm(x, c1))
                acc[2, k] = _ma(acc[2, k], _mm(x, c2))
                acc[3, k] = _ma(acc[3, k], _mm(x, c3))
        for i in range(lo, hi):
            for c in range(4):
                out[i, c] = acc[c, i - lo]
    return out


def mat_dot_ext(m: npt.NDArray[np.uint32], coeffs: U64) -> U64:
    """Rows of a base matrix (n, w) times an extension vector (w, 4): sum_j m[i, j] * c[j]."""
    cm = np.ascontiguousarray(to_monty(coeffs))
    if m.shape[0] * m.shape[1] < 1 << 16:
        return _mat_dot_ext_serial(np.ascontiguousarray(m), cm)  # type: ignore[no-any-return]
    if m.flags.f_contiguous and not m.flags.c_contiguous:
        return _mat_dot_ext_cols_kernel(m, cm)  # type: ignore[no-any-return]
    return _mat_dot_ext_kernel(np.ascontiguousarray(m), cm)  # type: ignore[no-any-return]


@nb.njit(parallel=True, cache=True)
def _gather_cols_kernel(m: np.ndarray, idx: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    w = m.shape[1]
    k = idx.shape[0]
    out = np.empty((w, k), dtype=np.uint64)
    for j in nb.prange(w):
        for i in range(k):
            out[j, i] = m[idx[i], j]
    return out


@nb.njit(cache=True)
def _gather_rows_kernel(m: np.ndarray, idx: np.ndarray, c0: int, out: np.ndarray) -> None:  # type: ignore[type-arg]
    k = out.shape[1]
    for c in range(k):
        col = m[:, c0 + c]
        for j in range(idx.shape[0]):
            out[j, c] = col[idx[j]]


def gather_rows(m: npt.NDArray[np.uint32], idx: npt.NDArray[np.int64], c0: int, k: int) -> U64:
    """m[idx, c0:c0 + k] as uint64 in one pass (fancy indexing then astype made two)."""
    out = np.empty((idx.shape[0], k), dtype=np.uint64)
    _gather_rows_kernel(m, np.ascontiguousarray(idx, dtype=np.int64), c0, out)
    return out


def gather_columns(m: npt.NDArray[np.uint32], idx: npt.NDArray[np.int64]) -> U64:
    """Columns of m at the given rows, transposed: out[j, i] = m[idx[i], j] (uint64)."""
    return _gather_cols_kernel(m, np.ascontiguousarray(idx, dtype=np.int64))  # type: ignore[no-any-return]
