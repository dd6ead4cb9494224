"""Example AIRs used by the tests and benchmarks."""

from __future__ import annotations

from execution.stark.examples.fibonacci import FibonacciAir, fibonacci_trace
from execution.stark.examples.logup_range import (
    ByteRangeTableAir,
    ByteSumAir,
    byte_sum_traces,
)
from execution.stark.examples.poseidon2_air import Poseidon2Air, poseidon2_trace
from execution.stark.examples.wide import WideAir, wide_trace

__all__ = [
    "ByteRangeTableAir",
    "ByteSumAir",
    "FibonacciAir",
    "Poseidon2Air",
    "WideAir",
    "byte_sum_traces",
    "fibonacci_trace",
    "poseidon2_trace",
    "wide_trace",
]
