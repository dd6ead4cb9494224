"""Hand-built RV32IM programs that use only the instructions this prover constrains.

Used by the tests, the benchmark and `ivcnet prove --sample` until the prover covers what
compiled guests need (loads, stores, shifts, logic, output syscalls).
"""

from __future__ import annotations

import struct

import numpy as np

from execution.zkvm import asm
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program, RamSegment

__all__ = [
    "CYCLES_PER_ITERATION",
    "bitwise_program",
    "bitwise_result",
    "byte_memory_program",
    "byte_memory_result",
    "div_program",
    "div_result",
    "fib_loop_program",
    "fib_loop_result",
    "memory_program",
    "memory_result",
    "mul_program",
    "mul_result",
    "program_elf",
    "signed_compare_program",
    "signed_compare_result",
    "signed_div_program",
    "signed_div_result",
    "words_program",
]

CYCLES_PER_ITERATION = 9
_OVERHEAD = 13


def words_program(words: list[int]) -> Program:
    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=(),
    )


def fib_loop_program(iterations: int) -> Program:
    """Fibonacci mod 2^32 by a loop that calls a subroutine; exits with fib(iterations + 1).

    Every supported instruction kind runs: LUI, ADDI, ADD, SUB, SLTU, SLTIU, AUIPC, JAL, JALR,
    BNE (taken and not), BGEU, BLTU (not taken), BEQ (taken), ECALL halt.
    """
    if not 1 <= iterations < 1 << 31:
        raise ValueError("iterations must be in 1..2^31-1")
    r, i, b = asm.r_type, asm.i_type, asm.b_type
    words = [
        *asm.li(5, iterations),  # 0,1: x5 = counter
        i(0, 0, 0, 6),  # 2: a = 0
        i(1, 0, 0, 7),  # 3: b = 1
        asm.j_type(4 * (18 - 4), 1),  # 4: loop: call fn (x8 = a + b)
        i(0, 7, 0, 6),  # 5: a = b
        i(0, 8, 0, 7),  # 6: b = x8
        r(0, 7, 6, 3, 9),  # 7: x9 = a <u b (SLTU)
        r(0x20, 6, 7, 0, 10),  # 8: x10 = b - a (SUB)
        i(-1, 5, 0, 5),  # 9: counter -= 1
        b(4 * (4 - 10), 0, 5, 1),  # 10: BNE counter, x0 -> loop
        asm.u_type(0, 11, asm.AUIPC),  # 11: x11 = pc
        b(8, 0, 11, 7),  # 12: BGEU x11, x0 -> 14 (taken)
        i(1, 0, 0, 12),  # 13: skipped
        b(8, 5, 0, 6),  # 14: BLTU x0, x5 (0 < 0: not taken)
        b(8, 0, 5, 0),  # 15: BEQ x5, x0 -> 17 (taken)
        i(2, 0, 3, 12),  # 16: skipped (SLTIU)
        asm.j_type(4 * (20 - 17), 0),  # 17: jump to exit
        r(0, 7, 6, 0, 8),  # 18: fn: x8 = a + b
        i(0, 1, 0, 0, asm.JALR),  # 19: return
        i(0, 7, 3, 13),  # 20: x13 = b <u 0 (SLTIU, 0)
        i(0, 7, 0, 10),  # 21: a0 = b
        i(0, 0, 0, 17),  # 22: a7 = HALT
        asm.ECALL_WORD,  # 23
    ]
    return words_program(words)


def fib_loop_result(iterations: int) -> tuple[int, int]:
    """(exit code, cycles) of fib_loop_program(iterations), computed in Python."""
    a, b = 0, 1
    for _ in range(iterations):
        a, b = b, (a + b) & 0xFFFF_FFFF
    return b, CYCLES_PER_ITERATION * iterations + _OVERHEAD


SIGNED_PAIRS: tuple[tuple[int, int], ...] = (
    (-1, 0),
    (0, -1),
    (-(1 << 31), (1 << 31) - 1),
    ((1 << 31) - 1, -(1 << 31)),
    (5, 5),
    (-7, -3),
    (123456, -123456),
)
SLTI_CASES: tuple[tuple[int, int], ...] = ((-1, 0), (0, -1), (-2048, 2047), (2047, -2048))


