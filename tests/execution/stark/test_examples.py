"""The example AIRs compute what they claim, checked against independent references."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np

from execution.stark.air import compile_air
from execution.stark.examples import (
    FibonacciAir,
    Poseidon2Air,
    WideAir,
    byte_sum_traces,
    fibonacci_trace,
    poseidon2_trace,
    wide_trace,
)
from execution.stark.examples.poseidon2_air import OUTPUT_COLUMNS, WIDTH
from execution.stark.params import FriParams
from execution.stark.poseidon2 import permute
from execution.stark.prover import prove
from execution.stark.verifier import verify

P = 2013265921


def test_poseidon2_trace_outputs_match_the_permutation() -> None:
    rng = np.random.default_rng(42)
    inputs = rng.integers(0, P, (32, 16), dtype=np.uint64).astype(np.uint32)
    trace = poseidon2_trace(inputs)
    assert trace.shape == (32, WIDTH) == (32, Poseidon2Air.width)
    assert np.array_equal(trace[:, :16], inputs)
    assert np.array_equal(trace[:, OUTPUT_COLUMNS], permute(inputs))


def test_poseidon2_air_is_degree_three_and_known_answer_rows_satisfy_it() -> None:
    c = compile_air(Poseidon2Air())
    assert c.max_degree == 3
    # 8 full rounds x 32 constraints + 13 partial rounds x 2.
    assert len(c.constraints) == 8 * 32 + 13 * 2
    text = resources.files("execution.stark").joinpath("poseidon2_babybear_16.json").read_text()
    kat = json.loads(text)["known_answer"]
    inputs = np.array([kat["input"], kat["input"]], dtype=np.uint32)
    trace = poseidon2_trace(inputs)
    assert trace[0, OUTPUT_COLUMNS].tolist() == kat["output"]
    params = FriParams(name="kat", log_blowup=2, num_queries=2, pow_bits=0)
    verify([c], [[]], prove([c], [trace], [[]], params), params)  # prove checks every row


def test_fibonacci_trace_matches_python() -> None:
    t, pub = fibonacci_trace(5, 3, 4)
    a, b = 3, 4
    for row in t:
        assert (int(row[0]), int(row[1])) == (a, b)
        a, b = b, (a + b) % P
    assert pub == [3, 4, int(t[-1, 1])]
    assert compile_air(FibonacciAir()).num_public_values == 3


def test_byte_sum_counts_balance_the_bus() -> None:
    main, counts, pub = byte_sum_traces(10, seed=4)
    assert int(counts.sum()) == 1 << 10
    assert pub == [int(main[:, 0].astype(np.int64).sum() % P)]
    assert int(main[:, 0].max()) < 256


def test_wide_trace_follows_its_recurrence() -> None:
    t = wide_trace(4, 5, seed=2).astype(np.uint64)
    nxt = (t[:-1] * np.roll(t[:-1], -1, axis=1) % P + np.arange(1, 6, dtype=np.uint64)) % P
    assert np.array_equal(t[1:], nxt)
    assert compile_air(WideAir(5)).max_degree == 3
