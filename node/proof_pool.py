"""The proof pool: verified task proofs waiting to enter a Universal Proof.

    proof = verify_proof(task, task_id, prover, proof_bytes, profile)  # raises InvalidPoolProof
    pool = ProofPool.open(home / "data" / "proofs", budget_bytes=256 << 20)
    pool.add(proof)                        # -> True if pooled, False if the task had one already
    pool.get(task_id)                      # -> PooledProof | None (leaf, statement, height, size,
                                           #    signature: the prover's proof envelope)
    pool.info(task_id)                     # -> PoolEntry | None, the same without reading the file
    pool.for_block(height)                 # -> list[ProofLeaf] of tasks submitted at `height`
    pool.discard(task_ids)                 # once accepted into state or expired
    pool.heights(), pool.task_ids(), len(pool), pool.size_bytes, task_id in pool

Only a `VerifiedProof` can be added, and only `verify_proof` makes one: it runs
`execution.universal.verify_leaf`, the very checks a Universal Proof's leaf must pass (the task
is known, pending and submitted in that block; the proof verifies against the task's image id,
the chain's proof profile, the digest of the task's input and its cycle budget). The caller
reads the `Task` record from the state on its own thread and may then run `verify_proof` in a
worker thread: it touches nothing but its arguments.

One proof per task: the first valid one is kept and later ones (from other provers, or the same
one again) are refused, so `add` is idempotent. A pooled proof stays valid for the leaf as long
as its task is pending; the proposer includes it or the caller discards it.

Memory and disk: the pool keeps only an index in memory (task -> height, prover, statement,
size); proof bytes live in files and are read by `get`/`for_block`. The total size of the
stored proofs is bounded by `budget_bytes`: past it, the proofs of the oldest heights go first
(those tasks are the nearest to their deadline, and the newest blocks' proofs are what the next
proposers need).

Persistence: one file per proof, `HEIGHT-TASKID.proof` (height as 16 decimal digits, task id
as hex), written to a temporary name, fsynced and renamed, so a kill -9 leaves either the whole
file or none; a restart re-reads the index from the files' headers. File layout (big-endian):

    magic       8 bytes  b"IVCPPL03"
    height      u64      block in which the task was submitted
    task_id     32 bytes
    prover      20 bytes the address to reward
    signature   65 bytes the prover's envelope (execution.staking.proof_envelope), served with
                         the proof; all zero when the proof came with none (tests only)
    digest      32 bytes keccak256(statement || signature || proof), checked on every read: a file is
                trusted at reopen without re-verification, so a corrupted proof must be
                dropped, never served to peers (who would score this node down) or kept in
                place of a good one
    statement   u32 length, then `Statement.to_bytes()`
    proof       u32 length, then the task proof file (execution.zkproof)

Files that do not parse (or whose name disagrees with their header) are ignored and removed.
The pool is not thread-safe: call it from one thread (the node's event loop).
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from execution.state import Task
from execution.types.hashing import keccak256
from execution.universal import InvalidUniversalProof, ProofLeaf, verify_leaf
from execution.universal.lift_shapes import LiftShapeNotAllowed, check_lift_shape
from execution.zkproof import InvalidTaskProof, Statement

logger = logging.getLogger("node.proof_pool")

FILE_MAGIC = b"IVCPPL03"
FILE_SUFFIX = ".proof"
DEFAULT_BUDGET_BYTES = 256 << 20
# A task proof of 2^20 cycles is a few MB; anything far larger is not a proof we want to hold.
MAX_PROOF_BYTES = 16 << 20
_HEAD = struct.Struct(">8sQ32s20s65s32sI")
_NO_SIGNATURE = bytes(65)


class InvalidPoolProof(Exception):
    """A proof refused by the pool; the message names the failed check."""


class ShapeNotAllowed(InvalidPoolProof):
    """A proof that may verify but has a shape the chain's v1 roots do not take: refused, but
    neither evidence against its prover nor a reason to stop looking for another proof."""


@dataclass(frozen=True)
class VerifiedProof:
    """A task proof that passed `verify_proof` against its task's on-chain record."""

    task_id: bytes
    prover: bytes
    proof: bytes
    statement: Statement
    height: int
    signature: bytes = b""  # the prover's envelope (checked by whoever received the proof)


@dataclass(frozen=True)
class PooledProof:
    leaf: ProofLeaf
    statement: Statement
    height: int
    size: int
    signature: bytes = b""


@dataclass(frozen=True)
class PoolEntry:
    """What the pool knows of a proof without reading its file."""

    height: int
    prover: bytes
    statement: Statement
    size: int