def signed_compare_program() -> Program:
    """SLT, SLTI, BLT and BGE (taken and not) on edge operands, then FENCE and halt.

    Each comparison appends one bit to x10 (x10 = 2 x10 + bit); the exit code is x10.
    """
    r, i, b = asm.r_type, asm.i_type, asm.b_type
    words: list[int] = []
    double = r(0, 10, 10, 0, 10)  # x10 += x10
    for x, y in SIGNED_PAIRS:
        words += [*asm.li(5, x), *asm.li(6, y)]
        words += [r(0, 6, 5, 2, 7), double, r(0, 7, 10, 0, 10)]  # SLT x7; x10 += x7
        words += [double, b(8, 6, 5, 4), i(1, 10, 0, 10)]  # BLT taken skips the +1
        words += [double, b(8, 6, 5, 5), i(1, 10, 0, 10)]  # BGE taken skips the +1
    for x, imm in SLTI_CASES:
        words += [*asm.li(5, x), i(imm, 5, 2, 7), double, r(0, 7, 10, 0, 10)]
    words += [0x0FF0_000F]  # FENCE
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    return words_program(words)


def signed_compare_result() -> int:
    """The exit code of signed_compare_program, computed in Python."""
    acc = 0
    for x, y in SIGNED_PAIRS:
        for bit in (x < y, not x < y, not x >= y):
            acc = 2 * acc + int(bit)
    for x, imm in SLTI_CASES:
        acc = 2 * acc + int(x < imm)
    return acc & 0xFFFF_FFFF


MEMORY_DATA = tuple((0x9E37_79B9 * (k + 1)) & 0xFFFF_FFFF for k in range(8))
_RAM = DEFAULT_LAYOUT.ram_base


def memory_program() -> Program:
    """LW and SW over an initialised data segment, untouched (zero) words, an overwrite, the
    top word of RAM and a load into x0; exits with a wrapping sum of everything it read."""
    r, i = asm.r_type, asm.i_type

    def lw(rd: int, off: int, base: int) -> int:
        return i(off, base, 2, rd, asm.LOAD)

    def sw(rs2: int, off: int, base: int) -> int:
        return asm.s_type(off, rs2, base, 2)

    add10 = lambda rs: r(0, rs, 10, 0, 10)  # noqa: E731  x10 += rs
    words = [*asm.li(5, _RAM), i(0, 0, 0, 10)]
    for k in range(8):
        words += [lw(6, 4 * k, 5), add10(6)]
    words += [sw(10, 64, 5), lw(7, 64, 5), add10(7)]  # a word the image leaves zero
    words += [sw(7, 0, 5), lw(8, 0, 5), add10(8)]  # overwrite an image word, read it back
    words += [*asm.li(13, _RAM + 0x1000), lw(9, 0, 13), add10(9)]  # untouched: 0
    words += [lw(0, 8, 5)]  # load into x0: still a memory access
    words += [*asm.li(11, DEFAULT_LAYOUT.ram_end - 4), sw(10, 0, 11), lw(12, 0, 11), add10(12)]
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    data = b"".join(v.to_bytes(4, "little") for v in MEMORY_DATA)
    # A second segment that starts and ends inside words: they are zero-padded.
    odd = RamSegment(_RAM + 0x102, b"\x01\x02\x03\x04\x05")
    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=(RamSegment(_RAM, data), odd),
    )


def memory_result() -> int:
    """The exit code of memory_program, computed in Python."""
    m = 0xFFFF_FFFF
    total = sum(MEMORY_DATA)
    # + the stored sum read back (2x), + the old sum over word 0 (3x), + top of RAM (6x).
    acc = 6 * total
    return acc & m


BITWISE_PAIRS: tuple[tuple[int, int], ...] = (
    (0xFFFF_FFFF, 0x0F0F_F0F0),
    (0x1234_5678, 0x8765_4321),
    (0, 0xDEAD_BEEF),
    (0x8000_0001, 0x8000_0001),
)
BITWISE_IMMS: tuple[int, ...] = (-1, 0x7FF, -2048, 0x555)


def bitwise_program() -> Program:
    """AND, OR, XOR on edge operands and their immediate forms with negative immediates.

    Each result is folded into x10 by x10 = (x10 + x10) ^ result; the exit code is x10.
    """
    r, i = asm.r_type, asm.i_type
    fold = [r(0, 10, 10, 0, 10), r(0, 7, 10, 4, 10)]  # x10 += x10; x10 ^= x7
    words: list[int] = [i(0, 0, 0, 10)]
    for x, y in BITWISE_PAIRS:
        words += [*asm.li(5, x), *asm.li(6, y)]
        for f3 in (7, 6, 4):  # AND, OR, XOR
            words += [r(0, 6, 5, f3, 7), *fold]
        for imm in BITWISE_IMMS:
            for f3 in (7, 6, 4):  # ANDI, ORI, XORI
                words += [i(imm, 5, f3, 7), *fold]
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    return words_program(words)


