"""NTT and coset LDE cross-checked against galois (ntt/intt and polynomial evaluation)."""

from __future__ import annotations

from typing import Any

import galois
import numpy as np
import pytest

from execution.stark import field as F
from execution.stark.ntt import bit_reverse_indices, coset_lde, intt, lde_domain, ntt

P = 2013265921


@pytest.fixture(scope="module")
def gf() -> Any:
    return galois.GF(P)


def _rand(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, P, size=shape, dtype=np.uint32)


def _bitrev(i: int, bits: int) -> int:
    return int(f"{i:0{bits}b}"[::-1], 2) if bits else 0


@pytest.mark.parametrize("log_n", [0, 1, 2, 3, 4, 7, 12])
def test_ntt_and_intt_match_galois(log_n: int) -> None:
    n = 1 << log_n
    x = _rand((n, 3), seed=log_n)
    ours = ntt(x)
    inv = intt(x)
    for c in range(3):
        col = x[:, c].astype(np.int64)
        np.testing.assert_array_equal(ours[:, c], np.asarray(galois.ntt(col, modulus=P), np.uint32))
        np.testing.assert_array_equal(inv[:, c], np.asarray(galois.intt(col, modulus=P), np.uint32))
    np.testing.assert_array_equal(intt(ours), x)


def test_single_long_column_split_across_threads() -> None:
    # One column longer than the kernel's block size takes the layer-parallel path.
    x = _rand((1 << 14,), seed=21)
    expected = np.asarray(galois.ntt(x.astype(np.int64), modulus=P), np.uint32)
    np.testing.assert_array_equal(ntt(x), expected)
    np.testing.assert_array_equal(intt(expected), x)


def test_axis_and_shapes() -> None:
    x = _rand((3, 16, 5), seed=9)
    along1 = ntt(x, axis=1)
    for i in range(3):
        np.testing.assert_array_equal(along1[i], ntt(x[i]))
    np.testing.assert_array_equal(intt(along1, axis=1), x)
    np.testing.assert_array_equal(ntt(x[0, :, 0]), ntt(x[0])[:, 0])
    before = x.copy()
    ntt(x, axis=1)
    np.testing.assert_array_equal(x, before)  # inputs are never transformed in place
    with pytest.raises(ValueError):
        ntt(np.zeros(12, dtype=np.uint32))


@pytest.mark.parametrize(
    ("log_n", "log_blowup", "shift"),
    [
        (0, 2, F.GENERATOR),
        (1, 1, F.GENERATOR),
        (3, 0, 7),
        (3, 2, F.GENERATOR),
        (5, 3, 7),
        (6, 1, 1),
    ],
)
def test_coset_lde_is_polynomial_evaluation(
    gf: Any, log_n: int, log_blowup: int, shift: int
) -> None:
    n = 1 << log_n
    trace = _rand((n, 4), seed=100 + log_n)
    lde = coset_lde(trace, log_blowup, shift)
    log_big = log_n + log_blowup
    assert lde.shape == (n << log_blowup, 4)
    assert lde.dtype == np.uint32
    w = F.two_adic_generator(log_big)
    points = [shift * pow(w, _bitrev(i, log_big), P) % P for i in range(1 << log_big)]
    np.testing.assert_array_equal(lde_domain(log_big, shift), np.array(points, np.uint32))
    for c in range(4):
        coeffs = galois.intt(trace[:, c].astype(np.int64), modulus=P)
        poly = galois.Poly(gf(np.asarray(coeffs)), order="asc")
        expected = np.asarray(poly(gf(np.array(points, dtype=np.int64))), dtype=np.uint32)
        np.testing.assert_array_equal(lde[:, c], expected)


def test_coset_lde_rows_of_x_and_minus_x_are_adjacent() -> None:
    pts = lde_domain(6, F.GENERATOR).astype(np.int64)
    np.testing.assert_array_equal((pts[0::2] + pts[1::2]) % P, 0)


def test_coset_lde_large_has_low_degree() -> None:
    # 2^12 rows, blowup 4: back in natural order and divided by the shift powers, the extension
    # must be exactly the trace's coefficients followed by zeros.
    log_n, log_blowup, shift = 12, 2, F.GENERATOR
    trace = _rand((1 << log_n, 2), seed=5)
    lde = coset_lde(trace, log_blowup, shift)
    natural = lde[bit_reverse_indices(log_n + log_blowup)]
    coeffs = intt(natural)
    shift_pows = np.array([pow(shift, k, P) for k in range(1 << log_n)], dtype=np.uint32)
    expected = F.mul(intt(trace), shift_pows[:, None])
    np.testing.assert_array_equal(coeffs[: 1 << log_n], expected)
    np.testing.assert_array_equal(coeffs[1 << log_n :], 0)


def test_coset_lde_layouts_and_errors() -> None:
    trace = _rand((64, 5), seed=77)
    before = trace.copy()
    c_order = coset_lde(trace, 2)
    f_order = coset_lde(np.asfortranarray(trace), 2)
    np.testing.assert_array_equal(c_order, f_order)
    np.testing.assert_array_equal(trace, before)
    assert c_order.flags.f_contiguous
    np.testing.assert_array_equal(coset_lde(trace[:, :0], 1).shape, (128, 0))
    with pytest.raises(ValueError):
        coset_lde(np.zeros((48, 2), np.uint32), 1)
    with pytest.raises(ValueError):
        coset_lde(np.zeros(8, np.uint32), 1)
    with pytest.raises(ValueError):
        coset_lde(np.zeros((8, 1), np.uint32), 26)
    with pytest.raises(ValueError):
        coset_lde(np.zeros((8, 1), np.uint32), 1, shift=P)
