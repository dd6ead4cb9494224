"""The verifier's key caches are shared by a node's threads (proof exchange, block execution):
lookups and inserts from many threads at once never raise, and the size bound holds."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator

import pytest

from execution.stark import protocol
from storage.lru_cache import LruCache


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter allows, so that a lookup and its move to the
    end interleave with another thread's eviction if nothing keeps them together."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _hammer(work: Callable[[int], None], threads: int = 8) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            work(seed)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    if any(t.is_alive() for t in pool):
        errors.append(TimeoutError("a thread still runs after 120 s (a lock held for good?)"))
    return errors


# 300,000 rounds per thread: with fewer, the unlocked code (before this test) passed by luck;
# with these it raised KeyError in both tests. About 30 s, so slow.
@pytest.mark.slow
def test_protocol_lru_helpers_from_many_threads(fast_switching: None) -> None:
    cache: OrderedDict[tuple[bytes, int, int], int] = OrderedDict()

    def work(seed: int) -> None:
        for i in range(300_000):
            key = (b"k", (i * 7 + seed) % 5, 0)
            if protocol._lru_get(cache, key) is None:
                protocol._lru_put(cache, key, i, 2)

    assert _hammer(work) == []
    assert len(cache) <= 2


@pytest.mark.slow
def test_lru_cache_from_many_threads(fast_switching: None) -> None:
    cache: LruCache[int, int] = LruCache(2)

    def work(seed: int) -> None:
        for i in range(300_000):
            key = (i * 7 + seed) % 5
            if cache.get(key) is None:
                cache.put(key, i)

    assert _hammer(work) == []
    assert len(cache) <= 2
