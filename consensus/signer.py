"""The validator's signer: a last-signed (height, round, step) guard in front of the BLS key.

A signed message is durable once its WAL record (the message and the value it proposes or
locks) is appended and fsynced; only then may the caller send it. The record carries the
signed (height, round, step) and sign bytes, so the WAL's last record *is* the last-signed
state. The state file [height, round, step, sign_bytes, signature] (replaced atomically:
write temp, fsync, rename, fsync directory) is written only before a prune drops old
records, so that the guard survives an empty WAL. On start the guard is the later of the
state file and the WAL's last record. The guard refuses to sign anything at a (height, round,
step) below the last one, and at the same (height, round, step) anything but the identical
sign bytes (for which it returns the same signature again). Step order: proposal 1 <
prevote 2 < precommit 3.

Durability modes. By default every `sign_*` call returns only after its record is fsynced.
With `deferred=True` (the node) a `sign_*` call advances the guard in memory and queues the
record; `sync()` then writes and fsyncs everything queued with one fsync and runs a queued
prune. The caller must call `sync()` (the node does so in a worker thread, off the event
loop) before it sends anything signed since the last `sync()`; `pending` says whether one
is due. The in-memory guard already refuses conflicts while a record waits, so one signer
never hands out two signatures for one (height, round, step) even before the fsync. A
crash before `sync()` loses only messages that were never sent.

Pruning is lazy: `prune_below(h, lazy=True)` (the driver, at every height) drops old
records only once there are at least `prune_min_records` of them or the WAL exceeds
`prune_min_bytes`, so a block costs no rewrite (two fsyncs) and no state file (two more).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import rlp
from rlp.sedes import List, big_endian_int, binary

from consensus import bls
from consensus.errors import DecodeError, DoubleSignRefused, WALError
from consensus.messages import NIL, Proposal, Vote, VoteType, rlp_decode
from consensus.wal import WAL, WalRecord, frame, fsync_dir, read_frames

_STATE_SEDES = List([big_endian_int, big_endian_int, big_endian_int, binary, binary], strict=True)


@dataclass(frozen=True, slots=True)
class LastSigned:
    height: int
    round: int
    step: int
    sign_bytes: bytes
    signature: bytes

    @property
    def hrs(self) -> tuple[int, int, int]:
        return (self.height, self.round, self.step)

    def encode(self) -> bytes:
        f = [self.height, self.round, self.step, self.sign_bytes, self.signature]
        return bytes(rlp.encode(f, sedes=_STATE_SEDES))

    @classmethod
    def decode(cls, data: bytes) -> LastSigned:
        return cls(*rlp_decode(data, _STATE_SEDES, "signer state"))

    @classmethod
    def of(cls, record: WalRecord) -> LastSigned:
        h, r, s = record.hrs
        return cls(h, r, s, record.message.sign_bytes(), record.message.signature)


class SignerStore(Protocol):
    def load(self) -> tuple[LastSigned | None, list[WalRecord]]: ...
    def records(self) -> list[WalRecord]: ...
    def size(self) -> int: ...
    def append(self, records: Sequence[WalRecord]) -> None: ...
    def save_state(self, state: LastSigned) -> None: ...
    def prune_below(self, height: int) -> None: ...


class FileSignerStore:
    """The WAL (`wal`) and the last-signed state (`signer_state`) in one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "signer_state"
        self.wal = WAL(self.dir / "wal")

    def load(self) -> tuple[LastSigned | None, list[WalRecord]]:
        state = None
        if self.state_path.exists():
            data = self.state_path.read_bytes()
            payloads, good = read_frames(data, str(self.state_path))
            # The file is only ever replaced by rename, so it is never legitimately torn.
            if len(payloads) != 1 or good != len(data):
                raise WALError(f"{self.state_path}: corrupt signer state")
            try:
                state = LastSigned.decode(payloads[0])
            except DecodeError as exc:
                raise WALError(f"{self.state_path}: {exc}") from exc
        return state, list(self.wal.records)

    def records(self) -> list[WalRecord]:
        return self.wal.records

    def size(self) -> int:
        return self.wal.size

    def append(self, records: Sequence[WalRecord]) -> None:
        self.wal.append(records)

    def save_state(self, state: LastSigned) -> None:
        tmp = self.state_path.with_name("signer_state.tmp")
        with open(tmp, "wb") as f:
            f.write(frame(state.encode()))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)
        fsync_dir(self.dir)

    def prune_below(self, height: int) -> None:
        if any(r.height < height for r in self.wal.records):
            self.wal.rewrite(r for r in self.wal.records if r.height >= height)

    def close(self) -> None:
        self.wal.close()


