"""The bounded LRU map every in-memory cache uses (storage/lru_cache.py): never more than its
capacity, the least recently used entry dropped first, a hit refreshing an entry. Its use from
many threads at once: tests/execution/stark/test_cache_threads.py (slow)."""

from __future__ import annotations

import pytest

from storage.lru_cache import LruCache


def test_lru_keeps_at_most_capacity_and_drops_the_least_recent() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert len(cache) == 2 and "b" not in cache
    assert cache.get("a") == 1 and cache.get("c") == 3 and cache.get("b") is None
    cache.put("a", 4)  # replacing counts as a use
    cache.put("d", 5)
    assert "c" not in cache and cache.get("a") == 4
    seen: LruCache[str, bool] = LruCache(1)  # a bounded set
    seen.put("x", True)
    assert seen.get("x") and not seen.get("y") and "x" in seen
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        LruCache(0)