def bitwise_result() -> int:
    """The exit code of bitwise_program, computed in Python."""
    m = 0xFFFF_FFFF
    acc = 0
    for x, y in BITWISE_PAIRS:
        results = [x & y, x | y, x ^ y]
        for imm in BITWISE_IMMS:
            v = imm & m
            results += [x & v, x | v, x ^ v]
        for res in results:
            acc = ((acc + acc) & m) ^ res
    return acc


MUL_PAIRS: tuple[tuple[int, int], ...] = (
    (0xFFFF_FFFF, 0xFFFF_FFFF),
    (0x8000_0000, 0xFFFF_FFFF),
    (0x1234_5678, 0x9ABC_DEF0),
    (0, 0xDEAD_BEEF),
    (0xFF, 0xFF),
)
SHIFTS: tuple[int, ...] = (0, 1, 7, 8, 16, 31)
# Register shift amounts: only the low five bits count (37 -> 5, 0xFFFF_FFE0 -> 0).
AMOUNTS: tuple[int, ...] = (0, 1, 15, 31, 37, 0xFFFF_FFE0, 0x0012_3456)


def mul_program() -> Program:
    """MUL, MULH, MULHU, MULHSU on edge operands, SLLI, SRLI, SRAI by 0, 1, 7, 8, 16, 31 and
    SLL, SRL, SRA by register amounts; results folded into x10 as in bitwise_program; the exit
    code is x10."""
    r, i = asm.r_type, asm.i_type
    fold = [r(0, 10, 10, 0, 10), r(0, 7, 10, 4, 10)]  # x10 += x10; x10 ^= x7
    words: list[int] = [i(0, 0, 0, 10)]
    for x, y in MUL_PAIRS:
        words += [*asm.li(5, x), *asm.li(6, y)]
        for f3 in (0, 1, 2, 3):  # MUL, MULH, MULHSU, MULHU
            words += [r(1, 6, 5, f3, 7), *fold]
        for sh in SHIFTS:
            words += [i(sh, 5, 1, 7), *fold]  # SLLI
            words += [i(sh, 5, 5, 7), *fold]  # SRLI
            words += [i(sh | 0x400, 5, 5, 7), *fold]  # SRAI (imm[10] set)
        for amt in AMOUNTS:
            words += [*asm.li(6, amt)]
            words += [r(0, 6, 5, 1, 7), *fold]  # SLL
            words += [r(0, 6, 5, 5, 7), *fold]  # SRL
            words += [r(0x20, 6, 5, 5, 7), *fold]  # SRA
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    return words_program(words)


def _signed(v: int) -> int:
    return v - (1 << 32) if v >= 1 << 31 else v


def mul_result() -> int:
    """The exit code of mul_program, computed in Python."""
    m = 0xFFFF_FFFF
    acc = 0
    for x, y in MUL_PAIRS:
        results = [
            x * y,
            (_signed(x) * _signed(y)) >> 32,
            (_signed(x) * y) >> 32,
            (x * y) >> 32,
        ]
        for sh in SHIFTS:
            results += [x << sh, x >> sh, _signed(x) >> sh]
        for amt in AMOUNTS:
            sh = amt & 31
            results += [x << sh, x >> sh, _signed(x) >> sh]
        for res in results:
            acc = ((acc + acc) & m) ^ (res & m)
    return acc


DIV_PAIRS: tuple[tuple[int, int], ...] = (
    (100, 7),
    (7, 100),
    (0xFFFF_FFFF, 1),
    (0xFFFF_FFFF, 0xFFFF_FFFF),
    (0x8000_0000, 0xFFFF_FFFF),
    (12345, 0),  # division by zero: q = 2^32 - 1, r = a
    (0, 0),
    (0xDEAD_BEEF, 0x1_0001),
)


def div_program() -> Program:
    """DIVU and REMU on edge operands (division by zero included); results folded into x10 as
    in bitwise_program; the exit code is x10."""
    r, i = asm.r_type, asm.i_type
    fold = [r(0, 10, 10, 0, 10), r(0, 7, 10, 4, 10)]  # x10 += x10; x10 ^= x7
    words: list[int] = [i(0, 0, 0, 10)]
    for x, y in DIV_PAIRS:
        words += [*asm.li(5, x), *asm.li(6, y)]
        words += [r(1, 6, 5, 5, 7), *fold]  # DIVU
        words += [r(1, 6, 5, 7, 7), *fold]  # REMU
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    return words_program(words)


