"""FRI over BabyBear^4: commit phase, proof of work, query phase, final polynomial in the clear.

Inputs are extension-field codewords of several heights 2^h (one per distinct table height),
each in the bit-reversed row order of the LDE. Folding treats row i of a codeword of height 2^h
as the point z = w_{2^h}^bitrev(i) of the subgroup (a coset shift only relabels the points of a
polynomial, it does not change its degree), so rows 2i and 2i+1 hold z and -z and
    fold(f)(z^2) = (f(z) + f(-z)) / 2 + beta * (f(z) - f(-z)) / (2z).
A round of arity 2^a commits rows of 2^a adjacent values (a coset of the 2^a-th roots) and folds
a times with beta, beta^2, beta^4, ... (which equals one 2^a-ary fold with beta). When the folded
codeword reaches the height of another input, that input is added times beta^(2^a) (Plonky3's
"roll-in"); round heights are chosen so that every input height is reached exactly. Folding stops
at 2^log_final_poly_len coefficients (or at the smallest input), whose coefficients are sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.challenger import Challenger
from execution.stark.domain import bitrev_permutation
from execution.stark.errors import InvalidProof
from execution.stark.field import two_adic_generator
from execution.stark.merkle import MerkleTree
from execution.stark.ntt import intt
from execution.stark.params import FriParams

if TYPE_CHECKING:
    from execution.stark.verifier_backend import VerifierBackend

__all__ = [
    "FriCommitment",
    "FriProof",
    "fold_schedule",
    "fri_commit",
    "fri_open",
    "fri_verify",
    "sample_queries",
]

_INV2 = np.uint64((L.P + 1) // 2)
U32 = npt.NDArray[np.uint32]


@dataclass
class FriProof:
    """What FRI adds to a proof. Per round r: query_rows[r] (q, 2^a_r * 4) and paths (q, h_r, 8)."""

    commit_roots: list[U32]
    final_poly: U32  # (len, 4)
    pow_nonce: int
    query_rows: list[U32]
    query_paths: list[U32]


@dataclass
class FriCommitment:
    trees: list[MerkleTree]
    final_poly: U32
    log_final_height: int


def final_log_height(log_max: int, input_logs: set[int], params: FriParams) -> int:
    return min(params.log_blowup + params.log_final_poly_len, min(input_logs), log_max)


def fold_schedule(input_logs: set[int], params: FriParams) -> list[int]:
    """log2 of each round's folding arity, so that every input height is hit exactly."""
    h = max(input_logs)
    final = final_log_height(h, input_logs, params)
    arities = []
    while h > final:
        target = max(h - params.max_log_arity, final)
        between = [x for x in input_logs if target < x < h]
        if between:
            target = max(between)
        arities.append(h - target)
        h = target
    return arities


def _fold_once(f: L.U64, beta: L.U64, log_h: int) -> L.U64:
    lo = f[0::2]
    hi = f[1::2]
    # z for pair i is w_{2^h}^bitrev_{h-1}(i); its inverse is w_{2^h}^-bitrev_{h-1}(i).
    w_inv = pow(two_adic_generator(log_h), L.P - 2, L.P)
    inv_z = L.powers(w_inv, 1 << (log_h - 1))[bitrev_permutation(log_h - 1)]
    even = (lo + hi) % L.P * _INV2 % L.P
    odd = L.e_mul_base(L.e_sub(lo, hi), inv_z * _INV2 % L.P)
    return L.e_add(even, L.e_mul(odd, beta))


def _bitrev(j: int, bits: int) -> int:
    return int(format(j, f"0{bits}b")[::-1], 2) if bits else 0


def _to_u32(a: L.U64) -> U32:
    return np.ascontiguousarray(a, dtype=np.uint32)


def fri_commit(
    inputs: dict[int, L.U64], params: FriParams, ch: Challenger
) -> tuple[FriCommitment, list[U32]]:
    """Commit phase. inputs maps log height -> (2^h, 4) codeword. Returns data and roots."""
    logs = set(inputs)
    h = max(logs)
    f = inputs[h]
    trees: list[MerkleTree] = []
    roots: list[U32] = []
    for a in fold_schedule(logs, params):
        leaves = _to_u32(f).reshape(1 << (h - a), (1 << a) * 4)
        tree = MerkleTree.build(leaves)
        trees.append(tree)
        roots.append(_to_u32(tree.root))
        ch.observe_digest(tree.root)
        beta = L.to64(ch.sample_ext())
        b = beta
        for i in range(a):
            f = _fold_once(f, b, h - i)
            b = L.e_mul(b, b)
        h -= a
        if h in inputs:
            f = L.e_add(f, L.e_mul(inputs[h], b))
    final_len = 1 << (h - params.log_blowup) if h > params.log_blowup else 1
    natural = _to_u32(f[bitrev_permutation(h)])
    coeffs = intt(natural, axis=0)
    final_poly = np.ascontiguousarray(coeffs[:final_len], dtype=np.uint32)
    ch.observe(final_poly.reshape(-1))
    return FriCommitment(trees, final_poly, h), roots