class MemorySignerStore:
    """No durability: for throwaway networks where a restart starts a new chain."""

    def __init__(self) -> None:
        self.state: LastSigned | None = None
        self.wal_records: list[WalRecord] = []

    def load(self) -> tuple[LastSigned | None, list[WalRecord]]:
        return self.state, list(self.wal_records)

    def records(self) -> list[WalRecord]:
        return self.wal_records

    def size(self) -> int:
        return 0  # no file to grow; the record count alone triggers a lazy prune

    def append(self, records: Sequence[WalRecord]) -> None:
        self.wal_records += records

    def save_state(self, state: LastSigned) -> None:
        self.state = state

    def prune_below(self, height: int) -> None:
        self.wal_records = [r for r in self.wal_records if r.height >= height]


class PrivValidator:
    def __init__(
        self,
        secret_key: bytes,
        store: SignerStore,
        *,
        deferred: bool = False,
        prune_min_records: int = 96,
        prune_min_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self._sk = secret_key
        self.public_key = bls.secret_to_public(secret_key)
        self.store = store
        self.deferred = deferred
        self.prune_min_records = prune_min_records
        self.prune_min_bytes = prune_min_bytes
        state, records = store.load()
        if records:
            tail = LastSigned.of(records[-1])
            if state is None or tail.hrs > state.hrs:
                state = tail
        self.last_signed: LastSigned | None = state
        self._queued: list[WalRecord] = []
        self._prune_to: int | None = None
        self.fsync_calls = 0  # durable writes made (appends, state files, rewrites): for benches

    @property
    def pending(self) -> bool:
        """True if signed records (or a prune) wait for `sync()`."""
        return bool(self._queued) or self._prune_to is not None

    def wal_records(self, height: int) -> list[WalRecord]:
        return [r for r in (*self.store.records(), *self._queued) if r.height == height]

    def prune_below(self, height: int, *, lazy: bool = False) -> None:
        """Drop the records below `height` (lazy: only once enough have gathered)."""
        old = [r for r in self.store.records() if r.height < height]
        if not old:
            return
        if lazy and len(old) < self.prune_min_records and self.store.size() < self.prune_min_bytes:
            return
        self._prune_to = height if self._prune_to is None else max(self._prune_to, height)
        if not self.deferred:
            self.sync()

    def sync(self) -> None:
        """Make everything queued durable: the records (one fsync), then a queued prune.

        Blocking file I/O; the node runs it in a worker thread. Not reentrant: one caller
        at a time, and no `sign_*` call while it runs."""
        if self._queued:
            batch = self._queued
            self.store.append(batch)
            self._queued = []
            self.fsync_calls += 1
        if self._prune_to is not None:
            height, self._prune_to = self._prune_to, None
            # The state file first: after the rewrite the WAL may no longer hold the tail.
            if self.last_signed is not None:
                self.store.save_state(self.last_signed)
            self.store.prune_below(height)
            self.fsync_calls += 2

    def sign_vote(self, vote: Vote, value: bytes | None = None) -> Vote:
        keep = value if vote.vote_type == VoteType.PRECOMMIT and vote.block_hash != NIL else None
        signature = self._sign(WalRecord(vote, keep or b""))
        return vote.with_signature(signature)

    def sign_proposal(self, proposal: Proposal, value: bytes) -> Proposal:
        return proposal.with_signature(self._sign(WalRecord(proposal, value)))

    def _sign(self, record: WalRecord) -> bytes:
        hrs = record.hrs
        sign_bytes = record.message.sign_bytes()
        last = self.last_signed
        if last is not None:
            if hrs < last.hrs:
                raise DoubleSignRefused(f"refusing to sign {hrs}: already signed {last.hrs}")
            if hrs == last.hrs:
                if sign_bytes == last.sign_bytes:
                    return last.signature
                raise DoubleSignRefused(f"refusing to sign a conflicting message at {hrs}")
        signature = bls.sign(self._sk, sign_bytes)
        # The guard moves before the record is durable: a second request at this (h, r, s)
        # is refused even while the first waits for `sync()`.
        self.last_signed = LastSigned(*hrs, sign_bytes, signature)
        self._queued.append(WalRecord(record.message.with_signature(signature), record.value))
        if not self.deferred:
            self.sync()
        return signature
