"""The DEEP quotient is computed one LDE block at a time (execution/stark/prover.py:
_deep_codeword). It must equal the textbook sum over every opened column,
sum_k a^k (p_k(X) - y_k) / (X - z), evaluated over the whole LDE at once with one inversion per
opening point, for kept and released LDEs, one and two opening points per matrix.
"""

from __future__ import annotations

import numpy as np
import pytest

from execution.stark import lanes as L
from execution.stark import prover as stark_prover
from execution.stark.domain import coset_points_bitrev
from execution.stark.field import GENERATOR, two_adic_generator
from execution.stark.prover import PhaseTimer, _Committed, _deep_codeword, _lde_commit

ONE = np.array([1, 0, 0, 0], dtype=np.uint64)


def _ext(rng: np.random.Generator, *shape: int) -> L.U64:
    return rng.integers(0, L.P, (*shape, 4), dtype=np.uint64)


def _reference(
    per_matrix: list[tuple[_Committed, list[tuple[L.U64, np.ndarray]]]],
    log_h: int,
    alpha: L.U64,
    power: L.U64,
) -> tuple[L.U64, L.U64]:
    x = L.e_from_base(coset_points_bitrev(log_h, GENERATOR))
    acc = np.zeros((1 << log_h, 4), dtype=np.uint64)
    for com, pts in per_matrix:
        lde = com.lde()
        w = lde.shape[1]
        for z, y in pts:
            coeffs = L.e_mul(L.e_powers(alpha, w), power)
            y_sum = L.e_mul(L.to64(y), coeffs).sum(axis=0) % L.P
            num = L.e_sub(L.mat_dot_ext(lde, coeffs), y_sum[None, :])
            acc = L.e_add(acc, L.e_mul(num, L.e_inv(L.e_sub(x, np.broadcast_to(z, x.shape)))))
            power = L.e_mul(power, L.e_pow(alpha, w))
    return acc, power


@pytest.mark.parametrize("release", [False, True])
def test_blockwise_deep_equals_the_whole_lde_formula(
    release: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if release:
        monkeypatch.setattr(stark_prover, "RELEASE_LDE_ELEMENTS", 0)
    rng = np.random.default_rng(11)
    log_n, lb = 5, 2
    zeta = _ext(rng)
    zeta_next = L.e_mul_base(zeta, np.uint64(two_adic_generator(log_n)))
    per_matrix: list[tuple[_Committed, list[tuple[L.U64, np.ndarray]]]] = []
    for width, two in ((3, True), (6, True), (8, False)):
        on_h = rng.integers(0, L.P, (1 << log_n, width), dtype=np.uint64).astype(np.uint32)
        com = _lde_commit(on_h, lb, PhaseTimer())
        assert (com.kept_lde is None) == release
        pts = [(zeta, _ext(rng, width).astype(np.uint32))]
        if two:
            pts.append((zeta_next, _ext(rng, width).astype(np.uint32)))
        per_matrix.append((com, pts))
    alpha = _ext(rng)
    start = _ext(rng)
    word, power = _deep_codeword(per_matrix, log_n, lb, zeta, alpha, start)
    want, want_power = _reference(per_matrix, log_n + lb, alpha, start)
    assert np.array_equal(power, want_power)
    assert np.array_equal(word, want)
    # A wrong opened value moves the codeword off the reference (the check can fail).
    com0, pts0 = per_matrix[0]
    bad_y = pts0[1][1].copy()
    bad_y[0, 0] ^= 1
    bad = [(com0, [pts0[0], (pts0[1][0], bad_y)]), *per_matrix[1:]]
    bad_word, _ = _deep_codeword(bad, log_n, lb, zeta, alpha, start)
    assert not np.array_equal(bad_word, want)
    assert not np.array_equal(ONE, power)