def sample_queries(ch: Challenger, params: FriParams, log_max: int) -> list[int]:
    """Draw the query indices (after the proof of work was observed)."""
    return [int(ch.sample_bits(log_max)) for _ in range(params.num_queries)]


def fri_open(
    com: FriCommitment, input_logs: set[int], params: FriParams, indices: npt.NDArray[np.int64]
) -> tuple[list[U32], list[U32]]:
    rows_out: list[U32] = []
    paths_out: list[U32] = []
    idx = indices.copy()
    for tree, a in zip(com.trees, fold_schedule(input_logs, params), strict=True):
        idx = idx >> a
        rows, paths = tree.open(idx)
        rows_out.append(_to_u32(rows))
        paths_out.append(_to_u32(paths))
    return rows_out, paths_out


def fri_verify(
    proof: FriProof,
    params: FriParams,
    betas: list[L.U64],
    indices: npt.NDArray[np.int64],
    initial: dict[int, L.U64],
    ops: VerifierBackend | None = None,
) -> None:
    """Query phase check. initial maps log height -> (q, 4) reduced openings at each query.

    Raises InvalidProof. All Merkle paths of one round are checked in one batched call. `ops` is
    the verifier backend (execution.stark.verifier_backend; the concrete one by default), which
    lets the recursion recorder run this same code over symbolic values.
    """
    if ops is None:
        from execution.stark.verifier_backend import NUMPY

        ops = NUMPY
    logs = set(initial)
    arities = fold_schedule(logs, params)
    q = len(indices)
    if len(proof.commit_roots) != len(arities) or len(betas) != len(arities):
        raise InvalidProof("fri: wrong number of commit rounds")
    if len(proof.query_rows) != len(arities) or len(proof.query_paths) != len(arities):
        raise InvalidProof("fri: wrong number of query rounds")
    h = max(logs)
    final_h = final_log_height(h, logs, params)
    exp_len = 1 << (final_h - params.log_blowup) if final_h > params.log_blowup else 1
    if proof.final_poly.shape != (exp_len, 4):
        raise InvalidProof("fri: final polynomial has the wrong length")
    idx = indices
    value = initial[h]
    for r, a in enumerate(arities):
        rows = proof.query_rows[r]
        paths = proof.query_paths[r]
        width = 1 << a
        if rows.shape != (q, width * 4) or paths.shape != (q, h - a, 8):
            raise InvalidProof(f"fri: round {r} openings have the wrong shape")
        leaf = ops.idx_shr(idx, a)
        ops.merkle_verify(
            proof.commit_roots[r],
            h - a,
            leaf,
            rows,
            paths,
            f"fri: round {r} Merkle paths do not verify",
        )
        group = ops.ext_words(rows.reshape(q, width, 4))
        ops.assert_eq(
            ops.select_low(group, idx, a),
            value,
            f"fri: round {r} opening disagrees with the folded value",
        )
        b = betas[r]
        cur = group
        # z of pair j in layer k is w^bitrev_{hc-1}(leaf << s + j) with w of order 2^hc,
        # hc = h - k, s = a - k - 1; that splits as t_k * w^(bitrev_s(j) << (h - a)) where
        # t_k = w^bitrev_{h-a}(leaf) = t_0^(2^k): one index-dependent factor per query and
        # layer, times constants (the fold needs 1/(2z), so w is the inverse generator).
        w_inv = pow(two_adic_generator(h), L.P - 2, L.P)
        t = ops.bitrev_pow(leaf, h - a, w_inv)
        for k in range(a):
            lo = cur[:, 0::2]
            hi = cur[:, 1::2]
            s = a - k - 1
            w_k = pow(w_inv, 1 << k, L.P)
            consts = [
                pow(w_k, _bitrev(j, s) << (h - a), L.P) * int(_INV2) % L.P for j in range(1 << s)
            ]
            inv_z = ops.base_outer(t, consts)
            even = ops.mul_base(ops.add(lo, hi), _INV2)
            odd = ops.mul_base(ops.sub(lo, hi), inv_z)
            cur = ops.add(even, ops.mul(odd, b))
            b = ops.mul(b, b)
            t = ops.base_square(t)
        value = cur[:, 0]
        h -= a
        idx = leaf
        if h in initial:
            value = ops.add(value, ops.mul(initial[h], b))
    # The final polynomial (coefficients in z) must agree with every folded value.
    z = ops.bitrev_pow(idx, h, two_adic_generator(h)) if h else None
    acc = ops.ext_zeros(q)
    for coeff in ops.ext_words(proof.final_poly)[::-1]:
        acc = ops.add(acc if z is None else ops.mul_base(acc, z), coeff)
    ops.assert_eq(acc, value, "fri: final polynomial disagrees with the folded values")
