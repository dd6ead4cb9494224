"""Three tables, two buses, several interactions per table and tuple-valued fingerprints."""

from __future__ import annotations

import os
import sys

import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stark_cases import FAST

from execution.stark.air import Air, AirBuilder, CompiledAir, compile_air
from execution.stark.errors import InvalidProof
from execution.stark.examples import ByteRangeTableAir
from execution.stark.proof import Proof
from execution.stark.prover import prove
from execution.stark.verifier import verify

RANGE_BUS = 0
SUM_BUS = 1


class AddsAir(Air):
    """c = a + b for byte operands; sends a and b to the range bus and (a, b, c) to the sum bus."""

    name = "adds"
    width = 3

    def eval(self, b: AirBuilder) -> None:
        x, y, z = b.local
        b.assert_eq(z, x + y)
        b.send(RANGE_BUS, [x])
        b.send(RANGE_BUS, [y])
        b.send(SUM_BUS, [x, y, z])


class SumsAir(Air):
    """A list of distinct (a, b, c) triples received with multiplicity m."""

    name = "sums"
    width = 4

    def eval(self, b: AirBuilder) -> None:
        x, y, z, m = b.local
        b.receive(SUM_BUS, [x, y, z], m)


def _traces(log_adds: int, seed: int) -> list[npt.NDArray[np.uint32]]:
    rng = np.random.default_rng(seed)
    n = 1 << log_adds
    a = rng.integers(0, 16, n)
    bb = rng.integers(0, 16, n)
    adds = np.stack([a, bb, a + bb], axis=1).astype(np.uint32)
    counts = np.bincount(np.concatenate([a, bb]), minlength=256).astype(np.uint32).reshape(256, 1)
    pairs, mult = np.unique(np.stack([a, bb], axis=1), axis=0, return_counts=True)
    rows = 1 << int(np.ceil(np.log2(len(pairs))))
    sums = np.zeros((rows, 4), dtype=np.uint32)  # padding rows: (0, 0, 0) with multiplicity 0
    sums[: len(pairs), 0] = pairs[:, 0]
    sums[: len(pairs), 1] = pairs[:, 1]
    sums[: len(pairs), 2] = pairs[:, 0] + pairs[:, 1]
    sums[: len(pairs), 3] = mult
    return [adds, counts, sums]


def _airs() -> list[CompiledAir]:
    return [compile_air(AddsAir()), compile_air(ByteRangeTableAir()), compile_air(SumsAir())]


@pytest.mark.parametrize(("log_adds", "seed"), [(3, 1), (9, 2)])
def test_three_tables_on_two_buses_verify(log_adds: int, seed: int) -> None:
    airs = _airs()
    traces = _traces(log_adds, seed)
    assert airs[0].num_interactions == 3 and airs[0].logup_groups == ((0, 1), (2,))
    assert airs[0].perm_width == 3  # two helper columns (one shared by a pair) + running sum
    proof = prove(airs, traces, [[], [], []], FAST)
    verify(airs, [[], [], []], Proof.from_bytes(proof.to_bytes()), FAST)


def test_a_wrong_tuple_on_the_sum_bus_is_rejected() -> None:
    airs = _airs()
    traces = _traces(5, 3)
    sums = traces[2].copy()
    sums[0, 2] += 1  # claims a + b + 1 for one pair: the tuples no longer match
    with pytest.raises(InvalidProof):
        verify(
            airs,
            [[], [], []],
            prove(airs, [traces[0], traces[1], sums], [[], [], []], FAST, check=False),
            FAST,
        )


def test_swapping_tuple_order_is_rejected() -> None:
    """(a, b, c) and (b, a, c) have different fingerprints (positions are weighted by beta^i)."""
    airs = _airs()
    traces = _traces(5, 4)
    sums = traces[2].copy()
    row = int(np.nonzero(sums[:, 0] != sums[:, 1])[0][0])
    sums[row, 0], sums[row, 1] = sums[row, 1], sums[row, 0]
    with pytest.raises(InvalidProof):
        verify(
            airs,
            [[], [], []],
            prove(airs, [traces[0], traces[1], sums], [[], [], []], FAST, check=False),
            FAST,
        )


def test_each_constraint_of_the_paired_table_mutated_is_rejected() -> None:
    from execution.stark.air import perturb_constraint

    airs = _airs()
    traces = _traces(4, 5)
    for which in range(len(airs[0].constraints)):
        bad = [perturb_constraint(airs[0], which), airs[1], airs[2]]
        proof = prove(bad, traces, [[], [], []], FAST, check=False)
        with pytest.raises(InvalidProof):
            verify(bad, [[], [], []], proof, FAST)


def test_pairs_only_within_the_degree_budget() -> None:
    class Squares(Air):
        name = "squares"
        width = 2

        def eval(self, b: AirBuilder) -> None:
            x, y = b.local
            b.assert_eq(y, x * x)
            b.send(RANGE_BUS, [x * x])
            b.send(RANGE_BUS, [y * y])

    c = compile_air(Squares())
    # A pair would have degree 1 + 2 + 2 = 5 > max(2, 3): each interaction keeps its column.
    assert c.logup_groups == ((0,), (1,)) and c.max_degree == 3