@dataclass(frozen=True)
class _Entry:
    height: int
    prover: bytes
    statement: Statement
    size: int
    path: Path
    digest: bytes
    signature: bytes


def verify_proof(
    task: Task | None,
    task_id: bytes,
    prover: bytes,
    proof: bytes,
    profile: str,
    signature: bytes = b"",
    lift_shapes: Collection[tuple[int, ...]] = (),
) -> VerifiedProof:
    """Check `proof` for `task_id` against `task`, the state's record of that task (None if
    unknown), with the leaf rules of a Universal Proof. Raises InvalidPoolProof. `signature`,
    the prover's envelope, is kept with the proof; its check is the receiver's, before this
    one (node.prover.exchange). `lift_shapes` is a v1 chain's allow-list (empty: v0): a proof
    of another shape raises ShapeNotAllowed, before it is verified."""
    if len(task_id) != 32:
        raise InvalidPoolProof("a task id has 32 bytes")
    if len(prover) != 20:
        raise InvalidPoolProof("a prover address has 20 bytes")
    if len(proof) > MAX_PROOF_BYTES:
        raise InvalidPoolProof(f"proof of {len(proof)} bytes exceeds {MAX_PROOF_BYTES}")
    if task is None:
        raise InvalidPoolProof(f"task {task_id.hex()[:16]}: no such task")
    # Rule: on a v1 chain, a shape its roots can take (execution/universal/lift_shapes.py).
    try:
        check_lift_shape(proof, lift_shapes, f"task {task_id.hex()[:16]}")
    except LiftShapeNotAllowed as exc:
        raise ShapeNotAllowed(str(exc)) from exc
    try:
        statement = verify_leaf(
            ProofLeaf(task_id, prover, proof),
            task,
            task.submitted_height,
            profile,
            f"task {task_id.hex()[:16]}",
        )
    except InvalidUniversalProof as exc:
        raise InvalidPoolProof(str(exc)) from exc
    if len(signature) not in (0, len(_NO_SIGNATURE)):
        raise InvalidPoolProof("an envelope signature has 65 bytes")
    return VerifiedProof(task_id, prover, proof, statement, task.submitted_height, signature)


def _file_name(height: int, task_id: bytes) -> str:
    return f"{height:016d}-{task_id.hex()}{FILE_SUFFIX}"


def _digest(statement: bytes, signature: bytes, proof: bytes) -> bytes:
    return keccak256(statement + (signature or _NO_SIGNATURE) + proof)


def _encode_file(p: VerifiedProof) -> bytes:
    statement = p.statement.to_bytes()
    return (
        _HEAD.pack(
            FILE_MAGIC,
            p.height,
            p.task_id,
            p.prover,
            p.signature or _NO_SIGNATURE,
            _digest(statement, p.signature, p.proof),
            len(statement),
        )
        + statement
        + struct.pack(">I", len(p.proof))
        + p.proof
    )