def div_result() -> int:
    """The exit code of div_program, computed in Python."""
    m = 0xFFFF_FFFF
    acc = 0
    for x, y in DIV_PAIRS:
        for res in (x // y, x % y) if y else (m, x):
            acc = ((acc + acc) & m) ^ res
    return acc


INT_MIN, INT_MAX = 0x8000_0000, 0x7FFF_FFFF
SIGNED_DIV_PAIRS: tuple[tuple[int, int], ...] = (
    (INT_MIN, 0xFFFF_FFFF),  # overflow: q = INT_MIN, r = 0
    (INT_MIN, 1),
    (-7 & 0xFFFF_FFFF, 2),
    (7, -2 & 0xFFFF_FFFF),
    (-7 & 0xFFFF_FFFF, -2 & 0xFFFF_FFFF),
    (-5 & 0xFFFF_FFFF, 0),  # division by zero: q = -1, r = a
    (5, 0),
    (0, 0xFFFF_FFFF),
    (INT_MAX, INT_MIN),
    (0xFFFF_FFFF, INT_MIN),
    (INT_MIN, INT_MIN),
    (INT_MIN, 2),
    (-0x3_0000 & 0xFFFF_FFFF, 0x2_0000),  # limbs of b and r zero: the check's carry is -1
    (0x1234_5678, -0x1_0001 & 0xFFFF_FFFF),
)


def signed_div_program() -> Program:
    """DIV and REM on edge operands (INT_MIN / -1, division by zero, every sign combination);
    results folded into x10 as in bitwise_program; the exit code is x10."""
    r, i = asm.r_type, asm.i_type
    fold = [r(0, 10, 10, 0, 10), r(0, 7, 10, 4, 10)]  # x10 += x10; x10 ^= x7
    words: list[int] = [i(0, 0, 0, 10)]
    for x, y in SIGNED_DIV_PAIRS:
        words += [*asm.li(5, x), *asm.li(6, y)]
        words += [r(1, 6, 5, 4, 7), *fold]  # DIV
        words += [r(1, 6, 5, 6, 7), *fold]  # REM
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    return words_program(words)


def signed_div_quotient_remainder(x: int, y: int) -> tuple[int, int]:
    """DIV and REM of two words by the RISC-V spec, computed independently of the executor."""
    sx, sy = _signed(x), _signed(y)
    if sy == 0:
        return 0xFFFF_FFFF, x
    if sx == -(1 << 31) and sy == -1:
        return x, 0
    q = abs(sx) // abs(sy) * (1 if (sx < 0) == (sy < 0) else -1)
    return q & 0xFFFF_FFFF, (sx - q * sy) & 0xFFFF_FFFF


def signed_div_result() -> int:
    """The exit code of signed_div_program, computed in Python."""
    m = 0xFFFF_FFFF
    acc = 0
    for x, y in SIGNED_DIV_PAIRS:
        for res in signed_div_quotient_remainder(x, y):
            acc = ((acc + acc) & m) ^ res
    return acc


# Image bytes: every byte value and half value the sign extension cares about (0x80, 0xff,
# 0x7f, 0x8000, 0xffff, 0x7fff, 0) at some offset of a word.
BYTE_DATA = bytes.fromhex("80ff7f010080ffffff7f341201800000")
_LOAD_F3 = {"lb": 0, "lh": 1, "lw": 2, "lbu": 4, "lhu": 5}
_STORE_F3 = {"sb": 0, "sh": 1, "sw": 2}
_WIDTH = {"lb": 1, "lbu": 1, "lh": 2, "lhu": 2, "lw": 4, "sb": 1, "sh": 2, "sw": 4}
_SCRATCH = _RAM + 0x100  # zero words the program fills byte by byte
_TOP = DEFAULT_LAYOUT.ram_end - 4


def _byte_memory_ops() -> list[tuple[str, int, int]]:
    """(op, address, value) in program order; loads ignore value, stores write its low bytes."""
    ops: list[tuple[str, int, int]] = []
    for k in range(len(BYTE_DATA) // 4):
        base = _RAM + 4 * k
        for off in range(4):
            ops += [("lb", base + off, 0), ("lbu", base + off, 0)]
        for off in (0, 2):
            ops += [("lh", base + off, 0), ("lhu", base + off, 0)]
        ops.append(("lw", base, 0))
    # A zero word overwritten byte by byte (upper bits of rs2 must not leak), read back after
    # every byte as a word, then byte by byte.
    for off, v in enumerate((0x1234_5680, 0xABCD_EFFF, 0x7F, 0xFFFF_FF01)):
        ops += [("sb", _SCRATCH + off, v), ("lw", _SCRATCH, 0)]
    ops += [(op, _SCRATCH + off, 0) for off in range(4) for op in ("lb", "lbu")]
    # Halves, then bytes over halves.
    ops += [("sh", _SCRATCH + 4, 0xDEAD_8000), ("sh", _SCRATCH + 6, 0x1234_FFFF)]
    ops += [("lw", _SCRATCH + 4, 0), ("lh", _SCRATCH + 6, 0), ("lhu", _SCRATCH + 4, 0)]
    ops += [("sb", _SCRATCH + 5, 0x7F), ("lh", _SCRATCH + 4, 0), ("lbu", _SCRATCH + 7, 0)]
    # Bytes and halves of image words: the rest of the word keeps the image's bytes.
    ops += [("sb", _RAM + 6, 0x5A), ("lw", _RAM + 4, 0), ("sh", _RAM + 8, 0x8001)]
    ops += [("lw", _RAM + 8, 0), ("sw", _RAM + 12, 0xCAFE_F00D), ("sb", _RAM + 13, 0x80)]
    ops += [("lw", _RAM + 12, 0), ("lb", _RAM + 13, 0), ("lhu", _RAM + 14, 0)]
    # The top bytes of RAM.
    ops += [("sb", _TOP + 3, 0x80), ("sb", _TOP + 2, 0xFF), ("lb", _TOP + 3, 0)]
    ops += [("lbu", _TOP + 2, 0), ("lh", _TOP + 2, 0), ("sh", _TOP, 0x7FFF), ("lw", _TOP, 0)]
    ops += [("lhu", _TOP, 0), ("lb", _TOP + 1, 0)]
    return ops


def byte_memory_program() -> Program:
    """LB, LBU, LH, LHU, SB, SH (and LW, SW) at every offset over an initialised data segment,
    zero words, and the top of RAM; two loads into x0. Each loaded value is folded into x10 as
    in bitwise_program; the exit code is x10."""
    r, i = asm.r_type, asm.i_type
    fold = [r(0, 10, 10, 0, 10), r(0, 7, 10, 4, 10)]  # x10 += x10; x10 ^= x7
    words: list[int] = [i(0, 0, 0, 10)]
    for op, addr, value in _byte_memory_ops():
        base = addr & ~0x7FF  # a 12-bit immediate reaches the rest
        words += asm.li(5, base)
        if op in _LOAD_F3:
            words += [i(addr - base, 5, _LOAD_F3[op], 7, asm.LOAD), *fold]
        else:
            words += [*asm.li(6, value), asm.s_type(addr - base, 6, 5, _STORE_F3[op])]
    # Loads into x0 still read memory (LB sign-extends even then).
    words += [*asm.li(5, _RAM), i(0, 5, 0, 0, asm.LOAD), i(2, 5, 5, 0, asm.LOAD)]
    words += [*asm.li(17, 0), asm.ECALL_WORD]
    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=(RamSegment(_RAM, BYTE_DATA),),
    )


def byte_memory_result() -> int:
    """The exit code of byte_memory_program, from a byte-addressed model of RAM in Python."""
    m = 0xFFFF_FFFF
    ram = {_RAM + j: b for j, b in enumerate(BYTE_DATA)}
    acc = 0
    for op, addr, value in _byte_memory_ops():
        n = _WIDTH[op]
        if op in _STORE_F3:
            for j in range(n):
                ram[addr + j] = (value >> (8 * j)) & 0xFF
            continue
        v = sum(ram.get(addr + j, 0) << (8 * j) for j in range(n))
        if op in ("lb", "lh") and v >> (8 * n - 1):
            v -= 1 << (8 * n)
        acc = ((acc + acc) & m) ^ (v & m)
    return acc


def program_elf(program: Program) -> bytes:
    """A minimal ELF32 RISC-V executable holding the program's ROM (no RAM segments).

    Lets `ivcnet prove` be shown on a hand-built program while compiled guests still use
    instructions the prover does not constrain.
    """
    if program.ram_init:
        raise ValueError("program_elf writes ROM-only programs")
    code = np.asarray(program.rom, dtype="<u4").tobytes()
    ehsize, phsize = 52, 32
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIIIIIHHHHHH",
        2,  # ET_EXEC
        243,  # EM_RISCV
        1,
        program.entry,
        ehsize,  # program headers right after the ELF header
        0,
        0,  # flags: no RVC, soft-float ABI
        ehsize,
        phsize,
        1,
        0,
        0,
        0,
    )
    offset = ehsize + phsize
    base = program.layout.rom_base
    phdr = struct.pack("<8I", 1, offset, base, base, len(code), len(code), 5, 4)
    return header + phdr + code
