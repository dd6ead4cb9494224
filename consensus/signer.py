"""The validator's signer: a last-signed (height, round, step) guard in front of the BLS key.

Before returning a signature the signer makes two things durable, in this order:
  1. the signed message (and the value it proposes or locks) appended to the WAL, fsynced;
  2. the last-signed state file [height, round, step, sign_bytes, signature], replaced
     atomically (write temp, fsync, rename, fsync directory).
Only then may the caller send the message. The guard refuses to sign anything at a
(height, round, step) below the last one, and at the same (height, round, step) anything
but the identical sign bytes (for which it returns the same signature again). On start the
guard is the later of the state file and the WAL's last record, so a kill between steps 1
and 2 loses nothing. Step order: proposal 1 < prevote 2 < precommit 3.
"""

from __future__ import annotations

import os
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
    def append(self, record: WalRecord) -> None: ...
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

    def append(self, record: WalRecord) -> None:
        self.wal.append(record)

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
        self.records: list[WalRecord] = []

    def load(self) -> tuple[LastSigned | None, list[WalRecord]]:
        return self.state, list(self.records)

    def append(self, record: WalRecord) -> None:
        self.records.append(record)

    def save_state(self, state: LastSigned) -> None:
        self.state = state

    def prune_below(self, height: int) -> None:
        self.records = [r for r in self.records if r.height >= height]


class PrivValidator:
    def __init__(self, secret_key: bytes, store: SignerStore) -> None:
        self._sk = secret_key
        self.public_key = bls.secret_to_public(secret_key)
        self.store = store
        state, records = store.load()
        if records:
            tail = LastSigned.of(records[-1])
            if state is None or tail.hrs > state.hrs:
                state = tail
        self.last_signed: LastSigned | None = state

    def wal_records(self, height: int) -> list[WalRecord]:
        return [r for r in self.store.load()[1] if r.height == height]

    def prune_below(self, height: int) -> None:
        self.store.prune_below(height)

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
        signed = WalRecord(record.message.with_signature(signature), record.value)
        self.store.append(signed)
        state = LastSigned(*hrs, sign_bytes, signature)
        self.store.save_state(state)
        self.last_signed = state
        return signature
