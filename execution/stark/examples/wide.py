"""A synthetic wide AIR for benchmarks: w columns, degree-3 transition constraints.

Column i follows x_i' = x_i * x_{i+1} + c_i (indices mod w), so every column is constrained
and the constraint degree (2, plus the selector: 3) matches typical zkVM tables.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.lanes import P

__all__ = ["WideAir", "wide_trace"]


class WideAir(Air):
    num_public_values = 0

    def __init__(self, width: int) -> None:
        self.width = width
        self.name = f"wide{width}"

    def eval(self, b: AirBuilder) -> None:
        w = self.width
        for i in range(w):
            x = b.local[i]
            b.when_transition(b.next[i] - (x * b.local[(i + 1) % w] + (i + 1)))


def wide_trace(log_n: int, width: int, seed: int = 1) -> npt.NDArray[np.uint32]:
    n = 1 << log_n
    rng = np.random.default_rng(seed)
    t = np.zeros((n, width), dtype=np.uint64)
    t[0] = rng.integers(0, P, width, dtype=np.uint64)
    c = np.arange(1, width + 1, dtype=np.uint64)
    p = np.uint64(P)
    for r in range(1, n):
        x = t[r - 1]
        t[r] = (x * np.roll(x, -1) % p + c) % p
    return t.astype(np.uint32)
