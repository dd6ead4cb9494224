"""Completeness: honest proofs of every example AIR verify, at several sizes and profiles."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from stark_cases import EXAMPLES, FAST, statement

from execution.stark.air import Air, AirBuilder, compile_air
from execution.stark.errors import InvalidProof, ProvingError
from execution.stark.params import CONJECTURED, PROVEN
from execution.stark.proof import Proof
from execution.stark.prover import prove
from execution.stark.verifier import verify

SIZES = {"fibonacci": [1, 3, 6], "poseidon2": [1, 3], "logup": [4, 9]}


@pytest.mark.parametrize(("example", "log_n"), [(e, n) for e in EXAMPLES for n in SIZES[e]])
def test_honest_proof_verifies(example: str, log_n: int) -> None:
    st = statement(example, log_n)
    proof = st.prove(FAST)
    decoded = Proof.from_bytes(proof.to_bytes())
    verify(st.airs, st.publics, decoded, FAST)


@pytest.mark.parametrize("params", [CONJECTURED, PROVEN], ids=lambda p: p.name)
@pytest.mark.parametrize("example", EXAMPLES)
def test_both_profiles(example: str, params) -> None:  # type: ignore[no-untyped-def]
    st = statement(example, 3 if example != "logup" else 8, seed=3)
    proof = st.prove(params)
    assert proof.params == params
    assert proof.fri.query_rows == [] or proof.fri.query_rows[0].shape[0] == params.num_queries
    verify(st.airs, st.publics, Proof.from_bytes(proof.to_bytes()), params)


@pytest.mark.slow
@pytest.mark.parametrize(("example", "log_n"), [("fibonacci", 12), ("poseidon2", 8), ("logup", 13)])
def test_larger_proofs_verify(example: str, log_n: int) -> None:
    st = statement(example, log_n, seed=5)
    proof = st.prove(CONJECTURED)
    verify(st.airs, st.publics, Proof.from_bytes(proof.to_bytes()), CONJECTURED)


def test_prover_refuses_an_unsatisfied_trace_by_default() -> None:
    st = statement("fibonacci", 3)
    st.traces[0] = st.traces[0].copy()
    st.traces[0][4, 1] += 1
    with pytest.raises(ProvingError, match="fails at row"):
        st.prove(FAST)


def test_prover_refuses_bad_inputs() -> None:
    st = statement("fibonacci", 3)
    with pytest.raises(ProvingError, match="power of two"):
        prove(st.airs, [st.traces[0][:6]], st.publics, FAST)
    with pytest.raises(ProvingError, match="canonical"):
        prove(st.airs, [np.full((8, 2), 2013265921, dtype=np.uint32)], st.publics, FAST)
    with pytest.raises(ProvingError, match="public values"):
        prove(st.airs, st.traces, [[1, 2]], FAST)
    with pytest.raises(ProvingError, match="shape"):
        prove(st.airs, [st.traces[0][:, :1]], st.publics, FAST)


class _SquaresOfFixed(Air):
    """main[0] = prep[0]^2 and main[1]' = main[1] + prep[0]': fixed columns without any bus."""

    name = "squares_of_fixed"
    width = 2
    preprocessed_width = 1

    def eval(self, b: AirBuilder) -> None:
        b.assert_eq(b.local[0], b.prep_local[0] * b.prep_local[0])
        b.when_first_row(b.local[1] - b.prep_local[0])
        b.when_transition(b.next[1] - b.local[1] - b.prep_next[0])

    def preprocessed_trace(self, log_n: int) -> np.ndarray:  # type: ignore[type-arg]
        return (np.arange(1 << log_n, dtype=np.uint32) * 3 + 1).reshape(-1, 1)


@pytest.mark.parametrize("log_n", [2, 6])
def test_preprocessed_columns_without_interactions(log_n: int) -> None:
    air = compile_air(_SquaresOfFixed())
    fixed = _SquaresOfFixed().preprocessed_trace(log_n)[:, 0].astype(np.uint64)
    trace = np.stack([fixed * fixed % 2013265921, np.cumsum(fixed) % 2013265921], axis=1)
    proof = prove([air], [trace.astype(np.uint32)], [[]], FAST)
    verify([air], [[]], Proof.from_bytes(proof.to_bytes()), FAST)
    bad = trace.astype(np.uint32)
    bad[1, 0] += 1
    with pytest.raises(InvalidProof):
        verify([air], [[]], prove([air], [bad], [[]], FAST, check=False), FAST)
