"""A bounded least-recently-used map: the one in-memory cache every package uses.

Node caches (decoded blocks, receipts, verified signatures, refused evidence) and proof caches
(program keys, recursion programs and keys: hundreds of MB per entry) must all stay bounded
whatever peers send, and several are read from more than one thread (block execution, proof
exchange), so each is one of these: a capacity, a hit refreshing its entry, an insert past the
capacity dropping the least recent, every operation under a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["LruCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most `capacity` entries; a hit makes an entry the most recent, an insert past the
    capacity drops the least recent. A set is a cache of `True` values."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a cache holds at least one entry")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        # A move_to_end after another thread's eviction raised KeyError: every step locks.
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        """Whether `key` is held (without refreshing it)."""
        return key in self._items
