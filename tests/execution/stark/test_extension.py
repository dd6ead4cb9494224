"""BabyBear^4 = F[X]/(X^4 - 11): field axioms, inverses, and a galois polynomial oracle."""

from __future__ import annotations

from typing import Any

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from execution.stark import extension as E

P = 2013265921
ext_elem = arrays(np.uint32, (4,), elements=st.integers(min_value=0, max_value=P - 1))


@pytest.fixture(scope="module")
def gf() -> Any:
    # python-calculate: no JIT warm-up for the few scalar operations done here
    return galois.GF(P, compile="python-calculate")


def _poly(gf: Any, coeffs: np.ndarray) -> Any:
    return galois.Poly(gf(np.asarray(coeffs, dtype=np.int64)), order="asc")


def _coeffs(poly: Any) -> np.ndarray:
    out = np.zeros(4, dtype=np.uint32)
    c = np.asarray(poly.coefficients(order="asc"), dtype=np.uint32)
    out[: len(c)] = c
    return out


def test_mul_and_inv_match_galois_polynomials(gf: Any) -> None:
    rng = np.random.default_rng(7)
    a = rng.integers(0, P, size=(32, 4), dtype=np.uint32)
    b = rng.integers(0, P, size=(32, 4), dtype=np.uint32)
    a[0] = [P - 1, P - 1, P - 1, P - 1]
    b[0] = [P - 1, P - 1, P - 1, P - 1]
    modulus = galois.Poly(gf([1, 0, 0, 0, P - 11]))  # X^4 - 11, descending order
    prod = E.ext_mul(a, b)
    inv = E.ext_inv(a)
    for i in range(a.shape[0]):
        expected = (_poly(gf, a[i]) * _poly(gf, b[i])) % modulus
        np.testing.assert_array_equal(prod[i], _coeffs(expected))
        np.testing.assert_array_equal(
            _coeffs((_poly(gf, a[i]) * _poly(gf, inv[i])) % modulus), [1, 0, 0, 0]
        )


def test_x_to_the_fourth_is_w() -> None:
    x = np.array([0, 1, 0, 0], dtype=np.uint32)
    np.testing.assert_array_equal(E.ext_pow(x, 4), [E.W, 0, 0, 0])
    assert E.W == 11


@settings(max_examples=60, deadline=None)
@given(ext_elem, ext_elem, ext_elem)
def test_field_axioms(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:
    mul, add = E.ext_mul, E.ext_add
    np.testing.assert_array_equal(mul(a, b), mul(b, a))
    np.testing.assert_array_equal(mul(mul(a, b), c), mul(a, mul(b, c)))
    np.testing.assert_array_equal(add(add(a, b), c), add(a, add(b, c)))
    np.testing.assert_array_equal(mul(a, add(b, c)), add(mul(a, b), mul(a, c)))
    np.testing.assert_array_equal(mul(a, E.ext_one()), a)
    np.testing.assert_array_equal(add(a, E.ext_neg(a)), E.ext_zero())
    np.testing.assert_array_equal(E.ext_sub(a, b), add(a, E.ext_neg(b)))
    if np.any(a):
        np.testing.assert_array_equal(mul(a, E.ext_inv(a)), E.ext_one())


def test_pow_fermat_and_negative_exponents() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(1, P, size=(32, 4), dtype=np.uint32)
    # The multiplicative group has order p^4 - 1.
    np.testing.assert_array_equal(E.ext_pow(a, P**4 - 1), E.ext_one(a.shape[:1]))
    np.testing.assert_array_equal(E.ext_pow(a, -2), E.ext_inv(E.ext_mul(a, a)))
    np.testing.assert_array_equal(E.ext_pow(a, 0), E.ext_one(a.shape[:1]))
    np.testing.assert_array_equal(E.ext_square(a), E.ext_mul(a, a))


def test_base_embedding_and_mul_base() -> None:
    rng = np.random.default_rng(5)
    a = rng.integers(0, P, size=(3, 5, 4), dtype=np.uint32)
    b = rng.integers(0, P, size=(3, 5), dtype=np.uint32)
    np.testing.assert_array_equal(E.ext_mul_base(a, b), E.ext_mul(a, E.ext_from_base(b)))
    emb = E.ext_from_base(b)
    assert emb.shape == (3, 5, 4)
    np.testing.assert_array_equal(emb[..., 1:], 0)
    # broadcasting a single extension element against many base elements
    one = E.ext_from_base(np.uint32(2))
    np.testing.assert_array_equal(E.ext_mul_base(one, b)[..., 0], (2 * b.astype(np.uint64)) % P)


def test_inverse_of_zero_raises_and_shapes_are_checked() -> None:
    vals = np.array([[1, 2, 3, 4], [0, 0, 0, 0]], dtype=np.uint32)
    with pytest.raises(ZeroDivisionError):
        E.ext_inv(vals)
    with pytest.raises(ValueError):
        E.ext_mul(np.zeros(3, np.uint32), np.zeros(3, np.uint32))
