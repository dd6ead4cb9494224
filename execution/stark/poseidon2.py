"""Poseidon2 over BabyBear, width 16 (Plonky3's constants), as a sponge and a 2-to-1 compression.

The permutation follows ``poseidon2_babybear_16.json`` (a copy of the shared known-answer file)
exactly. Kernels hold states in blocks of up to 256 lanes laid out as (16, lanes) so that every
round is a loop over lanes that LLVM vectorizes; inside a kernel the state is in Montgomery form.

Sponge (``hash_elements``, ``hash_rows``): overwrite mode, rate 8, capacity 8. The initial state is
zero except ``state[8] = len(input)`` and ``state[9] = domain tag``; the input is absorbed in chunks
of 8 (the last chunk zero-padded; an empty input is one zero chunk), each chunk overwriting
``state[0:8]`` and followed by a permutation. The digest is ``state[0:8]``. The length in the
capacity makes inputs of different lengths distinct, the tag separates uses.

Compression: ``compress(l, r) = permute(l || r)[0:8] + (tag, 0, ..., 0)``. Adding the tag after the
permutation (not before) is what separates it from the sponge: a sponge digest is a bare
truncated permutation output, so taking a leaf's last sponge state as (l, r) does not reproduce the
leaf digest as an inner node.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
from numba import njit, prange

from execution.stark._monty import (
    P_INT,
    R2_INT,
    R_INT,
    add_mod,
    monty_mul,
    reduce36,
)
from execution.stark._threads import SERIAL_BELOW, threads_for

WIDTH = 16
RATE = 8
DIGEST_SIZE = 8
LANES = 256

SPONGE_DOMAIN_HASH = 0
SPONGE_DOMAIN_LEAF = 1
SPONGE_DOMAIN_CHALLENGER = 2
COMPRESS_DOMAIN_NODE = 1


def _load_constants() -> dict[str, object]:
    text = resources.files("execution.stark").joinpath("poseidon2_babybear_16.json").read_text()
    data: dict[str, object] = json.loads(text)
    return data


_CONST = _load_constants()


def _monty_array(values: object) -> np.ndarray:
    """Constants in Montgomery form (c * 2^32 mod p), as the kernels use them."""
    canon = np.asarray(values, dtype=np.uint64)
    return ((canon * np.uint64(R_INT)) % np.uint64(P_INT)).astype(np.uint32)


_RC_INIT = _monty_array(_CONST["external_rounds_initial"])
_RC_FINAL = _monty_array(_CONST["external_rounds_final"])
_RC_INT = _monty_array(_CONST["internal_round_constants"])
if _RC_INIT.shape != (4, 16) or _RC_FINAL.shape != (4, 16) or _RC_INT.shape != (13,):
    raise RuntimeError("poseidon2_babybear_16.json does not have the expected shape")
if int(_CONST["field_modulus"]) != P_INT or int(_CONST["width"]) != WIDTH:  # type: ignore[call-overload]
    raise RuntimeError("poseidon2_babybear_16.json is not for BabyBear width 16")

_R2 = np.uint64(R2_INT)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_THREE = np.uint64(3)
_FOUR = np.uint64(4)
_P = np.uint64(P_INT)
_K3 = np.uint64(3)
_K4 = np.uint64(4)
_K8 = np.uint64(8)
_K27 = np.uint64(27)
_FIFTEEN = np.uint64(15)
_TWO_P = np.uint64(2 * P_INT)


@njit(inline="always", cache=True)
def _sbox(x: np.uint64) -> np.uint64:
    x2 = monty_mul(x, x)
    x3 = monty_mul(x2, x)
    x4 = monty_mul(x2, x2)
    return monty_mul(x4, x3)


@njit(inline="always", cache=True)
def _m4(
    a: np.uint64, b: np.uint64, c: np.uint64, d: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    # rows [2,3,1,1], [1,2,3,1], [1,1,2,3], [3,1,1,2]; outputs stay below 7p
    t = a + b + c + d
    return t + a + b + b, t + b + c + c, t + c + d + d, t + a + a + d


@njit(cache=True)
def _external_linear(st: np.ndarray) -> None:
    # M4 on each chunk of 4, then add the sums over chunks; lazily in uint64 (below 35p < 2^37)
    # with one reduction at the end.
    lanes = st.shape[1]
    for lane in range(lanes):
        y0, y1, y2, y3 = _m4(
            np.uint64(st[0, lane]),
            np.uint64(st[1, lane]),
            np.uint64(st[2, lane]),
            np.uint64(st[3, lane]),
        )
        y4, y5, y6, y7 = _m4(
            np.uint64(st[4, lane]),
            np.uint64(st[5, lane]),
            np.uint64(st[6, lane]),
            np.uint64(st[7, lane]),
        )
        y8, y9, y10, y11 = _m4(
            np.uint64(st[8, lane]),
            np.uint64(st[9, lane]),
            np.uint64(st[10, lane]),
            np.uint64(st[11, lane]),
        )
        y12, y13, y14, y15 = _m4(
            np.uint64(st[12, lane]),
            np.uint64(st[13, lane]),
            np.uint64(st[14, lane]),
            np.uint64(st[15, lane]),
        )
        s0 = y0 + y4 + y8 + y12
        s1 = y1 + y5 + y9 + y13
        s2 = y2 + y6 + y10 + y14
        s3 = y3 + y7 + y11 + y15
        st[0, lane] = np.uint32(reduce36(y0 + s0))
        st[1, lane] = np.uint32(reduce36(y1 + s1))
        st[2, lane] = np.uint32(reduce36(y2 + s2))
        st[3, lane] = np.uint32(reduce36(y3 + s3))
        st[4, lane] = np.uint32(reduce36(y4 + s0))
        st[5, lane] = np.uint32(reduce36(y5 + s1))
        st[6, lane] = np.uint32(reduce36(y6 + s2))
        st[7, lane] = np.uint32(reduce36(y7 + s3))
        st[8, lane] = np.uint32(reduce36(y8 + s0))
        st[9, lane] = np.uint32(reduce36(y9 + s1))
        st[10, lane] = np.uint32(reduce36(y10 + s2))
        st[11, lane] = np.uint32(reduce36(y11 + s3))
        st[12, lane] = np.uint32(reduce36(y12 + s0))
        st[13, lane] = np.uint32(reduce36(y13 + s1))
        st[14, lane] = np.uint32(reduce36(y14 + s2))
        st[15, lane] = np.uint32(reduce36(y15 + s3))


@njit(cache=True)
def _external_round(st: np.ndarray, rc: np.ndarray) -> None:
    lanes = st.shape[1]
    for i in range(16):
        c = np.uint64(rc[i])
        row = st[i]
        for lane in range(lanes):
            row[lane] = np.uint32(_sbox(add_mod(np.uint64(row[lane]), c)))
    _external_linear(st)


# Plonky3's internal diagonal is made of small multiples and signed powers of 1/2, so the kernel
# multiplies by shifts, halvings and exact divisions by powers of two instead of full products.
# The constants file is checked against these exact values at import.
_EXPECTED_DIAG = [
    P_INT - 2,
    1,
    2,
    (P_INT + 1) // 2,
    3,
    4,
    (P_INT - 1) // 2,
    P_INT - 3,
    P_INT - 4,
    P_INT - (P_INT - 1) // 2**8,
    P_INT - (P_INT - 1) // 4,
    P_INT - (P_INT - 1) // 8,
    P_INT - (P_INT - 1) // 2**27,
    (P_INT - 1) // 2**8,
    (P_INT - 1) // 16,
    (P_INT - 1) // 2**27,
]
if [int(v) for v in _CONST["internal_diagonal_V"]] != _EXPECTED_DIAG:  # type: ignore[attr-defined]
    raise RuntimeError("internal_diagonal_V differs from the diagonal the kernel hard-codes")


@njit(inline="always", cache=True)
def _half(x: np.uint64) -> np.uint64:
    """x / 2 mod p for x < p."""
    return (x + (x & _ONE) * _P) >> _ONE


@njit(inline="always", cache=True)
def _div_pow2(x: np.uint64, k: np.uint64) -> np.uint64:
    """x / 2^k mod p, in [0, 2p), for x < p and 1 <= k <= 27, without a multiply.

    p = 1 (mod 2^27), so m = -x mod 2^k makes x + m*p divisible by 2^k, and m*p is
    m + ((m * 15) << 27) (shifts and adds). The result is below p / 2^k + p < 2p.
    """
    m = (np.uint64(0) - x) & ((_ONE << k) - _ONE)
    return (x + m + ((m * _FIFTEEN) << _K27)) >> k


@njit(cache=True)
def _internal_round(st: np.ndarray, c: np.uint64) -> None:
    # Written out lane by lane with scalars so that LLVM vectorizes across lanes. Every sum below
    # stays under 20p < 2^36 before the single reduction (terms are at most 4p).
    lanes = st.shape[1]
    for lane in range(lanes):
        x0 = _sbox(add_mod(np.uint64(st[0, lane]), c))
        x1 = np.uint64(st[1, lane])
        x2 = np.uint64(st[2, lane])
        x3 = np.uint64(st[3, lane])
        x4 = np.uint64(st[4, lane])
        x5 = np.uint64(st[5, lane])
        x6 = np.uint64(st[6, lane])
        x7 = np.uint64(st[7, lane])
        x8 = np.uint64(st[8, lane])
        x9 = np.uint64(st[9, lane])
        x10 = np.uint64(st[10, lane])
        x11 = np.uint64(st[11, lane])
        x12 = np.uint64(st[12, lane])
        x13 = np.uint64(st[13, lane])
        x14 = np.uint64(st[14, lane])
        x15 = np.uint64(st[15, lane])
        total = (
            ((x0 + x1) + (x2 + x3))
            + ((x4 + x5) + (x6 + x7))
            + (((x8 + x9) + (x10 + x11)) + ((x12 + x13) + (x14 + x15)))
        )
        st[0, lane] = np.uint32(reduce36(total + _TWO * (_P - x0)))
        st[1, lane] = np.uint32(reduce36(total + x1))
        st[2, lane] = np.uint32(reduce36(total + _TWO * x2))
        st[3, lane] = np.uint32(reduce36(total + _half(x3)))
        st[4, lane] = np.uint32(reduce36(total + _THREE * x4))
        st[5, lane] = np.uint32(reduce36(total + _FOUR * x5))
        st[6, lane] = np.uint32(reduce36(total + (_P - _half(x6))))
        st[7, lane] = np.uint32(reduce36(total + _THREE * (_P - x7)))
        st[8, lane] = np.uint32(reduce36(total + _FOUR * (_P - x8)))
        st[9, lane] = np.uint32(reduce36(total + _div_pow2(x9, _K8)))
        st[10, lane] = np.uint32(reduce36(total + _half(_half(x10))))
        st[11, lane] = np.uint32(reduce36(total + _div_pow2(x11, _K3)))
        st[12, lane] = np.uint32(reduce36(total + _div_pow2(x12, _K27)))
        st[13, lane] = np.uint32(reduce36(total + (_TWO_P - _div_pow2(x13, _K8))))
        st[14, lane] = np.uint32(reduce36(total + (_TWO_P - _div_pow2(x14, _K4))))
        st[15, lane] = np.uint32(reduce36(total + (_TWO_P - _div_pow2(x15, _K27))))


@njit(cache=True)
def _permute_block(
    st: np.ndarray, rc_init: np.ndarray, rc_int: np.ndarray, rc_final: np.ndarray
) -> None:
    """Permute a (16, lanes) block of states held in Montgomery form, in place."""
    _external_linear(st)
    for r in range(rc_init.shape[0]):
        _external_round(st, rc_init[r])
    for r in range(rc_int.shape[0]):
        _internal_round(st, np.uint64(rc_int[r]))
    for r in range(rc_final.shape[0]):
        _external_round(st, rc_final[r])


@njit(parallel=True, cache=True)
def _permute_rows_kernel(
    states: np.ndarray,
    out: np.ndarray,
    tag: np.uint64,
    rc_init: np.ndarray,
    rc_int: np.ndarray,
    rc_final: np.ndarray,
) -> None:
    """out[j] = permute(states[j])[:out_width] with tag added to element 0."""
    n = states.shape[0]
    width_out = out.shape[1]
    lanes = min(256, n)
    nblocks = (n + lanes - 1) // lanes
    for b in prange(nblocks):
        r0 = b * lanes
        cnt = min(lanes, n - r0)
        st = np.zeros((16, lanes), dtype=np.uint32)
        for lane in range(cnt):
            for i in range(16):
                st[i, lane] = np.uint32(monty_mul(np.uint64(states[r0 + lane, i]), _R2))
        _permute_block(st, rc_init, rc_int, rc_final)
        for lane in range(cnt):
            for i in range(width_out):
                out[r0 + lane, i] = np.uint32(monty_mul(np.uint64(st[i, lane]), _ONE))
            out[r0 + lane, 0] = np.uint32(add_mod(np.uint64(out[r0 + lane, 0]), tag))


@njit(parallel=True, cache=True)
def _hash_columns_kernel(
    cols: np.ndarray,
    out: np.ndarray,
    tag: np.uint64,
    rc_init: np.ndarray,
    rc_int: np.ndarray,
    rc_final: np.ndarray,
) -> None:
    """Sponge-hash row j of the matrix whose COLUMNS are cols[0..w) (cols is (w, n))."""
    w = cols.shape[0]
    n = cols.shape[1]
    if n == 0:
        return
    lanes = min(256, n)
    nblocks = (n + lanes - 1) // lanes
    nchunks = max(1, (w + 7) // 8)
    len_m = monty_mul(np.uint64(w), _R2)
    tag_m = monty_mul(tag, _R2)
    for b in prange(nblocks):
        r0 = b * lanes
        cnt = min(lanes, n - r0)
        st = np.zeros((16, lanes), dtype=np.uint32)
        for lane in range(lanes):
            st[8, lane] = np.uint32(len_m)
            st[9, lane] = np.uint32(tag_m)
        for ch in range(nchunks):
            for i in range(8):
                col = ch * 8 + i
                row = st[i]
                if col < w:
                    src = cols[col]
                    for lane in range(cnt):
                        row[lane] = np.uint32(monty_mul(np.uint64(src[r0 + lane]), _R2))
                else:
                    for lane in range(lanes):
                        row[lane] = 0
            _permute_block(st, rc_init, rc_int, rc_final)
        for lane in range(cnt):
            for i in range(8):
                out[r0 + lane, i] = np.uint32(monty_mul(np.uint64(st[i, lane]), _ONE))


# The same sponge on the calling thread, for verifier-sized calls: switching numba's thread count
# around a parallel kernel (threads_for) cost more than hashing 43 rows.
_hash_columns_serial = njit(cache=True)(_hash_columns_kernel.py_func)


@njit(cache=True)
def _duplex_kernel(
    state: np.ndarray,
    chunks: np.ndarray,
    rc_init: np.ndarray,
    rc_int: np.ndarray,
    rc_final: np.ndarray,
) -> None:
    """For each chunk: state[0:8] = chunk, then permute (one state, serial, in place)."""
    st = np.empty((16, 1), dtype=np.uint32)
    for i in range(16):
        st[i, 0] = np.uint32(monty_mul(np.uint64(state[i]), _R2))
    for ch in range(chunks.shape[0]):
        for i in range(8):
            st[i, 0] = np.uint32(monty_mul(np.uint64(chunks[ch, i]), _R2))
        _permute_block(st, rc_init, rc_int, rc_final)
    for i in range(16):
        state[i] = np.uint32(monty_mul(np.uint64(st[i, 0]), _ONE))


@njit(cache=True)
def _climb_paths_kernel(
    nodes: np.ndarray,
    paths: np.ndarray,
    idx: np.ndarray,
    tag: np.uint64,
    rc_init: np.ndarray,
    rc_int: np.ndarray,
    rc_final: np.ndarray,
) -> None:
    """nodes[j] = the root reached from leaf digest nodes[j] at index idx[j] along paths[j].

    Serial on purpose: a verifier opens tens of queries per tree, and one call for all levels
    replaces a kernel launch (and a thread-count switch) per level.
    """
    q = nodes.shape[0]
    h = paths.shape[1]
    if q == 0:
        return
    lanes = min(256, q)
    st = np.zeros((16, lanes), dtype=np.uint32)
    for r0 in range(0, q, lanes):
        cnt = min(lanes, q - r0)
        for k in range(h):
            for lane in range(cnt):
                j = r0 + lane
                right = (idx[j] >> k) & 1
                at_node = 8 if right else 0
                at_sib = 0 if right else 8
                for i in range(8):
                    st[at_node + i, lane] = np.uint32(monty_mul(np.uint64(nodes[j, i]), _R2))
                    st[at_sib + i, lane] = np.uint32(monty_mul(np.uint64(paths[j, k, i]), _R2))
            _permute_block(st, rc_init, rc_int, rc_final)
            for lane in range(cnt):
                j = r0 + lane
                for i in range(8):
                    nodes[j, i] = np.uint32(monty_mul(np.uint64(st[i, lane]), _ONE))
                nodes[j, 0] = np.uint32(add_mod(np.uint64(nodes[j, 0]), tag))


def climb_paths(
    leaves: np.ndarray,
    paths: np.ndarray,
    indices: np.ndarray,
    domain: int = COMPRESS_DOMAIN_NODE,
) -> np.ndarray:
    """Roots reached from (q, 8) leaf digests along (q, h, 8) sibling paths: at level k the node
    is the right child iff bit k of its index is set. Equal to h rounds of ``compress`` on
    (node, sibling) in that order, in one kernel call."""
    nodes = np.array(_as_u32(leaves), dtype=np.uint32, order="C", copy=True)
    sib = np.ascontiguousarray(_as_u32(paths))
    idx = np.ascontiguousarray(indices, dtype=np.int64)
    q = nodes.shape[0]
    if nodes.shape != (q, DIGEST_SIZE) or sib.ndim != 3 or sib.shape[0] != q or idx.shape != (q,):
        raise ValueError("expected (q, 8) leaves, (q, h, 8) paths and (q,) indices")
    if sib.shape[2] != DIGEST_SIZE:
        raise ValueError(f"expected (q, h, 8) paths, got {sib.shape}")
    _climb_paths_kernel(nodes, sib, idx, np.uint64(domain), _RC_INIT, _RC_INT, _RC_FINAL)
    return nodes


def _as_u32(a: np.ndarray) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype != np.uint32:
        arr = arr.astype(np.uint32)
    return arr


def permute(states: np.ndarray) -> np.ndarray:
    """Apply the Poseidon2 permutation to every row of an (n, 16) array of canonical values."""
    arr = np.ascontiguousarray(_as_u32(states))
    if arr.ndim != 2 or arr.shape[1] != WIDTH:
        raise ValueError(f"expected states of shape (n, 16), got {arr.shape}")
    out = np.empty_like(arr)
    if arr.shape[0]:
        with threads_for(arr.shape[0]):
            _permute_rows_kernel(arr, out, np.uint64(0), _RC_INIT, _RC_INT, _RC_FINAL)
    return out


def compress(left: np.ndarray, right: np.ndarray, domain: int = COMPRESS_DOMAIN_NODE) -> np.ndarray:
    """2-to-1 compression of digest pairs, vectorized over n pairs: (n, 8), (n, 8) -> (n, 8)."""
    lft = _as_u32(left)
    rgt = _as_u32(right)
    if lft.ndim != 2 or lft.shape[1] != DIGEST_SIZE or lft.shape != rgt.shape:
        raise ValueError(f"expected two (n, 8) digest arrays, got {lft.shape} and {rgt.shape}")
    return compress_pairs(np.concatenate([lft, rgt], axis=1), domain)


def compress_pairs(pairs: np.ndarray, domain: int = COMPRESS_DOMAIN_NODE) -> np.ndarray:
    """compress(pairs[:, :8], pairs[:, 8:]) for an (n, 16) array (a Merkle level reshaped)."""
    arr = np.ascontiguousarray(_as_u32(pairs))
    if arr.ndim != 2 or arr.shape[1] != 2 * DIGEST_SIZE:
        raise ValueError(f"expected (n, 16) digest pairs, got {arr.shape}")
    out = np.empty((arr.shape[0], DIGEST_SIZE), dtype=np.uint32)
    if arr.shape[0]:
        with threads_for(arr.shape[0]):
            _permute_rows_kernel(arr, out, np.uint64(domain), _RC_INIT, _RC_INT, _RC_FINAL)
    return out


def hash_rows(matrix: np.ndarray, domain: int = SPONGE_DOMAIN_HASH) -> np.ndarray:
    """Sponge-hash every row of an (n, w) matrix: (n, w) -> (n, 8); row j as hash_elements(row j).

    A column-major (Fortran-ordered) matrix, such as ``coset_lde`` returns, is read in place;
    a row-major one is transposed first.
    """
    arr = _as_u32(matrix)
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {arr.shape}")
    if arr.shape[1] >= P_INT:
        raise ValueError("row too long for the sponge's length field")
    cols = np.ascontiguousarray(arr.T)
    out = np.empty((arr.shape[0], DIGEST_SIZE), dtype=np.uint32)
    work = arr.shape[0] * max(1, (arr.shape[1] + 7) // 8)
    kernel = _hash_columns_serial if work < SERIAL_BELOW else _hash_columns_kernel
    kernel(cols, out, np.uint64(domain), _RC_INIT, _RC_INT, _RC_FINAL)
    return out


def hash_elements(elems: np.ndarray, domain: int = SPONGE_DOMAIN_HASH) -> np.ndarray:
    """Sponge-hash a 1-D array of canonical field elements to an (8,) digest."""
    arr = _as_u32(elems)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {arr.shape}")
    result: np.ndarray = hash_rows(arr.reshape(1, -1), domain)[0]
    return result


def duplex(state: np.ndarray, chunks: np.ndarray) -> np.ndarray:
    """Overwrite-mode duplexing of one state: for each 8-element chunk, state[0:8] = chunk and
    permute. Returns the new (16,) state; one serial kernel call however many chunks (the
    challenger's absorb path, where a parallel launch per permutation would dominate)."""
    st = np.array(state, dtype=np.uint32, copy=True)
    ch = np.ascontiguousarray(_as_u32(chunks))
    if st.shape != (WIDTH,) or ch.ndim != 2 or ch.shape[1] != RATE:
        raise ValueError(f"expected a (16,) state and (k, 8) chunks, got {st.shape}, {ch.shape}")
    if ch.shape[0]:
        _duplex_kernel(st, ch, _RC_INIT, _RC_INT, _RC_FINAL)
    return st
