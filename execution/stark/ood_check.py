"""The concrete verifier's check of one table's constraints at the out-of-domain point zeta.

`verifier._check_constraints_at_zeta` states this check once over a `VerifierBackend`, which is
what the recursion recorder runs; over the numpy backend it made a numpy call per extension
element and a Python call per DAG node (a third of a zkVM verify). This module computes the
same values for the numpy backend: scalars as Python ints, the opened columns as whole arrays,
the constraint DAG in one kernel (air/point_kernel.py). Same checks, same messages, same order.
"""

from __future__ import annotations

import numpy as np

from execution.stark import lanes as L
from execution.stark.air.compiled import CompiledAir
from execution.stark.air.point_kernel import fold_point
from execution.stark.errors import InvalidProof
from execution.stark.field import two_adic_generator
from execution.stark.proof import TableProof
from execution.stark.protocol import combine_ext_columns

__all__ = ["check_constraints_at_zeta"]

Ext = list[int]

_P = L.P


def _mul(a: Ext, b: Ext) -> Ext:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    w = L.W
    return [
        (a0 * b0 + w * (a1 * b3 + a2 * b2 + a3 * b1)) % _P,
        (a0 * b1 + a1 * b0 + w * (a2 * b3 + a3 * b2)) % _P,
        (a0 * b2 + a1 * b1 + a2 * b0 + w * a3 * b3) % _P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % _P,
    ]


def _pow(a: Ext, e: int) -> Ext:
    acc = [1, 0, 0, 0]
    while e:
        if e & 1:
            acc = _mul(acc, a)
        a = _mul(a, a)
        e >>= 1
    return acc


def _inv(a: Ext) -> Ext:
    # a * conj(a) = u + v X^2 with conj(a) = a(-X); (u + v X^2)(u - v X^2) = u^2 - W v^2.
    conj = [a[0], (-a[1]) % _P, a[2], (-a[3]) % _P]
    u, _, v, _ = _mul(a, conj)
    norm_inv = pow((u * u - L.W * v * v) % _P, _P - 2, _P)
    return _mul(conj, [u * norm_inv % _P, 0, (-v) * norm_inv % _P, 0])


def _sub(a: Ext, b: Ext) -> Ext:
    return [(x - y) % _P for x, y in zip(a, b, strict=True)]


def _ext(a: L.U64) -> Ext:
    return [int(v) for v in np.asarray(a).reshape(4)]


def check_constraints_at_zeta(
    air: CompiledAir,
    tp: TableProof,
    zeta: L.U64,
    publics: list[int],
    challenges: list[L.U64],
    alpha: L.U64,
) -> None:
    """Raise InvalidProof unless the table's constraints folded by alpha at zeta equal
    Q(zeta) * Z_H(zeta) (the generic check's arguments, concrete values)."""
    z = _ext(zeta)
    g_inv = pow(two_adic_generator(tp.log_n), _P - 2, _P)
    zh = _sub(_pow(z, 1 << tp.log_n), [1, 0, 0, 0])
    z_minus_one = _sub(z, [1, 0, 0, 0])
    z_minus_ginv = _sub(z, [g_inv, 0, 0, 0])
    for v in (zh, z_minus_one, z_minus_ginv):
        if not any(v):
            raise InvalidProof("out-of-domain point lies in the trace domain")
    first = _mul(zh, _inv(z_minus_one))
    last = _mul(zh, _inv(z_minus_ginv))

    def col(a: object) -> L.U64:
        return np.asarray(a, dtype=np.uint64).reshape(-1, 4)

    pub = np.zeros((len(publics), 4), dtype=np.uint64)
    pub[:, 0] = [int(v) for v in publics]
    final = col(tp.final_sum[0]) if len(tp.final_sum) else np.zeros((1, 4), dtype=np.uint64)
    blocks = {
        "main": col(tp.main_local),
        "main_next": col(tp.main_next),
        "prep": col(tp.prep_local),
        "prep_next": col(tp.prep_next),
        "perm": combine_ext_columns(col(tp.perm_local)),
        "perm_next": combine_ext_columns(col(tp.perm_next)),
        "publics": pub,
        "challenges": col(np.array(challenges, dtype=np.uint64)),
        "final_sum": final,
        "is_first_row": col(first),
        "is_last_row": col(last),
        "is_transition": col(z_minus_ginv),
    }
    folded = _ext(fold_point(air, blocks, col(alpha)))
    # Q(zeta) = sum_j zeta^(j n) Q_j(zeta), each Q_j an extension polynomial in 4 base columns.
    chunks = combine_ext_columns(col(tp.quotient))
    zeta_n = _pow(z, 1 << tp.log_n)
    q_zeta = [0, 0, 0, 0]
    for chunk in chunks[::-1]:
        q_zeta = [(x + int(y)) % _P for x, y in zip(_mul(q_zeta, zeta_n), chunk, strict=True)]
    if folded != _mul(q_zeta, zh):
        raise InvalidProof(f"{air.name}: constraints do not match the quotient at zeta")
