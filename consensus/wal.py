"""The write-ahead log of this node's own signed messages.

File layout: a sequence of frames, each
    length (4 bytes, big-endian) | crc32 of length and payload (4 bytes, big-endian) | payload
with payload = RLP [kind, message, value]: kind 1 is a signed Proposal (message = its wire
encoding, value = the proposed value), kind 2 a signed Vote (value = the locked value for a
non-nil precommit, else empty). Every append (of one or several records) is written and
fsynced once before it returns, and the caller sends a message only after its record is
durable.

The checksum covers the length bytes so that zeros never read as a frame: crc32(b"") is 0,
so with a payload-only checksum eight zero bytes were a valid empty frame.

Recovery: a kill can tear only the last frame (short header, short payload, or a checksum
mismatch on the final frame); such a tail was never acknowledged, so it is cut off. Some
filesystems leave zeros after a crash where the size grew but the data never landed, so a bad
frame followed only by zero bytes is a torn tail too. A bad frame followed by any nonzero data
means real corruption and raises WALError. `rewrite` replaces the
file atomically (temp file, fsync, rename, fsync of the directory) to drop old heights.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import rlp
from rlp.sedes import List, big_endian_int, binary

from consensus.errors import DecodeError, WALError
from consensus.messages import Proposal, Vote, VoteType, rlp_decode
from consensus.state_machine import Step

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">II")
_LENGTH = struct.Struct(">I")
_MAX_RECORD = 256 * 1024 * 1024
_RECORD_SEDES = List([big_endian_int, binary, binary], strict=True)
KIND_PROPOSAL = 1
KIND_VOTE = 2


@dataclass(frozen=True, slots=True)
class WalRecord:
    message: Proposal | Vote
    value: bytes = b""

    @property
    def height(self) -> int:
        return self.message.height

    @property
    def hrs(self) -> tuple[int, int, int]:
        """(height, round, step): the order the double-sign guard enforces."""
        m = self.message
        if isinstance(m, Proposal):
            return (m.height, m.round, int(Step.PROPOSE))
        step = Step.PREVOTE if m.vote_type == VoteType.PREVOTE else Step.PRECOMMIT
        return (m.height, m.round, int(step))

    def encode(self) -> bytes:
        kind = KIND_PROPOSAL if isinstance(self.message, Proposal) else KIND_VOTE
        return bytes(rlp.encode([kind, self.message.encode(), self.value], sedes=_RECORD_SEDES))

    @classmethod
    def decode(cls, payload: bytes) -> WalRecord:
        kind, message, value = rlp_decode(payload, _RECORD_SEDES, "WAL record")
        if kind == KIND_PROPOSAL:
            return cls(Proposal.decode(message), value)
        if kind == KIND_VOTE:
            return cls(Vote.decode(message), value)
        raise DecodeError(f"WAL record: unknown kind {kind}")


def _checksum(length: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(_LENGTH.pack(length)))


def frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload), _checksum(len(payload), payload)) + payload


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_frames(data: bytes, what: str) -> tuple[list[bytes], int]:
    """Payloads of the intact frames and the length of the intact prefix."""
    payloads: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + _HEADER.size > len(data):
            break  # torn header
        length, crc = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if length > _MAX_RECORD:
            if _only_zeros_after(data, end):
                break
            raise WALError(f"{what}: frame at offset {pos} claims {length} bytes")
        if end > len(data):
            break  # torn payload
        payload = data[pos + _HEADER.size : end]
        if _checksum(length, payload) != crc:
            if _only_zeros_after(data, end):
                break  # the last frame was torn mid-write, perhaps with zeros behind it
            raise WALError(f"{what}: checksum mismatch at offset {pos}, followed by more data")
        payloads.append(payload)
        pos = end
    return payloads, pos


def _only_zeros_after(data: bytes, end: int) -> bool:
    """True if nothing but zero bytes (or nothing at all) follows offset `end`."""
    return end >= len(data) or not data[end:].strip(b"\x00")


class WAL:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        payloads, good = read_frames(data, str(self.path))
        try:
            self.records = [WalRecord.decode(p) for p in payloads]
        except DecodeError as exc:
            raise WALError(f"{self.path}: a checksummed record does not decode: {exc}") from exc
        self.repaired_bytes = len(data) - good
        if self.repaired_bytes:
            log.warning(
                "%s: cut off a torn tail of %d bytes after %d intact records at offset %d",
                self.path,
                self.repaired_bytes,
                len(self.records),
                good,
            )
            with open(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open for appends
        self.size = good
        if not data:
            fsync_dir(self.path.parent)

    def append(self, records: Iterable[WalRecord]) -> None:
        """Write the records and fsync once: one fsync makes a whole group durable."""
        batch = list(records)
        data = b"".join(frame(r.encode()) for r in batch)
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        self.records += batch
        self.size += len(data)

    def rewrite(self, records: Iterable[WalRecord]) -> None:
        kept = list(records)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = b"".join(frame(r.encode()) for r in kept)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        self._file.close()
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        self._file = open(self.path, "ab")  # noqa: SIM115
        self.records = kept
        self.size = len(data)

    def close(self) -> None:
        self._file.close()
