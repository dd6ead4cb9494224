"""Shared builders for the STARK upper-layer tests: example statements, seeded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.stark.air import CompiledAir, compile_air
from execution.stark.examples import (
    ByteRangeTableAir,
    ByteSumAir,
    FibonacciAir,
    Poseidon2Air,
    byte_sum_traces,
    fibonacci_trace,
    poseidon2_trace,
)
from execution.stark.params import FriParams
from execution.stark.proof import Proof
from execution.stark.prover import prove

FAST = FriParams(name="test-fast", log_blowup=2, num_queries=6, pow_bits=2)


@dataclass
class Statement:
    airs: list[CompiledAir]
    traces: list[npt.NDArray[np.uint32]]
    publics: list[list[int]]

    def prove(self, params: FriParams, check: bool = True) -> Proof:
        return prove(self.airs, self.traces, self.publics, params, check=check)


_CACHE: dict[str, CompiledAir] = {}


def compiled(name: str) -> CompiledAir:
    if name not in _CACHE:
        air = {
            "fibonacci": FibonacciAir,
            "poseidon2": Poseidon2Air,
            "byte_sum": ByteSumAir,
            "byte_range": ByteRangeTableAir,
        }[name]()
        _CACHE[name] = compile_air(air)
    return _CACHE[name]


def statement(example: str, log_n: int, seed: int = 1) -> Statement:
    if example == "fibonacci":
        t, pub = fibonacci_trace(log_n, 1 + seed, 2 + seed)
        return Statement([compiled("fibonacci")], [t], [pub])
    if example == "poseidon2":
        rng = np.random.default_rng(seed)
        inputs = rng.integers(0, 2013265921, (1 << log_n, 16), dtype=np.uint64).astype(np.uint32)
        return Statement([compiled("poseidon2")], [poseidon2_trace(inputs)], [[]])
    if example == "logup":
        main, counts, pub = byte_sum_traces(log_n, seed)
        return Statement([compiled("byte_sum"), compiled("byte_range")], [main, counts], [pub, []])
    raise ValueError(example)


EXAMPLES = ["fibonacci", "poseidon2", "logup"]
