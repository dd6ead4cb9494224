"""Radix-2 NTT over BabyBear and the coset low-degree extension of many columns at once.

Kernels run decimation-in-frequency butterflies (natural order in, bit-reversed order out) with
twiddles in Montgomery form, so canonical data stays canonical: ``monty_mul(x, w * R) = x * w``.

``coset_lde`` never runs a separate bit-reversal pass over the extended matrix. For each column:
1. an inverse DIF turns the n evaluations into n * coefficients in bit-reversed order;
2. one gather over the small (n-sized) buffer puts the coefficients in natural order;
3. a blowup-B DIF of length N = n * B on zero-padded coefficients begins with log B layers whose
   only effect is that block j (of B blocks of n) holds ``c_k * t_j^k`` with
   ``t_j = shift * w_N^bitrev_B(j)``; those layers are replaced by one scaling pass (which also
   folds in the 1/n of the inverse transform) writing each block straight into the output;
4. a length-n DIF per block finishes the transform.
Row ``j * n + r`` of the result then holds the value at ``shift * w_N^bitrev_N(j * n + r)``: the
whole output is in bit-reversed order, as the API contract requires.

The result is a Fortran-ordered (column-major) (N, w) array: each column is produced contiguously
and the Merkle leaf hash reads columns across rows. Numpy indexing is unaffected by the order.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit, prange

from execution.stark._monty import P_INT, R_INT, add_mod, monty_mul, sub_mod, to_monty_int
from execution.stark._threads import threads_for
from execution.stark.field import GENERATOR, TWO_ADICITY, two_adic_generator

_ONE_M = np.uint64(R_INT)  # 1 in Montgomery form: monty_mul(x, _ONE_M) == x


@njit(cache=True)
def _geometric(out: np.ndarray, start_m: np.uint64, ratio_m: np.uint64) -> None:
    """out[k] = start * ratio^k, all in Montgomery form."""
    x = start_m
    for k in range(out.shape[0]):
        out[k] = np.uint32(x)
        x = monty_mul(x, ratio_m)


_BLOCK = 1 << 12  # sub-transform size that stays in L1/L2 once the long layers are done
_CHUNK = _BLOCK >> 1  # butterflies per parallel work item in a long layer


@njit(inline="always", cache=True)
def _bfly(a: np.uint64, b: np.uint64, t: np.uint64) -> tuple[np.uint64, np.uint64]:
    return add_mod(a, b), monty_mul(sub_mod(a, b), t)


@njit(cache=True)
def _dif_tail8(x: np.ndarray, tw: np.ndarray) -> None:
    """The last three DIF layers (h = 4, 2, 1) in registers, one block of 8 at a time.

    Short layers run as separate loops would spend their time on loop overhead; as blocks of 8
    the loop over blocks vectorizes (LLVM's interleaved accesses).
    """
    t1 = np.uint64(tw[5])
    t2 = np.uint64(tw[6])
    t3 = np.uint64(tw[7])
    for b in range(x.shape[0] >> 3):
        o = b << 3
        x0, x4 = _bfly(np.uint64(x[o]), np.uint64(x[o + 4]), _ONE_M)
        x1, x5 = _bfly(np.uint64(x[o + 1]), np.uint64(x[o + 5]), t1)
        x2, x6 = _bfly(np.uint64(x[o + 2]), np.uint64(x[o + 6]), t2)
        x3, x7 = _bfly(np.uint64(x[o + 3]), np.uint64(x[o + 7]), t3)
        x0, x2 = _bfly(x0, x2, _ONE_M)
        x1, x3 = _bfly(x1, x3, t2)
        x4, x6 = _bfly(x4, x6, _ONE_M)
        x5, x7 = _bfly(x5, x7, t2)
        x[o] = np.uint32(add_mod(x0, x1))
        x[o + 1] = np.uint32(sub_mod(x0, x1))
        x[o + 2] = np.uint32(add_mod(x2, x3))
        x[o + 3] = np.uint32(sub_mod(x2, x3))
        x[o + 4] = np.uint32(add_mod(x4, x5))
        x[o + 5] = np.uint32(sub_mod(x4, x5))
        x[o + 6] = np.uint32(add_mod(x6, x7))
        x[o + 7] = np.uint32(sub_mod(x6, x7))


@njit(cache=True)
def _dif_small(x: np.ndarray, tw: np.ndarray) -> None:
    """In-place DIF of a short vector, layer by layer (the whole vector stays in cache)."""
    n = x.shape[0]
    h = n >> 1
    last = 8 if n >= 8 else 1
    while h >= last:
        twh = tw[h : 2 * h]
        for s in range(0, n, 2 * h):
            lo = x[s : s + h]
            hi = x[s + h : s + 2 * h]
            for k in range(h):
                a = np.uint64(lo[k])
                b = np.uint64(hi[k])
                lo[k] = np.uint32(add_mod(a, b))
                hi[k] = np.uint32(monty_mul(sub_mod(a, b), np.uint64(twh[k])))
        h >>= 1
    if n >= 8:
        _dif_tail8(x, tw)


@njit(cache=True)
def _dif(x: np.ndarray, tw: np.ndarray) -> None:
    """In-place DIF on a contiguous length-n vector; tw[h + k] = w_{2h}^k (Montgomery form).

    The layers whose butterflies span more than _BLOCK elements run over the whole vector; after
    them the vector falls apart into independent _BLOCK-sized transforms (a half-size-h layer's
    twiddles do not depend on n), each finished while it sits in L1.
    """
    n = x.shape[0]
    if n <= _BLOCK:
        _dif_small(x, tw)
        return
    h = n >> 1
    while 2 * h > _BLOCK:
        twh = tw[h : 2 * h]
        for s in range(0, n, 2 * h):
            lo = x[s : s + h]
            hi = x[s + h : s + 2 * h]
            for k in range(h):
                a = np.uint64(lo[k])
                b = np.uint64(hi[k])
                lo[k] = np.uint32(add_mod(a, b))
                hi[k] = np.uint32(monty_mul(sub_mod(a, b), np.uint64(twh[k])))
        h >>= 1
    for bi in range(n // _BLOCK):
        _dif_small(x[bi * _BLOCK : (bi + 1) * _BLOCK], tw)


@njit(parallel=True, cache=True)
def _dif_rows(rows: np.ndarray, tw: np.ndarray) -> None:
    """DIF every row; a single long row is split across threads instead.

    For one row the layers whose butterflies span more than _BLOCK elements run in parallel
    chunks; after them the row falls apart into independent _BLOCK-sized sub-transforms (the
    twiddles of a half-size-h layer do not depend on n), which run in parallel and in cache.
    """
    m = rows.shape[0]
    n = rows.shape[1]
    if m >= 2 or n <= _BLOCK:
        for c in prange(m):
            _dif(rows[c], tw)
        return
    x = rows[0]
    h = n >> 1
    while 2 * h > _BLOCK:
        nchunks = (n >> 1) // _CHUNK
        twh = tw[h : 2 * h]
        for ci in prange(nchunks):
            b0 = ci * _CHUNK
            s = (b0 // h) * 2 * h
            k0 = b0 % h
            lo = x[s + k0 : s + k0 + _CHUNK]
            hi = x[s + h + k0 : s + h + k0 + _CHUNK]
            tws = twh[k0 : k0 + _CHUNK]
            for k in range(_CHUNK):
                a = np.uint64(lo[k])
                b = np.uint64(hi[k])
                lo[k] = np.uint32(add_mod(a, b))
                hi[k] = np.uint32(monty_mul(sub_mod(a, b), np.uint64(tws[k])))
        h >>= 1
    for bi in prange(n // _BLOCK):
        _dif_small(x[bi * _BLOCK : (bi + 1) * _BLOCK], tw)


@njit(parallel=True, cache=True)
def _bitrev_scale_rows(
    rows: np.ndarray,
    out: np.ndarray,
    rev_k: np.ndarray,
    rev_m: np.ndarray,
    k: int,
    m: int,
    factor_m: np.uint64,
) -> None:
    """out[c, bitrev(i)] = rows[c, i] * factor, in 2^k x 2^k tiles.

    An index is split as (a: k bits, b: m bits, c: k bits) and bitrev maps it to
    (rev c, rev b, rev a): for a fixed b the 2^k x 2^k tile reads and writes 2^k short runs that
    stay in L1, instead of a random gather over the whole row.
    """
    nrows = rows.shape[0]
    nb = 1 << m
    side = 1 << k
    for job in prange(nrows * nb):
        r = job // nb
        b = job % nb
        src = rows[r]
        dst = out[r]
        rb = rev_m[b] << k
        bb = b << k
        for a in range(side):
            ra = rev_k[a]
            src_base = (a << (k + m)) | bb
            dst_base = rb | ra
            for c in range(side):
                dst[(rev_k[c] << (k + m)) | dst_base] = np.uint32(
                    monty_mul(np.uint64(src[src_base | c]), factor_m)
                )


@njit(parallel=True, cache=True)
def _lde_rows(
    cols: np.ndarray,
    out: np.ndarray,
    tw_inv: np.ndarray,
    tw_fwd: np.ndarray,
    rev: np.ndarray,
    scale: np.ndarray,
) -> None:
    w = cols.shape[0]
    n = cols.shape[1]
    blowup = out.shape[1] // n
    for c in prange(w):
        buf = cols[c].copy()
        _dif(buf, tw_inv)
        nat = np.empty(n, dtype=np.uint32)
        for k in range(n):
            nat[k] = buf[rev[k]]
        dst = out[c]
        for j in range(blowup):
            blk = dst[j * n : (j + 1) * n]
            sc = scale[j * n : (j + 1) * n]
            for k in range(n):
                blk[k] = np.uint32(monty_mul(np.uint64(nat[k]), np.uint64(sc[k])))
            _dif(blk, tw_fwd)


@njit(parallel=True, cache=True)
def _transpose(src: np.ndarray, dst: np.ndarray) -> None:
    """dst = src.T for C-contiguous 2-D arrays, in 64 x 64 tiles."""
    rows = src.shape[0]
    cols = src.shape[1]
    tiles_r = (rows + 63) // 64
    for tr in prange(tiles_r):
        r0 = tr * 64
        r1 = min(rows, r0 + 64)
        for c0 in range(0, cols, 64):
            c1 = min(cols, c0 + 64)
            for c in range(c0, c1):
                for r in range(r0, r1):
                    dst[c, r] = src[r, c]


def _log2_exact(n: int) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"length {n} is not a power of two")
    return n.bit_length() - 1


@functools.lru_cache(maxsize=32)
def bit_reverse_indices(log_n: int) -> np.ndarray:
    """rev[i] = i with its log_n low bits reversed (int64; do not modify the cached array)."""
    idx = np.arange(1 << log_n, dtype=np.int64)
    rev = np.zeros_like(idx)
    for b in range(log_n):
        rev |= ((idx >> b) & 1) << (log_n - 1 - b)
    rev.setflags(write=False)
    return rev


@functools.lru_cache(maxsize=32)
def _twiddles(log_n: int, inverse: bool) -> np.ndarray:
    n = 1 << log_n
    tw = np.zeros(max(n, 1), dtype=np.uint32)
    h = 1
    while h < n:
        root = two_adic_generator(_log2_exact(2 * h))
        if inverse:
            root = pow(root, P_INT - 2, P_INT)
        _geometric(tw[h : 2 * h], np.uint64(R_INT), np.uint64(to_monty_int(root)))
        h *= 2
    tw.setflags(write=False)
    return tw


@functools.lru_cache(maxsize=8)
def _lde_scale(log_n: int, log_blowup: int, shift: int) -> np.ndarray:
    n = 1 << log_n
    blowup = 1 << log_blowup
    w_big = two_adic_generator(log_n + log_blowup)
    inv_n = pow(n, P_INT - 2, P_INT)
    rev_b = bit_reverse_indices(log_blowup)
    scale = np.empty(n * blowup, dtype=np.uint32)
    for j in range(blowup):
        t = shift * pow(w_big, int(rev_b[j]), P_INT) % P_INT
        _geometric(
            scale[j * n : (j + 1) * n], np.uint64(to_monty_int(inv_n)), np.uint64(to_monty_int(t))
        )
    scale.setflags(write=False)
    return scale


def _columns(values: np.ndarray, axis: int) -> tuple[np.ndarray, tuple[int, ...]]:
    arr = np.asarray(values)
    if arr.dtype != np.uint32:
        arr = arr.astype(np.uint32)
    moved = np.moveaxis(arr, axis, -1)
    shape = moved.shape
    # Always a fresh copy: the kernels transform in place and the caller's array must survive.
    return np.array(moved.reshape(-1, shape[-1]), order="C", copy=True), shape


def _transform(values: np.ndarray, axis: int, inverse: bool) -> np.ndarray:
    cols, shape = _columns(values, axis)
    n = shape[-1]
    log_n = _log2_exact(n)
    if log_n > TWO_ADICITY:
        raise ValueError(f"NTT length 2^{log_n} exceeds BabyBear's two-adicity")
    if cols.shape[0] == 0:
        return np.moveaxis(cols.reshape(shape), -1, axis)
    factor = pow(n, P_INT - 2, P_INT) if inverse else 1
    out = np.empty_like(cols)
    with threads_for(cols.size >> 6):
        _dif_rows(cols, _twiddles(log_n, inverse))
        k = min(6, log_n // 2)
        m = log_n - 2 * k
        _bitrev_scale_rows(
            cols,
            out,
            bit_reverse_indices(k),
            bit_reverse_indices(m),
            k,
            m,
            np.uint64(to_monty_int(factor)),
        )
    return np.moveaxis(out.reshape(shape), -1, axis)


def ntt(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Evaluations over <w_n> (natural order) of polynomials given by coefficients along axis."""
    return _transform(values, axis, inverse=False)


def intt(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """Coefficients of the polynomials whose evaluations over <w_n> lie along axis (natural)."""
    return _transform(values, axis, inverse=True)


def coset_lde(trace: np.ndarray, log_blowup: int, shift: int = GENERATOR) -> np.ndarray:
    """Low-degree extension of every column of trace (n, w) to the coset shift * <w_{n*B}>.

    Returns an (n << log_blowup, w) uint32 array, Fortran-ordered, whose row i holds the column
    interpolants evaluated at shift * w^bitrev(i) (bit-reversed row order).
    """
    arr = np.asarray(trace)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D trace, got shape {arr.shape}")
    if arr.dtype != np.uint32:
        arr = arr.astype(np.uint32)
    n, w = arr.shape
    log_n = _log2_exact(n)
    if log_blowup < 0 or log_n + log_blowup > TWO_ADICITY:
        raise ValueError(f"cannot extend 2^{log_n} rows by 2^{log_blowup}")
    shift %= P_INT
    if shift == 0:
        raise ValueError("coset shift must be nonzero")
    big_n = n << log_blowup
    out = np.empty((w, big_n), dtype=np.uint32)
    if w == 0:
        return out.T
    with threads_for(out.size >> 6):
        if arr.flags.f_contiguous:
            cols = arr.T
        else:
            cols = np.empty((w, n), dtype=np.uint32)
            _transpose(np.ascontiguousarray(arr), cols)
        _lde_rows(
            cols,
            out,
            _twiddles(log_n, True),
            _twiddles(log_n, False),
            bit_reverse_indices(log_n),
            _lde_scale(log_n, log_blowup, shift),
        )
    return out.T


def lde_domain(log_size: int, shift: int = GENERATOR) -> np.ndarray:
    """The points of coset_lde's rows: element i is shift * w^bitrev(i), w of order 2^log_size."""
    pts = np.empty(1 << log_size, dtype=np.uint32)
    _geometric(
        pts, np.uint64(to_monty_int(1)), np.uint64(to_monty_int(two_adic_generator(log_size)))
    )
    # pts is in Montgomery form; multiplying by shift / R yields canonical shifted points.
    factor = shift % P_INT * pow(R_INT, P_INT - 2, P_INT) % P_INT
    out = (pts[bit_reverse_indices(log_size)].astype(np.uint64) * np.uint64(factor)) % np.uint64(
        P_INT
    )
    return out.astype(np.uint32)
