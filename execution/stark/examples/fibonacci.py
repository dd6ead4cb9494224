"""Fibonacci: two columns (a, b); public values a_0, b_0 and the last b."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.lanes import P

__all__ = ["FibonacciAir", "fibonacci_trace"]


class FibonacciAir(Air):
    name = "fibonacci"
    width = 2
    num_public_values = 3

    def eval(self, b: AirBuilder) -> None:
        a, bb = b.local
        a_next, b_next = b.next
        b.when_first_row(a - b.public[0])
        b.when_first_row(bb - b.public[1])
        b.when_transition(a_next - bb)
        b.when_transition(b_next - (a + bb))
        b.when_last_row(bb - b.public[2])


def fibonacci_trace(
    log_n: int, a0: int = 0, b0: int = 1
) -> tuple[npt.NDArray[np.uint32], list[int]]:
    n = 1 << log_n
    t = np.zeros((n, 2), dtype=np.uint32)
    a, b = a0 % P, b0 % P
    for i in range(n):
        t[i] = (a, b)
        a, b = b, (a + b) % P
    return t, [a0 % P, b0 % P, int(t[-1, 1])]
