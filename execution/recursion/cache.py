"""A bounded least-recently-used map for recursion programs and keys.

A zkVM lift program is ~630k instructions and its key holds the layout and the committed fixed
columns: hundreds of MB per entry. Unbounded per-process caches let a stream of proofs of new
shapes grow a validator's memory without limit (docs/recursion.md, review finding), so every
cache of programs and keys is one of these, with a small capacity.
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
    capacity drops the least recent."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a cache holds at least one entry")
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        # A node looks entries up from several threads (block execution, proof exchange).
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
        return key in self._items