class ProofPool:
    def __init__(self, directory: Path, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes <= 0:
            raise ValueError("budget_bytes must be positive")
        self.directory = directory
        self.budget_bytes = budget_bytes
        self._entries: dict[bytes, _Entry] = {}
        self._by_height: dict[int, list[bytes]] = {}
        self.size_bytes = 0

    @classmethod
    def open(cls, directory: str | Path, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> ProofPool:
        """Open (creating if needed) the pool stored in `directory` and index its files."""
        pool = cls(Path(directory), budget_bytes)
        pool.directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(pool.directory.iterdir()):
            if path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)  # a write that a crash interrupted
            elif path.name.endswith(FILE_SUFFIX):
                pool._load(path)
        pool._evict()
        return pool

    def _load(self, path: Path) -> None:
        try:
            with path.open("rb") as f:
                head = f.read(_HEAD.size)
                if len(head) != _HEAD.size:
                    raise InvalidPoolProof("truncated header")
                magic, height, task_id, prover, signature, digest, st_len = _HEAD.unpack(head)
                if magic != FILE_MAGIC or st_len > MAX_PROOF_BYTES:
                    raise InvalidPoolProof("bad magic or statement length")
                statement = Statement.from_bytes(f.read(st_len))
                raw_len = f.read(4)
                if len(raw_len) != 4:
                    raise InvalidPoolProof("truncated proof length")
                (proof_len,) = struct.unpack(">I", raw_len)
            size = path.stat().st_size
            if size != _HEAD.size + st_len + 4 + proof_len:
                raise InvalidPoolProof("file size disagrees with its header")
            if path.name != _file_name(height, task_id) or task_id in self._entries:
                raise InvalidPoolProof("file name disagrees with its header")
        except (OSError, InvalidPoolProof, InvalidTaskProof, struct.error) as exc:
            logger.warning("proof pool: dropping unreadable %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return
        if signature == _NO_SIGNATURE:
            signature = b""
        self._index(task_id, _Entry(height, prover, statement, proof_len, path, digest, signature))

    def _index(self, task_id: bytes, entry: _Entry) -> None:
        self._entries[task_id] = entry
        self._by_height.setdefault(entry.height, []).append(task_id)
        self.size_bytes += entry.size

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._entries

    def heights(self) -> list[int]:
        return sorted(self._by_height)

    def task_ids(self, height: int | None = None) -> list[bytes]:
        if height is None:
            return list(self._entries)
        return sorted(self._by_height.get(height, ()))

    def add(self, proof: VerifiedProof) -> bool:
        """Pool a verified proof; False if its task already has one (the first is kept) or if
        the byte budget cannot hold it next to newer heights' proofs."""
        if proof.task_id in self._entries:
            return False
        path = self.directory / _file_name(proof.height, proof.task_id)
        tmp = path.with_name(path.name + ".tmp")
        data = _encode_file(proof)
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.directory)
        self._index(
            proof.task_id,
            _Entry(
                proof.height,
                proof.prover,
                proof.statement,
                len(proof.proof),
                path,
                _digest(proof.statement.to_bytes(), proof.signature, proof.proof),
                proof.signature,
            ),
        )
        self._evict()
        return proof.task_id in self._entries

    def get(self, task_id: bytes) -> PooledProof | None:
        """The pooled proof of a task, or None (also if its file vanished)."""
        entry = self._entries.get(task_id)
        if entry is None:
            return None
        proof = self._read_proof(task_id, entry)
        if proof is None:
            return None
        return PooledProof(
            ProofLeaf(task_id, entry.prover, proof),
            entry.statement,
            entry.height,
            entry.size,
            entry.signature,
        )

    def info(self, task_id: bytes) -> PoolEntry | None:
        entry = self._entries.get(task_id)
        if entry is None:
            return None
        return PoolEntry(entry.height, entry.prover, entry.statement, entry.size)

    def statement(self, task_id: bytes) -> Statement | None:
        entry = self._entries.get(task_id)
        return None if entry is None else entry.statement

    def prover(self, task_id: bytes) -> bytes | None:
        entry = self._entries.get(task_id)
        return None if entry is None else entry.prover

    def for_block(self, height: int) -> list[ProofLeaf]:
        """The pooled proofs of the tasks submitted at `height`, ordered by task id."""
        leaves = []
        for task_id in sorted(self._by_height.get(height, ())):
            pooled = self.get(task_id)
            if pooled is not None:
                leaves.append(pooled.leaf)
        return leaves

    def discard(self, task_ids: Iterable[bytes]) -> int:
        """Forget the proofs of these tasks (accepted or expired); returns how many were held."""
        n = 0
        for task_id in task_ids:
            if self._drop(task_id):
                n += 1
        return n

    def discard_heights_below(self, height: int) -> int:
        """Forget every proof of a task submitted before `height` (past their deadline)."""
        old = [t for h in self.heights() if h < height for t in self._by_height[h]]
        return self.discard(old)

    def _drop(self, task_id: bytes) -> bool:
        entry = self._entries.pop(task_id, None)
        if entry is None:
            return False
        ids = self._by_height[entry.height]
        ids.remove(task_id)
        if not ids:
            del self._by_height[entry.height]
        self.size_bytes -= entry.size
        entry.path.unlink(missing_ok=True)
        return True

    def _evict(self) -> None:
        while self.size_bytes > self.budget_bytes and self._entries:
            oldest = min(self._by_height)
            victim = self._by_height[oldest][0]
            logger.info(
                "proof pool over budget: dropping task %s (height %d)", victim.hex()[:16], oldest
            )
            self._drop(victim)

    def _read_proof(self, task_id: bytes, entry: _Entry) -> bytes | None:
        try:
            data = entry.path.read_bytes()
        except OSError as exc:
            logger.warning("proof pool: %s unreadable: %s", entry.path.name, exc)
            self._drop(task_id)
            return None
        proof = data[len(data) - entry.size :]
        if _digest(entry.statement.to_bytes(), entry.signature, proof) != entry.digest:
            logger.warning("proof pool: dropping corrupted %s", entry.path.name)
            self._drop(task_id)
            return None
        return proof


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
