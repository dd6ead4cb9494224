"""The task proof file: statement, program image and STARK proof, in one explicit layout.

    magic      8 bytes b"IVCZKP03"
    statement  u32 length, Statement.to_bytes()
    program    u32 length, program bytes (below)
    stark      u32 length, execution.stark.proof.Proof.to_bytes()
    input      u32 length (at most MAX_INPUT_BYTES), the run's input bytes

Program bytes: rom_base, rom_size, ram_base, ram_size, entry (u32 each), ROM word count u32 and
the words (u32), segment count u16, per segment addr u32, length u32, bytes. The program travels
with the proof so that a verifier holding only an image id can rebuild the program table; it is
accepted only if its image id is the expected one. The input travels for the same reason: the
verifier builds the IO table from it, after checking it against the statement's input digest.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from execution.stark.errors import ProofFormatError
from execution.stark.proof import Proof
from execution.zkproof.errors import InvalidTaskProof
from execution.zkproof.statement import Statement
from execution.zkvm.layout import MemoryLayout
from execution.zkvm.program import Program, RamSegment

__all__ = ["MAX_INPUT_BYTES", "TASK_MAGIC", "TaskProof", "program_from_bytes", "program_to_bytes"]

TASK_MAGIC = b"IVCZKP03"
MAX_INPUT_BYTES = 1 << 20  # stream positions stay far below p; one proof's input
MAX_ROM_WORDS = 1 << 20
MAX_SEGMENTS = 64
MAX_TASK_PROOF_BYTES = 96 << 20


def program_to_bytes(p: Program) -> bytes:
    lay = p.layout
    out = bytearray(
        struct.pack("<5I", lay.rom_base, lay.rom_size, lay.ram_base, lay.ram_size, p.entry)
    )
    out += struct.pack("<I", len(p.rom)) + np.asarray(p.rom, dtype="<u4").tobytes()
    out += struct.pack("<H", len(p.ram_init))
    for seg in p.ram_init:
        out += struct.pack("<II", seg.addr, len(seg.data)) + seg.data
    return bytes(out)


def program_from_bytes(data: bytes) -> Program:
    def take(pos: int, n: int) -> bytes:
        if pos + n > len(data):
            raise InvalidTaskProof("program: truncated")
        return data[pos : pos + n]

    rom_base, rom_size, ram_base, ram_size, entry = struct.unpack("<5I", take(0, 20))
    (n_words,) = struct.unpack("<I", take(20, 4))
    if n_words == 0 or n_words > MAX_ROM_WORDS or n_words * 4 > rom_size:
        raise InvalidTaskProof("program: bad ROM size")
    rom = np.frombuffer(take(24, 4 * n_words), dtype="<u4").astype(np.uint32)
    pos = 24 + 4 * n_words
    (n_seg,) = struct.unpack("<H", take(pos, 2))
    pos += 2
    if n_seg > MAX_SEGMENTS:
        raise InvalidTaskProof("program: too many RAM segments")
    segs = []
    for _ in range(n_seg):
        addr, length = struct.unpack("<II", take(pos, 8))
        pos += 8
        if length > ram_size:
            raise InvalidTaskProof("program: RAM segment larger than RAM")
        segs.append(RamSegment(addr, take(pos, length)))
        pos += length
    if pos != len(data):
        raise InvalidTaskProof("program: trailing bytes")
    layout = MemoryLayout(rom_base, rom_size, ram_base, ram_size)
    return Program(layout=layout, entry=entry, rom=rom, ram_init=tuple(segs))


@dataclass
class TaskProof:
    statement: Statement
    program: Program
    stark: Proof
    input: bytes = b""

    def to_bytes(self) -> bytes:
        parts = [
            self.statement.to_bytes(),
            program_to_bytes(self.program),
            self.stark.to_bytes(),
            self.input,
        ]
        return TASK_MAGIC + b"".join(struct.pack("<I", len(p)) + p for p in parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> TaskProof:
        if len(data) > MAX_TASK_PROOF_BYTES:
            raise InvalidTaskProof("task proof: too large")
        if data[:8] != TASK_MAGIC:
            raise InvalidTaskProof("task proof: bad magic or version")
        pos = 8
        parts = []
        for what in ("statement", "program", "stark proof", "input"):
            if pos + 4 > len(data):
                raise InvalidTaskProof(f"task proof: truncated before the {what}")
            (n,) = struct.unpack("<I", data[pos : pos + 4])
            pos += 4
            if pos + n > len(data):
                raise InvalidTaskProof(f"task proof: truncated {what}")
            parts.append(data[pos : pos + n])
            pos += n
        if pos != len(data):
            raise InvalidTaskProof("task proof: trailing bytes")
        try:
            stark = Proof.from_bytes(parts[2])
        except ProofFormatError as exc:
            raise InvalidTaskProof(f"task proof: {exc.reason}") from exc
        if len(parts[3]) > MAX_INPUT_BYTES:
            raise InvalidTaskProof("task proof: input too large")
        st = Statement.from_bytes(parts[0])
        return cls(st, program_from_bytes(parts[1]), stark, bytes(parts[3]))
