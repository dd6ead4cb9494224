"""The STARK verifier: replays the prover's transcript and checks every claim.

Every failure raises InvalidProof with a reason; nothing is asserted. Merkle openings of one
tree are checked for all queries in one batched call. The arithmetic at the out-of-domain point
goes through air.evaluate.fold_at_point, the same DAG the prover evaluated over the LDE.

The verifier is written once, as `verify_with` over a backend (verifier_backend.py): `verify`
runs it on the concrete numpy backend; the recursion recorder runs it on symbolic cells to
produce the verifier program (execution/recursion/record.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark import ood_check
from execution.stark.air.compiled import CompiledAir
from execution.stark.air.evaluate import PointInputs, fold_at_point
from execution.stark.errors import InvalidProof
from execution.stark.field import GENERATOR, TWO_ADICITY, two_adic_generator
from execution.stark.fri import fold_schedule, fri_verify
from execution.stark.params import FriParams
from execution.stark.proof import Proof, TableProof
from execution.stark.protocol import (
    OPENING_FIELDS,
    QUOTIENT_ROWS_PER_LEAF,
    digest_elements,
    ext_basis,
    preprocessed_root,
    start_transcript,
)
from execution.stark.verifier_backend import NUMPY, NumpyBackend, VerifierBackend

__all__ = ["verify", "verify_with"]

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


def _selectors(ops: Any, zeta: Any, log_n: int) -> tuple[Any, Any, Any, Any]:
    """is_first_row, is_last_row, is_transition and Z_H at zeta (unnormalized Lagrange)."""
    n = 1 << log_n
    g_inv = pow(two_adic_generator(log_n), L.P - 2, L.P)
    one = ops.const_ext(_ONE)
    zh = ops.sub(ops.pow(zeta, n), one)
    z_minus_one = ops.sub(zeta, one)
    z_minus_ginv = ops.sub(zeta, ops.const_ext([g_inv, 0, 0, 0]))
    what = "out-of-domain point lies in the trace domain"
    for v in (zh, z_minus_one, z_minus_ginv):
        ops.assert_nonzero(v, what)
    return (
        ops.mul(zh, ops.inv(z_minus_one)),
        ops.mul(zh, ops.inv(z_minus_ginv)),
        z_minus_ginv,
        zh,
    )


def _combine_ext_columns(ops: Any, values: Any) -> list[Any]:
    """Openings of 4k base columns that flatten k extension columns -> k extension values."""
    basis = ext_basis()
    return [
        _sum(ops, [ops.mul(values[4 * j + c], ops.const_ext(basis[c])) for c in range(4)])
        for j in range(len(values) // 4)
    ]


def _sum(ops: Any, terms: list[Any]) -> Any:
    acc = terms[0]
    for t in terms[1:]:
        acc = ops.add(acc, t)
    return acc


def _check_constraints_at_zeta(
    ops: Any,
    air: CompiledAir,
    tp: TableProof,
    zeta: Any,
    publics: list[Any],
    challenges: list[Any],
    alpha: Any,
) -> None:
    first, last, trans, zh = _selectors(ops, zeta, tp.log_n)
    fops = ops.fold_ops()
    w = ops.to_fold
    perm = _combine_ext_columns(ops, ops.ext_words(tp.perm_local))
    perm_next = _combine_ext_columns(ops, ops.ext_words(tp.perm_next))
    final_sum = ops.ext_words(tp.final_sum[0]) if len(tp.final_sum) else ops.const_ext(np.zeros(4))
    inputs = PointInputs(
        main=[w(v) for v in ops.ext_words(tp.main_local)],
        main_next=[w(v) for v in ops.ext_words(tp.main_next)],
        prep=[w(v) for v in ops.ext_words(tp.prep_local)],
        prep_next=[w(v) for v in ops.ext_words(tp.prep_next)],
        perm=[w(v) for v in perm],
        perm_next=[w(v) for v in perm_next],
        publics=[w(ops.from_base(v)) for v in publics],
        challenges=[w(v) for v in challenges],
        final_sum=w(final_sum),
        is_first_row=w(first),
        is_last_row=w(last),
        is_transition=w(trans),
    )
    folded = ops.from_fold(fold_at_point(air, inputs, w(alpha), fops))
    # Q(zeta) = sum_j zeta^(j n) Q_j(zeta), each Q_j an extension polynomial in 4 base columns.
    chunks = _combine_ext_columns(ops, ops.ext_words(tp.quotient))
    zeta_n = ops.pow(zeta, 1 << tp.log_n)
    q_zeta = ops.const_ext(np.zeros(4))
    for chunk in chunks[::-1]:
        q_zeta = ops.add(ops.mul(q_zeta, zeta_n), chunk)
    ops.assert_eq(
        folded, ops.mul(q_zeta, zh), f"{air.name}: constraints do not match the quotient at zeta"
    )


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
    verify_with(NUMPY, airs, publics, proof, params, max_log_n=max_log_n)


def verify_with(
    ops: VerifierBackend,
    airs: list[CompiledAir],
    publics: list[list[Any]],
    proof: Proof,
    params: FriParams,
    *,
    max_log_n: int = 24,
) -> None:
    """`verify` over a backend (execution.stark.verifier_backend): the concrete NUMPY one, or
    the recursion recorder's symbolic one, which turns this same code into a verifier program.

    Only shapes (heights, widths, parameters) decide the control flow below; every
    proof-dependent value goes through `ops`.
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
        ops.check_publics(pub, f"{air.name}: public values must be canonical field elements")
        if not 1 <= tp.log_n <= min(TWO_ADICITY - lb, max_log_n):
            raise InvalidProof(f"{air.name}: trace height out of range")
        if air.log_quotient_degree > lb:
            raise InvalidProof(f"{air.name}: constraint degree too high for this blowup")
        _check_table_shapes(air, tp, q, tp.log_n + lb)
        log_ns.append(tp.log_n)

    air_ids = [ops.air_id(i, digest_elements(air.digest)) for i, air in enumerate(airs)]
    ch = start_transcript(params, airs, log_ns, publics, ops.challenger(), air_ids)
    prep_roots = []
    for i, (air, tp) in enumerate(zip(airs, proof.tables, strict=True)):
        try:
            prep_root = preprocessed_root(air, tp.log_n, lb)
        except ValueError as exc:
            raise InvalidProof(f"{air.name}: no preprocessed columns at this height") from exc
        root = None if prep_root is None else ops.prep_root(i, prep_root)
        prep_roots.append(root)
        if root is not None:
            ch.observe_digest(root)
        ch.observe_digest(tp.main_root[0])
    any_logup = any(a.num_interactions for a in airs)
    challenges = [ops.sample_ext(ch) for _ in range(2)] if any_logup else []
    sums = []
    for air, tp in zip(airs, proof.tables, strict=True):
        if air.num_interactions:
            ch.observe_digest(tp.perm_root[0])
            ch.observe(tp.final_sum[0])
            sums.append(ops.ext_words(tp.final_sum[0]))
    # LogUp: the bus terms of all tables must cancel.
    if sums:
        ops.assert_zero(_sum(ops, sums), "LogUp final sums do not add up to zero")
    alpha = ops.sample_ext(ch)
    for tp in proof.tables:
        ch.observe_digest(tp.quotient_root[0])
    zeta = ops.sample_ext(ch)
    for tp in proof.tables:
        ch.observe_digest(ops.hash_words([getattr(tp, k) for k in OPENING_FIELDS]))
    for air, tp, pub in zip(airs, proof.tables, publics, strict=True):
        if isinstance(ops, NumpyBackend):
            # The same check on concrete values, compiled (ood_check.py); the generic one
            # below is what the recursion recorder turns into the verifier program.
            ood_check.check_constraints_at_zeta(air, tp, zeta, pub, challenges, alpha)
        else:
            _check_constraints_at_zeta(ops, air, tp, zeta, pub, challenges, alpha)

    fri_alpha = ops.sample_ext(ch)
    heights = {n + lb for n in log_ns}
    arities = fold_schedule(heights, params)
    if len(proof.fri.commit_roots) != len(arities):
        raise InvalidProof("fri: wrong number of commit rounds")
    betas = []
    for root in proof.fri.commit_roots:
        ch.observe_digest(root)
        betas.append(ops.sample_ext(ch))
    ch.observe(proof.fri.final_poly.reshape(-1))
    # Proof of work: grinding makes every query-index sample cost 2^pow_bits hashes.
    ops.check_pow(ch, params.pow_bits, proof.fri.pow_nonce, "proof-of-work witness is invalid")
    log_max = max(heights)
    indices = ops.sample_queries(ch, params, log_max)

    initial: dict[int, Any] = {}
    denominators: dict[int, list[Any]] = {}
    power = ops.const_ext(_ONE)
    for i, (air, tp) in enumerate(zip(airs, proof.tables, strict=True)):
        log_h = tp.log_n + lb
        local_idx = ops.idx_shr(indices, log_max - log_h)
        g = two_adic_generator(tp.log_n)
        zeta_next = ops.mul(zeta, ops.const_ext([g, 0, 0, 0]))
        roots: tuple[tuple[Any, str, bool], ...] = (
            (prep_roots[i], "prep", True),
            (tp.main_root[0], "main", True),
            (tp.perm_root[0] if len(tp.perm_root) else None, "perm", True),
            (tp.quotient_root[0], "quotient", False),
        )
        # Tables of one height share their query points x and the DEEP denominators.
        if log_h not in denominators:
            gen = two_adic_generator(log_h)
            x = ops.from_base(ops.base_scale(ops.bitrev_pow(local_idx, log_h, gen), GENERATOR))
            denominators[log_h] = [ops.inv(ops.sub(x, zeta)), ops.inv(ops.sub(x, zeta_next))]
        inv_pts = denominators[log_h]
        acc = initial.get(log_h)
        if acc is None:
            acc = ops.ext_zeros(q)
        for tree_root, name, two in roots:
            if tree_root is None:
                continue
            rows = getattr(tp, f"{name}_rows")
            paths = getattr(tp, f"{name}_paths")
            per_leaf = QUOTIENT_ROWS_PER_LEAF if name == "quotient" else 1
            leaf_bits = per_leaf.bit_length() - 1
            ops.merkle_verify(
                tree_root,
                log_h - leaf_bits,
                ops.idx_shr(local_idx, leaf_bits),
                rows,
                paths,
                f"{air.name}: {name} Merkle openings do not verify",
            )
            if per_leaf > 1:
                rows = ops.select_low(rows.reshape(q, per_leaf, -1), local_idx, leaf_bits)
            opened = [ops.ext_words(getattr(tp, f"{name}_local" if two else name))]
            if two:
                opened.append(ops.ext_words(getattr(tp, f"{name}_next")))
            w = rows.shape[1]
            for p_idx, y in enumerate(opened):
                coeffs = ops.mul(ops.powers(fri_alpha, w), power)
                power = ops.mul(power, ops.pow(fri_alpha, w))
                num = ops.sub(ops.dot_rows(rows, coeffs), ops.dot(y, coeffs))
                acc = ops.add(acc, ops.mul(num, inv_pts[p_idx]))
        initial[log_h] = acc
    fri_verify(proof.fri, params, betas, indices, initial, ops)
