"""The one LevelDB handle of a process, and atomic write batches over it.

LevelDB allows one open handle per path per process (a second raises a LOCK error), so
`Database.open` keeps a registry and refuses a second open with a clear message instead.
Every key is built by storage.schema; namespaces are key prefixes, so one WriteBatch can span
all of them and a block commit stays one atomic, fsynced write.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import plyvel

from storage.errors import DatabaseLocked, StorageError

_open_paths: set[str] = set()
_registry_lock = threading.Lock()


class WriteBatch:
    """Puts and deletes collected in memory and written at once."""

    def __init__(self) -> None:
        self.puts: dict[bytes, bytes] = {}
        self.deletes: set[bytes] = set()

    def put(self, key: bytes, value: bytes) -> None:
        self.deletes.discard(key)
        self.puts[key] = value

    def delete(self, key: bytes) -> None:
        self.puts.pop(key, None)
        self.deletes.add(key)

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes)

    def byte_size(self) -> int:
        return sum(len(k) + len(v) for k, v in self.puts.items()) + sum(map(len, self.deletes))


class Database:
    """A bytes -> bytes store on one LevelDB directory."""

    def __init__(self, db: Any, path: str) -> None:
        self._db = db
        self.path = path
        self.bytes_written = 0  # payload bytes handed to LevelDB by this handle

    @classmethod
    def open(cls, path: str | os.PathLike[str], create: bool = True) -> Database:
        real = str(Path(path).resolve())
        with _registry_lock:
            if real in _open_paths:
                raise DatabaseLocked(f"database {real} is already open in this process")
            try:
                Path(real).parent.mkdir(parents=True, exist_ok=True)
                db = plyvel.DB(real, create_if_missing=create, paranoid_checks=True)
            except plyvel.IOError as exc:
                if "LOCK" in str(exc):
                    raise DatabaseLocked(
                        f"database {real} is locked: is another node running on this home?"
                    ) from exc
                raise StorageError(f"cannot open database {real}: {exc}") from exc
            except plyvel.Error as exc:
                raise StorageError(f"cannot open database {real}: {exc}") from exc
            _open_paths.add(real)
        return cls(db, real)

    def close(self) -> None:
        with _registry_lock:
            if not self._db.closed:
                self._db.close()
            _open_paths.discard(self.path)

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def iterate_prefix(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        yield from self._db.iterator(prefix=prefix)

    def write(self, batch: WriteBatch, sync: bool = True) -> None:
        """Write a batch atomically; with sync=True it is on disk when this returns."""
        with self._db.write_batch(sync=sync) as wb:
            for key, value in batch.puts.items():
                wb.put(key, value)
            for key in batch.deletes:
                wb.delete(key)
        self.bytes_written += batch.byte_size()

    @contextmanager
    def batch(self, sync: bool = True) -> Iterator[WriteBatch]:
        """Collect writes; they reach the disk together only if the block exits cleanly."""
        wb = WriteBatch()
        yield wb
        self.write(wb, sync=sync)
