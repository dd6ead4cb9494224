"""Two tables on one LogUp bus: a byte-sum table and a byte range table.

ByteSumAir (columns v, acc): acc is the running sum of v, its last value is public, and each
row sends v on bus 0. ByteRangeTableAir (height 256): a preprocessed column t = 0..255 and a main
column m receiving t with multiplicity m. The bus balances only if every v is a byte and m counts
how often each byte occurs, so the pair proves "the public sum is a sum of bytes".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.lanes import P

__all__ = ["ByteRangeTableAir", "ByteSumAir", "byte_sum_traces"]

BYTE_BUS = 0
LOG_TABLE = 8


class ByteSumAir(Air):
    name = "byte_sum"
    width = 2
    num_public_values = 1

    def eval(self, b: AirBuilder) -> None:
        v, acc = b.local
        v_next, acc_next = b.next
        b.when_first_row(acc - v)
        b.when_transition(acc_next - acc - v_next)
        b.when_last_row(acc - b.public[0])
        b.send(BYTE_BUS, [v])


class ByteRangeTableAir(Air):
    name = "byte_range_table"
    width = 1
    preprocessed_width = 1
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        b.receive(BYTE_BUS, [b.prep_local[0]], b.local[0])

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != LOG_TABLE:
            raise ValueError("the byte range table has exactly 256 rows")
        return np.arange(256, dtype=np.uint32).reshape(256, 1)


def byte_sum_traces(
    log_n: int, seed: int = 1
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32], list[int]]:
    """(byte-sum trace, range-table trace, public values of the byte-sum table)."""
    rng = np.random.default_rng(seed)
    v = rng.integers(0, 256, 1 << log_n, dtype=np.uint64)
    acc = np.cumsum(v) % P
    main = np.stack([v, acc], axis=1).astype(np.uint32)
    counts = np.bincount(v.astype(np.int64), minlength=256).astype(np.uint32).reshape(256, 1)
    return main, counts, [int(acc[-1])]
