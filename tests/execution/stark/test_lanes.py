"""The uint64-lane kernels agree with plain numpy `%` arithmetic on every operand shape the
prover passes them (a single element on either side, broadcast rows, small arrays that take
the numpy path)."""

from __future__ import annotations

import numpy as np
import pytest

from execution.stark import lanes as L

P64 = np.uint64(L.P)
RNG_SEED = 7

PAIR_SHAPES = [
    ((5000, 4), (5000, 4)),
    ((5000, 4), (4,)),
    ((4,), (5000, 4)),
    ((1, 4), (5000, 4)),
    ((5000, 4), (1, 4)),
    ((4,), (7, 4)),
    ((1, 4), (7, 4)),
    ((7, 4), (1, 4)),
    ((4,), (4,)),
]


def _rand(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    a = rng.integers(0, L.P, shape, dtype=np.uint64)
    if a.size > 4:
        a.reshape(-1)[:3] = [0, 1, L.P - 1]  # edge values
    return a


@pytest.mark.parametrize(("sa", "sb"), PAIR_SHAPES)
def test_extension_add_sub_match_numpy(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    rng = np.random.default_rng(RNG_SEED)
    a, b = _rand(rng, sa), _rand(rng, sb)
    for got, want in (
        (L.e_add(a, b), (a + b) % P64),
        (L.e_sub(a, b), (a + (P64 - b)) % P64),
        (L.e_sub(b, a), (b + (P64 - a)) % P64),
    ):
        assert got.shape == want.shape
        assert np.array_equal(got, want)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [
        ((5000, 4), (5000,)),
        ((1, 4), (5000,)),
        ((4,), (5000,)),
        ((5000, 4), ()),
        ((4,), ()),
        ((3, 4), (3,)),
        ((5000, 4), (1,)),
    ],
)
def test_mul_by_base_matches_numpy(sa: tuple[int, ...], sb: tuple[int, ...]) -> None:
    rng = np.random.default_rng(RNG_SEED)
    a, b = _rand(rng, sa), _rand(rng, sb)
    want = (a * b[..., None]) % P64
    got = L.e_mul_base(a, b)
    assert got.shape == want.shape
    assert np.array_equal(got, want)


def test_negation_matches_numpy() -> None:
    rng = np.random.default_rng(RNG_SEED)
    for shape in ((5000,), (3000, 4), (5,)):
        a = _rand(rng, shape)
        assert np.array_equal(L.b_neg(a), (P64 - a) % P64)
        assert np.array_equal(L.e_neg(a), (P64 - a) % P64)


def test_gather_rows_matches_fancy_indexing() -> None:
    rng = np.random.default_rng(RNG_SEED)
    m = rng.integers(0, L.P, (4096, 12), dtype=np.uint64).astype(np.uint32)
    idx = rng.permutation(4096)[:1000].astype(np.int64)
    for mat in (np.asfortranarray(m), np.ascontiguousarray(m)):
        assert np.array_equal(L.gather_rows(mat, idx, 4, 4), mat[idx, 4:8].astype(np.uint64))
        assert np.array_equal(L.gather_rows(mat, idx, 11, 1)[:, 0], mat[idx, 11])


def test_extension_inverse_kernel_matches_small_path_and_rejects_zero() -> None:
    rng = np.random.default_rng(RNG_SEED)
    a = _rand(rng, (6000, 4))
    a[3] = [0, 0, 0, 5]
    a[4] = [0, 1, 0, 0]
    inv = L.e_inv(a)  # the fused kernel
    assert np.array_equal(inv[:100], L.e_inv(a[:100]))  # the small (numpy) path
    prod = L.e_mul(a, inv)
    assert np.all(prod[:, 0] == 1) and not prod[:, 1:].any()
    assert np.array_equal(L.e_inv(a.reshape(30, 200, 4)).reshape(-1, 4), inv)
    a[4000] = 0
    with pytest.raises(ZeroDivisionError):
        L.e_inv(a)
