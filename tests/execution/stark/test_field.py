"""BabyBear arithmetic cross-checked against galois.GF(2013265921)."""

from __future__ import annotations

from typing import Any

import galois
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution.stark import field as F

P = 2013265921
elems = st.integers(min_value=0, max_value=P - 1)


@pytest.fixture(scope="module")
def gf() -> Any:
    return galois.GF(P)


@pytest.fixture(scope="module")
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1234)
    a = rng.integers(0, P, size=4096, dtype=np.uint32)
    b = rng.integers(0, P, size=4096, dtype=np.uint32)
    # the edges: 0, 1, p - 1, and values near 2^31
    a[:4] = [0, 1, P - 1, P - 2]
    b[:4] = [P - 1, 0, P - 1, 2]
    return a, b


def test_constants() -> None:
    assert F.P == P == 15 * 2**27 + 1
    assert F.TWO_ADICITY == 27
    # 31 generates the multiplicative group: no maximal proper subgroup contains it.
    for q in (2, 3, 5):
        assert pow(F.GENERATOR, (P - 1) // q, P) != 1


def test_elementwise_ops_match_galois(gf: Any, samples: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = samples
    ga, gb = gf(a), gf(b)
    for ours, theirs in (
        (F.add(a, b), ga + gb),
        (F.sub(a, b), ga - gb),
        (F.mul(a, b), ga * gb),
        (F.neg(a), -ga),
    ):
        assert ours.dtype == np.uint32
        np.testing.assert_array_equal(ours, np.asarray(theirs, dtype=np.uint32))


def test_pow_and_inverses_match_galois(gf: Any, samples: tuple[np.ndarray, np.ndarray]) -> None:
    a, _ = samples
    nz = a[a != 0]
    gnz = gf(nz)
    for e in (0, 1, 2, 7, 12345, P - 2, P - 1, P + 5):
        np.testing.assert_array_equal(F.pow(nz, e), np.asarray(gnz**e, dtype=np.uint32))
    np.testing.assert_array_equal(F.inv(nz), np.asarray(gnz**-1, dtype=np.uint32))
    np.testing.assert_array_equal(F.batch_inv(nz), np.asarray(gnz**-1, dtype=np.uint32))
    np.testing.assert_array_equal(F.pow(nz, -3), np.asarray(gnz**-3, dtype=np.uint32))
    two_d = nz[:100].reshape(10, 10)
    assert F.batch_inv(two_d).shape == (10, 10)
    np.testing.assert_array_equal(F.mul(F.batch_inv(two_d), two_d), np.ones((10, 10), np.uint32))


def test_inverse_of_zero_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        F.inv(np.array([3, 0], dtype=np.uint32))
    with pytest.raises(ZeroDivisionError):
        F.batch_inv(np.array([3, 5, 0, 7], dtype=np.uint32))
    with pytest.raises(ZeroDivisionError):
        F.pow(np.uint32(0), -1)


def test_broadcasting_and_scalars() -> None:
    a = np.arange(6, dtype=np.uint32).reshape(2, 3)
    np.testing.assert_array_equal(F.mul(a, np.uint32(P - 1)), F.neg(a))
    assert int(F.add(P - 1, 1)) == 0
    assert int(F.sub(0, 1)) == P - 1
    assert F.batch_inv(np.zeros(0, dtype=np.uint32)).shape == (0,)


def test_two_adic_generators() -> None:
    prev = None
    for k in range(F.TWO_ADICITY + 1):
        g = F.two_adic_generator(k)
        assert pow(g, 1 << k, P) == 1
        if k:
            assert pow(g, 1 << (k - 1), P) == P - 1  # order exactly 2^k
        if prev is not None:
            assert pow(g, 2, P) == prev
        prev = g
    assert F.two_adic_generator(27) == 0x1A427A41  # Plonky3's TWO_ADIC_GENERATOR
    with pytest.raises(ValueError):
        F.two_adic_generator(28)
    with pytest.raises(ValueError):
        F.two_adic_generator(-1)


def test_helpers() -> None:
    np.testing.assert_array_equal(F.from_int([-1, P, 5]), np.array([P - 1, 0, 5], np.uint32))
    assert F.is_canonical(np.array([0, P - 1], dtype=np.uint32))
    assert not F.is_canonical(np.array([P], dtype=np.uint64))
    assert not F.is_canonical(np.array([1.0]))


@settings(max_examples=200, deadline=None)
@given(elems, elems)
def test_scalar_ops_match_python_ints(x: int, y: int) -> None:
    assert int(F.add(x, y)) == (x + y) % P
    assert int(F.sub(x, y)) == (x - y) % P
    assert int(F.mul(x, y)) == (x * y) % P
    if x:
        assert int(F.mul(F.inv(x), x)) == 1
