"""The STARK verifier: replays the prover's transcript and checks every claim.

Every failure raises InvalidProof with a reason; nothing is asserted. Merkle openings of one
tree are checked for all queries in one batched call. The arithmetic at the out-of-domain point
goes through air.evaluate.fold_at_point, the same DAG the prover evaluated over the LDE.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.air.compiled import CompiledAir
from execution.stark.air.evaluate import IntExtOps, PointInputs, fold_at_point
from execution.stark.domain import bitrev_vec, pow_vec
from execution.stark.errors import InvalidProof
from execution.stark.field import GENERATOR, TWO_ADICITY, two_adic_generator
from execution.stark.fri import fold_schedule, fri_verify, sample_queries
from execution.stark.merkle import verify_batch
from execution.stark.params import FriParams
from execution.stark.proof import Proof, TableProof
from execution.stark.protocol import (
    OPENING_FIELDS,
    QUOTIENT_ROWS_PER_LEAF,
    combine_ext_columns,
    opening_digest,
    preprocessed_root,
    start_transcript,
)

__all__ = ["verify"]

U32 = npt.NDArray[np.uint32]
_ONE = np.array([1, 0, 0, 0], dtype=np.uint64)


def _shape(a: U32, shape: tuple[int, ...], what: str) -> None:
    if a.shape != shape:
        raise InvalidProof(f"{what} has shape {a.shape}, expected {shape}")


def _check_table_shapes(air: CompiledAir, tp: TableProof, q: int, log_h: int) -> None:
    k = 1 if air.num_interactions else 0
    wp, w, wperm = air.preprocessed_width, air.width, 4 * air.perm_width
    wq = 4 * air.quotient_degree
    _shape(tp.main_root, (1, 8), "main_root")
    _shape(tp.perm_root, (k, 8), "perm_root")
    _shape(tp.quotient_root, (1, 8), "quotient_root")
    _shape(tp.final_sum, (k, 4), "final_sum")
    for name, width in (("prep", wp), ("main", w), ("perm", wperm)):
        _shape(getattr(tp, f"{name}_local"), (width, 4), f"{name}_local")
        _shape(getattr(tp, f"{name}_next"), (width, 4), f"{name}_next")
    _shape(tp.quotient, (wq, 4), "quotient")
    for name, width in (("prep", wp), ("main", w), ("perm", wperm), ("quotient", wq)):
        per_leaf = QUOTIENT_ROWS_PER_LEAF if name == "quotient" else 1
        if width:
            _shape(getattr(tp, f"{name}_rows"), (q, width * per_leaf), f"{name}_rows")
            _shape(
                getattr(tp, f"{name}_paths"),
                (q, log_h - (per_leaf.bit_length() - 1), 8),
                f"{name}_paths",
            )
        else:
            _shape(getattr(tp, f"{name}_rows"), (0, 0), f"{name}_rows")
            _shape(getattr(tp, f"{name}_paths"), (0, 0, 8), f"{name}_paths")


def _selectors(zeta: L.U64, log_n: int) -> tuple[L.U64, L.U64, L.U64, L.U64]:
    """is_first_row, is_last_row, is_transition and Z_H at zeta (unnormalized Lagrange)."""
    n = 1 << log_n
    g_inv = pow(two_adic_generator(log_n), L.P - 2, L.P)
    zh = L.e_sub(L.e_pow(zeta, n), _ONE)
    z_minus_one = L.e_sub(zeta, _ONE)
    z_minus_ginv = L.e_sub(zeta, np.array([g_inv, 0, 0, 0], dtype=np.uint64))
    if not zh.any() or not z_minus_one.any() or not z_minus_ginv.any():
        raise InvalidProof("out-of-domain point lies in the trace domain")
    inv = L.e_inv(np.stack([z_minus_one, z_minus_ginv]))
    return L.e_mul(zh, inv[0]), L.e_mul(zh, inv[1]), z_minus_ginv, zh


def _check_constraints_at_zeta(
    air: CompiledAir,
    tp: TableProof,
    zeta: L.U64,
    publics: list[int],
    challenges: L.U64,
    alpha: L.U64,
) -> None:
    first, last, trans, zh = _selectors(zeta, tp.log_n)
    ops = IntExtOps()
    w = ops.wrap
    perm = combine_ext_columns(L.to64(tp.perm_local))
    perm_next = combine_ext_columns(L.to64(tp.perm_next))
    final_sum = L.to64(tp.final_sum[0]) if len(tp.final_sum) else np.zeros(4, dtype=np.uint64)
    inputs = PointInputs(
        main=[w(v) for v in tp.main_local],
        main_next=[w(v) for v in tp.main_next],
        prep=[w(v) for v in tp.prep_local],
        prep_next=[w(v) for v in tp.prep_next],
        perm=[w(v) for v in perm],
        perm_next=[w(v) for v in perm_next],
        publics=[ops.from_base(v) for v in publics],
        challenges=[w(v) for v in challenges],
        final_sum=w(final_sum),
        is_first_row=w(first),
        is_last_row=w(last),
        is_transition=w(trans),
    )
    folded = ops.unwrap(fold_at_point(air, inputs, w(alpha), ops))
    # Q(zeta) = sum_j zeta^(j n) Q_j(zeta), each Q_j an extension polynomial in 4 base columns.
    chunks = combine_ext_columns(L.to64(tp.quotient))
    zeta_n = L.e_pow(zeta, 1 << tp.log_n)
    q_zeta = np.zeros(4, dtype=np.uint64)
    for chunk in chunks[::-1]:
        q_zeta = L.e_add(L.e_mul(q_zeta, zeta_n), chunk)
    if not np.array_equal(folded, L.e_mul(q_zeta, zh)):
        raise InvalidProof(f"{air.name}: constraints do not match the quotient at zeta")


def verify(
    airs: list[CompiledAir],
    publics: list[list[int]],
    proof: Proof,
    params: FriParams,
    *,
    max_log_n: int = 24,
) -> None:
    """Accept or raise InvalidProof. `airs` and `publics` are the statement; `params` the
    profile the caller requires (a proof made under any other profile is rejected).

    max_log_n bounds the trace heights a proof may claim: the verifier's own work (the fixed
    columns' commitment) grows with it, so a caller sets it from what its statements allow.
    """
    if proof.params != params:
        raise InvalidProof("proof was made under other FRI parameters")
    if len(proof.tables) != len(airs) or len(publics) != len(airs):
        raise InvalidProof("number of tables does not match the statement")
    lb = params.log_blowup
    q = params.num_queries
    log_ns = []
    for air, tp, pub in zip(airs, proof.tables, publics, strict=True):
        if tp.air_digest != air.digest:
            raise InvalidProof(f"proof is for another AIR than {air.name}")
        if len(pub) != air.num_public_values:
            raise InvalidProof(f"{air.name}: wrong number of public values")
        # Public values are field elements: v and v + p must not both name one statement.
        if any(not 0 <= int(v) < L.P for v in pub):
            raise InvalidProof(f"{air.name}: public values must be canonical field elements")
        if not 1 <= tp.log_n <= min(TWO_ADICITY - lb, max_log_n):
            raise InvalidProof(f"{air.name}: trace height out of range")
        if air.log_quotient_degree > lb:
            raise InvalidProof(f"{air.name}: constraint degree too high for this blowup")
        _check_table_shapes(air, tp, q, tp.log_n + lb)
        log_ns.append(tp.log_n)

    ch = start_transcript(params, airs, log_ns, publics)
    preps = []
    for air, tp in zip(airs, proof.tables, strict=True):
        try:
            prep_root = preprocessed_root(air, tp.log_n, lb)
        except ValueError as exc:
            raise InvalidProof(f"{air.name}: no preprocessed columns at this height") from exc
        preps.append(prep_root)
        if prep_root is not None:
            ch.observe_digest(prep_root)
        ch.observe_digest(tp.main_root[0])
    any_logup = any(a.num_interactions for a in airs)
    challenges = (
        np.stack([L.to64(ch.sample_ext()) for _ in range(2)])
        if any_logup
        else np.zeros((0, 4), dtype=np.uint64)
    )
    total = np.zeros(4, dtype=np.uint64)
    for air, tp in zip(airs, proof.tables, strict=True):
        if air.num_interactions:
            ch.observe_digest(tp.perm_root[0])
            ch.observe(tp.final_sum[0])
            total = L.e_add(total, L.to64(tp.final_sum[0]))
    # LogUp: the bus terms of all tables must cancel.
    if total.any():
        raise InvalidProof("LogUp final sums do not add up to zero")
    alpha = L.to64(ch.sample_ext())
    for tp in proof.tables:
        ch.observe_digest(tp.quotient_root[0])
    zeta = L.to64(ch.sample_ext())
    for tp in proof.tables:
        ch.observe_digest(opening_digest([getattr(tp, k) for k in OPENING_FIELDS]))
    for air, tp, pub in zip(airs, proof.tables, publics, strict=True):
        _check_constraints_at_zeta(air, tp, zeta, pub, challenges, alpha)

    fri_alpha = L.to64(ch.sample_ext())
    heights = {n + lb for n in log_ns}
    arities = fold_schedule(heights, params)
    if len(proof.fri.commit_roots) != len(arities):
        raise InvalidProof("fri: wrong number of commit rounds")
    betas = []
    for root in proof.fri.commit_roots:
        ch.observe_digest(root)
        betas.append(L.to64(ch.sample_ext()))
    ch.observe(proof.fri.final_poly.reshape(-1))
    # Proof of work: grinding makes every query-index sample cost 2^pow_bits hashes.
    if proof.fri.pow_nonce >= L.P or not ch.check_witness(params.pow_bits, proof.fri.pow_nonce):
        raise InvalidProof("proof-of-work witness is invalid")
    log_max = max(heights)
    indices = np.array(sample_queries(ch, params, log_max), dtype=np.int64)

    initial: dict[int, L.U64] = {}
    # The DEEP coefficient of each opened column (in opening order) is the next power of
    # fri_alpha: one table of powers instead of a power series per matrix and point.
    n_coeffs = sum(2 * (a.preprocessed_width + a.width + 4 * a.perm_width) for a in airs)
    n_coeffs += sum(4 * a.quotient_degree for a in airs)
    alpha_pows = L.e_powers(fri_alpha, n_coeffs)
    off = 0
    zeta_arr = zeta
    for i, (air, tp) in enumerate(zip(airs, proof.tables, strict=True)):
        log_h = tp.log_n + lb
        local_idx = indices >> (log_max - log_h)
        prep_root = preps[i]
        g = two_adic_generator(tp.log_n)
        zeta_next = L.e_mul_base(zeta_arr, np.uint64(g))
        roots: tuple[tuple[U32 | None, str, bool], ...] = (
            (prep_root, "prep", True),
            (tp.main_root[0], "main", True),
            (tp.perm_root[0] if len(tp.perm_root) else None, "perm", True),
            (tp.quotient_root[0], "quotient", False),
        )
        x = pow_vec(two_adic_generator(log_h), bitrev_vec(local_idx, log_h))
        x = L.e_from_base(x * np.uint64(GENERATOR) % np.uint64(L.P))
        inv = L.e_inv(
            np.concatenate([L.e_sub(x, zeta_arr[None, :]), L.e_sub(x, zeta_next[None, :])])
        )
        inv_pts = [inv[:q], inv[q:]]
        acc = initial.get(log_h, np.zeros((q, 4), dtype=np.uint64))
        for tree_root, name, two in roots:
            if tree_root is None:
                continue
            rows = getattr(tp, f"{name}_rows")
            paths = getattr(tp, f"{name}_paths")
            per_leaf = QUOTIENT_ROWS_PER_LEAF if name == "quotient" else 1
            log_leaves = log_h - (per_leaf.bit_length() - 1)
            if not verify_batch(tree_root, log_leaves, local_idx // per_leaf, rows, paths):
                raise InvalidProof(f"{air.name}: {name} Merkle openings do not verify")
            if per_leaf > 1:
                rows = rows.reshape(q, per_leaf, -1)[np.arange(q), local_idx % per_leaf]
            opened = [L.to64(getattr(tp, f"{name}_local" if two else name))]
            if two:
                opened.append(L.to64(getattr(tp, f"{name}_next")))
            w = rows.shape[1]
            for p_idx, y in enumerate(opened):
                coeffs = alpha_pows[off : off + w]
                off += w
                num = L.mat_dot_ext(rows, coeffs)
                y_sum = L.e_mul(y, coeffs).sum(axis=0) % L.P
                num = L.e_sub(num, y_sum[None, :])
                acc = L.e_add(acc, L.e_mul(num, inv_pts[p_idx]))
        initial[log_h] = acc
    fri_verify(proof.fri, params, betas, indices, initial)
