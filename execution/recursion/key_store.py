"""A disk cache of recursion verifying keys (lift and join programs), so that a validator
records and keys a shape's programs once per machine instead of once per process.

A zkVM lift key costs ~1 min (recording the verifier, 10-23 s; the layout, 19-23 s) and a
validator met it inside its first proposal check of each shape after every restart. With a
store configured (`configure(directory)`: the node uses `<home>/data/recursion-keys`),
`lift_key` and `join_key` look a key up here before building it and write what they build.

Entry name: sha256 over the kind ("lift" / "join"), a canonical byte encoding of what the
program depends on (`LiftSpec.key()`; the children's control ids and the FRI parameters) and
the code version (sha256 of the sources of execution/recursion and execution/stark: the
recorder runs the verifier, the layout places the program), so a changed recorder, verifier or
AIR never meets a key of the old code. File `<kind>-<version tag>-<entry hex>.key` (the tag:
the code version's first 8 bytes, hex), written to a temporary name, fsynced and renamed (a
crash leaves the whole file or none). Each write removes the files of other code versions (a
key file is ~10-100 MB and an upgraded node never reads its old ones again). Layout:

    magic    8 bytes  b"IVCRKEY1"
    entry   32 bytes  the entry the file answers (a file copied under another name is refused)
    digest  32 bytes  sha256 of the payload, checked on every load
    payload           numpy .npz (no pickle): control_id (8 u32), program (the program's
                      encoding, u32), shape (table log heights, then the number of outputs),
                      rows_<table> (i64 instruction index per row), prep_<i> (u32 fixed columns)

On load the program is decoded from its encoding (`Program.decode`) and its control id recomputed (it must be the
stored one) and the key's AIRs are rebuilt from the layout (`prove.key_of_layout`), as
`program_key` builds them. A file that fails any check is ignored and removed, and the key is
rebuilt and written again: whatever the failure (numpy's zip reader alone raises BadZipFile,
EOFError or zlib.error on a damaged payload), a file is a cache entry, never a reason to stop.
A key is built once per process even when several threads ask for it at once (`key_for`: one
lock per key; a lift key costs a minute). What the digest does not give: protection against someone who may
write the node's home (they could as well edit its database); the cache is as trusted as that.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np

from execution.recursion.program import Program
from execution.recursion.prove import RecursionKey, key_of_layout
from execution.recursion.tracegen import TABLES, Layout, Shape
from execution.stark.poseidon2 import hash_elements
from storage.lru_cache import LruCache

__all__ = [
    "KeyStore",
    "canonical",
    "code_version",
    "configure",
    "current",
    "key_for",
    "load_or_build",
]

logger = logging.getLogger("execution.recursion")

MAGIC = b"IVCRKEY1"
SUFFIX = ".key"
_HEAD = len(MAGIC) + 64


def canonical(obj: object) -> bytes:
    """An unambiguous byte encoding of a key's parts (bytes, ints, strings, tuples, arrays);
    TypeError for anything else, so an unknown part never collides silently."""
    if obj is None:
        return b"N"
    if isinstance(obj, bool | int | np.integer):
        s = str(int(obj)).encode()
        return b"I" + len(s).to_bytes(4, "big") + s
    if isinstance(obj, bytes | bytearray):
        return b"B" + len(obj).to_bytes(4, "big") + bytes(obj)
    if isinstance(obj, str):
        return canonical(obj.encode()).replace(b"B", b"S", 1)
    if isinstance(obj, tuple | list):
        return b"T" + len(obj).to_bytes(4, "big") + b"".join(canonical(x) for x in obj)
    if isinstance(obj, np.ndarray):
        head = canonical((obj.dtype.str, tuple(obj.shape)))
        return b"A" + head + canonical(np.ascontiguousarray(obj).tobytes())
    raise TypeError(f"no canonical encoding for {type(obj).__name__}")


@cache
def code_version() -> bytes:
    """sha256 of the recursion and STARK sources (what a recorded program and key depend on)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for package in ("recursion", "stark"):
        for path in sorted((root / package).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.digest()


class KeyStore:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0
        self.refused = 0  # files that failed a check (removed)

    def entry(self, kind: str, parts: object) -> bytes:
        return hashlib.sha256(canonical((kind, parts, code_version()))).digest()

    def path(self, kind: str, entry: bytes) -> Path:
        return self.directory / f"{kind}-{_version_tag()}-{entry.hex()}{SUFFIX}"

    def load(self, kind: str, parts: object) -> RecursionKey | None:
        entry = self.entry(kind, parts)
        path = self.path(kind, entry)
        try:
            data = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        try:
            key = _decode(data, entry)
        except Exception as exc:  # any damage means rebuild (the module doc)
            self.refused += 1
            logger.warning("recursion key cache: %s refused (%s); rebuilding", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        self.hits += 1
        return key

    def save(self, kind: str, parts: object, key: RecursionKey) -> Path:
        entry = self.entry(kind, parts)
        path = self.path(kind, entry)
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(_encode(key, entry))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self.prune()
        return path

    def prune(self) -> None:
        """Remove the key files of other code versions (never read again)."""
        current = f"-{_version_tag()}-"
        for old in self.directory.glob(f"*{SUFFIX}"):
            if current not in old.name:
                old.unlink(missing_ok=True)


def _version_tag() -> str:
    return code_version()[:8].hex()


def _encode(key: RecursionKey, entry: bytes) -> bytes:
    lay = key.layout
    arrays: dict[str, np.ndarray] = {
        "control_id": np.asarray(key.control_id, dtype=np.uint32),
        "program": lay.program.encode(),
        "shape": np.array([*lay.shape.log_heights, lay.shape.num_outputs], dtype=np.int64),
    }
    for t, rows in lay.rows.items():
        arrays[f"rows_{t}"] = np.asarray(rows, dtype=np.int64)
    for i, prep in enumerate(lay.preps):
        arrays[f"prep_{i}"] = np.asarray(prep, dtype=np.uint32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    payload = buf.getvalue()
    return MAGIC + entry + hashlib.sha256(payload).digest() + payload


def _decode(data: bytes, entry: bytes) -> RecursionKey:
    if len(data) < _HEAD or data[: len(MAGIC)] != MAGIC:
        raise ValueError("not a key file")
    if data[len(MAGIC) : len(MAGIC) + 32] != entry:
        raise ValueError("the file answers another entry")
    payload = data[_HEAD:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC) + 32 : _HEAD]:
        raise ValueError("payload digest mismatch")
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        cid = np.asarray(z["control_id"], dtype=np.uint32)
        encoding = np.asarray(z["program"], dtype=np.uint32)
        program = Program.decode(encoding)
        sh = [int(v) for v in z["shape"]]
        shape = Shape(tuple(sh[:-1]), sh[-1])
        rows = {t: np.asarray(z[f"rows_{t}"], dtype=np.int64) for t in TABLES}
        count = len(shape.tables())
        preps = [np.asarray(z[f"prep_{i}"], dtype=np.uint32) for i in range(count)]
        if f"prep_{count}" in z.files:
            raise ValueError("more fixed-column tables than the shape has")
    # The decoder is the exact inverse of Program.encode (it consumes every word), so the
    # stored words are the program's encoding: hash them instead of encoding it again.
    if not np.array_equal(hash_elements(encoding), cid):
        raise ValueError("the program does not have the stored control id")
    return key_of_layout(Layout(program, shape, rows, preps), control_id=cid)


_STORE: KeyStore | None = None


def configure(directory: Path | str | None) -> KeyStore | None:
    """Use a store in `directory` from now on in this process (None: no disk cache)."""
    global _STORE
    _STORE = None if directory is None else KeyStore(Path(directory))
    return _STORE


def current() -> KeyStore | None:
    return _STORE


class _KeyLocks:
    """One lock per key being built, dropped when no thread holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: Hashable) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users = self._locks[key][1] - 1
                if users:
                    self._locks[key] = (lock, users)
                else:
                    del self._locks[key]


_BUILDING = _KeyLocks()
K = TypeVar("K", bound=Hashable)


def key_for(
    kind: str, parts: K, memory: LruCache[K, RecursionKey], build: Callable[[], RecursionKey]
) -> RecursionKey:
    """The key of (`kind`, `parts`) from `memory`, else the configured store, else `build()`;
    kept in `memory`. Threads asking for one key at once build it once: the others wait for
    it (a lift key takes a minute to build and hundreds of MB to hold)."""
    hit = memory.get(parts)
    if hit is not None:
        return hit
    with _BUILDING.hold((kind, parts)):
        hit = memory.get(parts)  # built by the thread this one waited for
        if hit is None:
            hit = load_or_build(kind, parts, build)
            memory.put(parts, hit)
    return hit


def load_or_build(kind: str, parts: object, build: Callable[[], RecursionKey]) -> RecursionKey:
    """The key from the configured store, else `build()` (and store it; a failed write only
    logs: the cache is an optimisation)."""
    store = _STORE
    if store is None:
        return build()
    hit = store.load(kind, parts)
    if hit is not None:
        return hit
    key = build()
    try:
        store.save(kind, parts, key)
    except OSError as exc:
        logger.warning("recursion key cache: cannot write to %s: %s", store.directory, exc)
    return key
