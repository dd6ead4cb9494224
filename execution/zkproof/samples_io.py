"""Hand-built programs that exercise read_input, write_output and log (the IO chip).

`io_program(reads, writes, logs)` reads the input in chunks (buffer offset, length) into RAM,
then writes output chunks (offset, length) from the same RAM, with log calls in between, and
exits with the total byte count read_input returned. A word is stored before the reads and
loaded after them, so the CPU's memory accesses and the IO chip's meet in one word.
"""

from __future__ import annotations

import numpy as np

from execution.zkvm import asm
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program, RamSegment
from execution.zkvm.syscalls import SYS_HALT, SYS_LOG, SYS_READ_INPUT, SYS_WRITE_OUTPUT

__all__ = ["DEFAULT_LOGS", "DEFAULT_READS", "DEFAULT_WRITES", "io_program", "io_result"]

_RAM = DEFAULT_LAYOUT.ram_base
BUF = _RAM + 0x100  # buffer base (offsets below are relative to it)
STORED = 0xA1B2_C3D4  # stored at BUF before any read, so reads merge into it
IMAGE_TEXT = b"hello, log"  # a data segment the log calls print

# (offset, length) chunks; None as offset = an address outside RAM (allowed when length 0).
DEFAULT_READS: tuple[tuple[int | None, int], ...] = (
    (0, 0),
    (None, 0),  # zero length at address 0: no access, no fault
    (1, 3),  # unaligned start, ends at a word end
    (4, 1),
    (5, 5),  # crosses a word boundary
    (10, 13),  # unaligned, several words
    (23, 4),
    (27, 100),  # past the end of the input: count = what is left
    (200, 7),  # at the end of the input: count 0
)
DEFAULT_WRITES: tuple[tuple[int | None, int], ...] = (
    (1, 5),
    (None, 0),
    (0, 0),
    (6, 13),
    (0, 4),  # the word that was stored, then partly overwritten by a read
)
DEFAULT_LOGS: tuple[tuple[int | None, int], ...] = ((-0x100, len(IMAGE_TEXT)), (None, 0))


def _addr(off: int | None) -> int:
    return 0 if off is None else BUF + off


def io_program(
    reads: tuple[tuple[int | None, int], ...] = DEFAULT_READS,
    writes: tuple[tuple[int | None, int], ...] = DEFAULT_WRITES,
    logs: tuple[tuple[int | None, int], ...] = DEFAULT_LOGS,
) -> Program:
    r, i = asm.r_type, asm.i_type
    words = [*asm.li(5, BUF), *asm.li(6, STORED), asm.s_type(0, 6, 5, 2)]  # SW x6, 0(x5)
    words += [i(0, 0, 0, 20)]  # x20 = 0: total count

    def call(num: int, off: int | None, length: int) -> list[int]:
        return [*asm.li(10, _addr(off)), *asm.li(11, length), *asm.li(17, num), asm.ECALL_WORD]

    for k, (off, length) in enumerate(reads):
        words += call(SYS_READ_INPUT, off, length)
        words += [r(0, 10, 20, 0, 20)]  # x20 += a0
        if k == 2 and logs:
            words += call(SYS_LOG, *logs[0])
    words += [i(0, 5, 2, 7, asm.LOAD)]  # LW x7, 0(x5): the word reads merged into
    words += [r(0, 7, 20, 0, 21)]  # x21 = x20 + x7 (keeps the load live)
    for off, length in writes:
        words += call(SYS_WRITE_OUTPUT, off, length)
    for off, length in logs[1:]:
        words += call(SYS_LOG, off, length)
    words += [*asm.li(10, 0), r(0, 20, 10, 0, 10), *asm.li(17, SYS_HALT), asm.ECALL_WORD]
    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=(RamSegment(_RAM, IMAGE_TEXT),),
    )


def io_result(
    input_bytes: bytes,
    reads: tuple[tuple[int | None, int], ...] = DEFAULT_READS,
    writes: tuple[tuple[int | None, int], ...] = DEFAULT_WRITES,
) -> tuple[int, bytes]:
    """(exit code, output) of io_program, computed in Python."""
    mem = bytearray(256)
    mem[0:4] = STORED.to_bytes(4, "little")
    pos = total = 0
    for off, length in reads:
        n = min(length, len(input_bytes) - pos)
        if n:
            if off is None:
                raise ValueError("a read outside RAM faults")
            mem[off : off + n] = input_bytes[pos : pos + n]
        pos += n
        total += n
    out = b"".join(bytes(mem[off : off + n]) for off, n in writes if n and off is not None)
    return total, out
