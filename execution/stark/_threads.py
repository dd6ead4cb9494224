"""Run small kernel calls on the calling thread only.

Waking numba's worker threads costs little on an idle machine but milliseconds when the cores are
oversubscribed (measured: a 43-state compression took 11 ms with 2 threads against 0.2 ms with
one, under load). Verifier-sized calls therefore run serially; big ones use every thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba

# Below this many units of work (permutations, or field elements for an NTT / 64) a call runs on
# one thread.
SERIAL_BELOW = 2048


@contextmanager
def threads_for(work: int) -> Iterator[None]:
    if work >= SERIAL_BELOW:
        yield
        return
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)
