"""RV32IM instruction encoders: enough to build test programs without a compiler.

Each function returns one 32-bit instruction word (or a list for `li`); field order follows
the base formats of the RISC-V unprivileged spec (R, I, S, B, U, J).
"""

from __future__ import annotations

OP = 0x33
OP_IMM = 0x13
LOAD = 0x03
STORE = 0x23
BRANCH = 0x63
LUI = 0x37
AUIPC = 0x17
JAL = 0x6F
JALR = 0x67
ECALL_WORD = 0x0000_0073
EBREAK_WORD = 0x0010_0073


def r_type(f7: int, rs2: int, rs1: int, f3: int, rd: int, opcode: int = OP) -> int:
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode


def i_type(imm: int, rs1: int, f3: int, rd: int, opcode: int = OP_IMM) -> int:
    return ((imm & 0xFFF) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opcode


def s_type(imm: int, rs2: int, rs1: int, f3: int) -> int:
    imm &= 0xFFF
    return ((imm >> 5) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 0x1F) << 7) | STORE


def b_type(offset: int, rs2: int, rs1: int, f3: int) -> int:
    o = offset & 0x1FFF
    return (
        (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3F) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((o >> 1) & 0xF) << 8)
        | (((o >> 11) & 1) << 7)
        | BRANCH
    )


def u_type(imm20: int, rd: int, opcode: int) -> int:
    return ((imm20 & 0xFFFFF) << 12) | (rd << 7) | opcode


def j_type(offset: int, rd: int) -> int:
    o = offset & 0x1FFFFF
    return (
        (((o >> 20) & 1) << 31)
        | (((o >> 1) & 0x3FF) << 21)
        | (((o >> 11) & 1) << 20)
        | (((o >> 12) & 0xFF) << 12)
        | (rd << 7)
        | JAL
    )


def li(rd: int, value: int) -> list[int]:
    """LUI + ADDI loading any 32-bit constant (the low part is sign-extended by ADDI)."""
    value &= 0xFFFF_FFFF
    lo = value & 0xFFF
    lo_signed = lo - 0x1000 if lo >= 0x800 else lo
    hi = ((value - lo_signed) >> 12) & 0xFFFFF
    return [u_type(hi, rd, LUI), i_type(lo_signed, rd, 0, rd, OP_IMM)]


def halt(code_reg: int = 10) -> list[int]:
    """a0 = x[code_reg]; a7 = HALT; ecall."""
    words = [] if code_reg == 10 else [i_type(0, code_reg, 0, 10)]
    return [*words, *li(17, 0), ECALL_WORD]
