"""Which RV32IM operations this prover constrains, and the program table that decodes them.

The program ROM becomes a preprocessed table with one row per ROM word: the word's pc and its
decoded fields (register indices, immediate limbs, the constant a LUI/AUIPC/JAL/JALR writes,
one-hot operation flags). The CPU table fetches each executed instruction by a LogUp lookup
into it, so decoding is fixed by the image and never trusted from the prover.

A ROM word whose operation is not in SUPPORTED_OPS (or an illegal word, or a padding row) gets
`valid = 0`, and the program table's constraint `m * (1 - valid) = 0` makes it unfetchable: a
run that executes it cannot be proven, whatever the prover does. The trace generator refuses
such runs up front with UnsupportedInstruction.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.zkvm import decoder as D
from execution.zkvm.program import Program

__all__ = [
    "FETCH_FIELDS",
    "FLAGS",
    "MEM_OP_CODES",
    "OP_NAMES",
    "PROGRAM_COLUMNS",
    "SUPPORTED_OPS",
    "program_table",
    "ram_image_table",
    "ram_image_words",
]

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

OP_NAMES: dict[int, str] = {
    v: k
    for k, v in vars(D).items()
    if isinstance(v, int) and k.isupper() and k not in ("NUM_OPS", "ZERO_SINK")
}

# One-hot operation flags (JAL and JALR also set is_const: they write the constant pc + 4).
FLAGS: tuple[str, ...] = (
    "is_add",  # ADD, ADDI: rd = rs1 + op_b
    "is_sub",  # SUB: rd = rs1 - rs2
    "is_sltu",  # SLTU, SLTIU: rd = rs1 <u op_b
    "is_const",  # LUI, AUIPC, JAL, JALR: rd = k (fixed per instruction)
    "is_jal",
    "is_jalr",
    "is_beq",
    "is_bne",
    "is_bltu",
    "is_bgeu",
    "is_ecall",  # rs1 = a7, rs2 = a1, rd = a0: halt if a7 = 0, else a syscall (IO chip)
    "is_slt",  # SLT, SLTI: rd = rs1 <s op_b (proven by the signed-compare chip)
    "is_blt",
    "is_bge",
    # Any load (LW, LH, LHU, LB, LBU): rd = mem[rs1 + imm] (address by the adder, value from
    # the memory chip); its width and sign are the memory op code in k_lo (MEM_OP_CODES).
    "is_lw",
    "is_sw",  # any store (SW, SH, SB): mem[rs1 + imm] = rs2 (its low byte or half for SB/SH)
    "is_and",  # AND, ANDI: rd = rs1 & op_b (bitwise chip)
    "is_or",  # OR, ORI
    "is_xor",  # XOR, XORI
    "is_mul",  # MUL, and SLLI as a multiplication by 2^shamt (multiplication chip)
    "is_mulhu",  # MULHU, and SRLI (shamt >= 1) as the high word of a * 2^(32 - shamt)
    "is_mulh",  # MULH
    "is_mulhsu",  # MULHSU, and SRAI (shamt >= 1) as the signed high word of a * 2^(32 - shamt)
    "is_sll",  # SLL, SRL, SRA: shift by rs2 & 31 (shift chip, then the multiplication chip)
    "is_srl",
    "is_sra",
    "is_divu",  # DIVU, DIV: the quotient of a = q b + r, |r| < |b| (division chip)
    "is_remu",  # REMU, REM: the remainder
    "is_signed_div",  # with is_divu / is_remu: DIV, REM (signed operands, truncating)
)

# The tuple the CPU sends on the program bus, in order (the program table's columns 1..).
FETCH_FIELDS: tuple[str, ...] = (
    "pc",
    "rs1",
    "rs2",
    "rd",
    "imm_lo",
    "imm_hi",
    "imm_f",
    "k_lo",
    "k_hi",
    "writes_rd",
    "use_imm",
    *FLAGS,
)
PROGRAM_COLUMNS: tuple[str, ...] = ("valid", *FETCH_FIELDS)

SUPPORTED_OPS: frozenset[int] = frozenset(
    {
        D.ADD,
        D.ADDI,
        D.SUB,
        D.SLTU,
        D.SLTIU,
        D.LUI,
        D.AUIPC,
        D.JAL,
        D.JALR,
        D.BEQ,
        D.BNE,
        D.BLTU,
        D.BGEU,
        D.ECALL,
        D.SLT,
        D.SLTI,
        D.BLT,
        D.BGE,
        D.LW,
        D.SW,
        D.AND,
        D.ANDI,
        D.OR,
        D.ORI,
        D.XOR,
        D.XORI,
        D.MUL,
        D.SLLI,
        D.MULH,
        D.MULHU,
        D.MULHSU,
        D.SRLI,
        D.SRAI,
        D.SLL,
        D.SRL,
        D.SRA,
        D.DIVU,
        D.REMU,
        D.LB,
        D.LBU,
        D.LH,
        D.LHU,
        D.SB,
        D.SH,
        D.DIV,
        D.REM,
        D.FENCE,  # a no-op with one hart: no flag, next pc = pc + 4, writes nothing
    }
)

# The op code a load or store sends to the memory chip, held in the program table's k_lo (k is
# the written constant of LUI/AUIPC/JAL/JALR only, so it is free on memory rows and the CPU
# needs no column for it): is_store + 2 is_byte + 4 is_half + 8 is_signed, so LW = 0 and SW = 1.
MEM_STORE, MEM_BYTE, MEM_HALF, MEM_SIGNED = 1, 2, 4, 8
MEM_OP_CODES: dict[int, int] = {
    D.LW: 0,
    D.SW: MEM_STORE,
    D.LBU: MEM_BYTE,
    D.SB: MEM_STORE + MEM_BYTE,
    D.LHU: MEM_HALF,
    D.SH: MEM_STORE + MEM_HALF,
    D.LB: MEM_BYTE + MEM_SIGNED,
    D.LH: MEM_HALF + MEM_SIGNED,
}

# ECALL reads a7 (syscall number) and a1 (length) through the two register read ports and
# writes a0 through the rd port, whose previous value is a0 before the call (exit code or
# buffer): halt writes it back, read_input writes the byte count (docs/zkvm-prover.md).
REG_A0 = 10
REG_A1 = 11
REG_A7 = 17
_MASK32 = (1 << 32) - 1


def program_table(program: Program, p: int) -> U32:
    """(2^k, len(PROGRAM_COLUMNS)) preprocessed rows, k = max(1, ceil(log2(rom words)))."""
    dec = program.decoded
    n_words = len(program.rom)
    height = max(2, 1 << max(0, (n_words - 1).bit_length()))
    op = dec.op.astype(np.int64)
    imm = dec.imm.astype(np.int64)
    pc = program.layout.rom_base + 4 * np.arange(n_words, dtype=np.int64)
    col = {name: np.zeros(n_words, dtype=np.int64) for name in PROGRAM_COLUMNS}

    def flag(name: str, *ops: int) -> npt.NDArray[np.bool_]:
        mask = np.isin(op, ops)
        col[name] = col[name] | mask.astype(np.int64)
        return mask

    flag("is_add", D.ADD, D.ADDI)
    flag("is_sub", D.SUB)
    flag("is_sltu", D.SLTU, D.SLTIU)
    flag("is_const", D.LUI, D.AUIPC, D.JAL, D.JALR)
    flag("is_jal", D.JAL)
    flag("is_jalr", D.JALR)
    flag("is_beq", D.BEQ)
    flag("is_bne", D.BNE)
    flag("is_bltu", D.BLTU)
    flag("is_bgeu", D.BGEU)
    ecall = flag("is_ecall", D.ECALL)
    flag("is_slt", D.SLT, D.SLTI)
    flag("is_blt", D.BLT)
    flag("is_bge", D.BGE)
    flag("is_lw", D.LW, D.LB, D.LBU, D.LH, D.LHU)
    flag("is_sw", D.SW, D.SB, D.SH)
    flag("is_and", D.AND, D.ANDI)
    flag("is_or", D.OR, D.ORI)
    flag("is_xor", D.XOR, D.XORI)
    flag("is_mul", D.MUL, D.SLLI)
    # A right shift by 0 is a copy: ADDI rd, rs1, 0.
    right = np.isin(op, [D.SRLI, D.SRAI])
    shift0 = right & ((imm & 31) == 0)
    col["is_add"] = col["is_add"] | shift0.astype(np.int64)
    flag("is_mulhu", D.MULHU)
    col["is_mulhu"] = col["is_mulhu"] | ((op == D.SRLI) & ~shift0).astype(np.int64)
    flag("is_mulh", D.MULH)
    flag("is_mulhsu", D.MULHSU)
    flag("is_sll", D.SLL)
    flag("is_srl", D.SRL)
    flag("is_sra", D.SRA)
    flag("is_divu", D.DIVU, D.DIV)
    flag("is_remu", D.REMU, D.REM)
    flag("is_signed_div", D.DIV, D.REM)
    col["is_mulhsu"] = col["is_mulhsu"] | ((op == D.SRAI) & ~shift0).astype(np.int64)

    valid = np.isin(op, list(SUPPORTED_OPS))
    col["valid"] = valid.astype(np.int64)
    col["pc"] = pc
    col["rs1"] = np.where(ecall, REG_A7, dec.rs1.astype(np.int64))
    col["rs2"] = np.where(ecall, REG_A1, dec.rs2.astype(np.int64))
    no_rd = [D.BEQ, D.BNE, D.BLT, D.BGE, D.BLTU, D.BGEU, D.FENCE, D.SW, D.SB, D.SH]
    writes = valid & ~ecall & ~np.isin(op, no_rd)
    writes &= dec.rd.astype(np.int64) != D.ZERO_SINK
    writes |= valid & ecall
    col["writes_rd"] = writes.astype(np.int64)
    col["rd"] = np.where(ecall, REG_A0, np.where(writes, dec.rd.astype(np.int64), 0))
    col["use_imm"] = np.isin(
        op,
        [
            D.ADDI,
            D.SLTIU,
            D.SLTI,
            D.JALR,
            D.LW,
            D.SW,
            D.ANDI,
            D.ORI,
            D.XORI,
            D.SLLI,
            D.SRLI,
            D.SRAI,
            D.ECALL,  # immediate 0: the adder copies a7 into c, so is_eq says a7 == 0
            D.LB,
            D.LBU,
            D.LH,
            D.LHU,
            D.SB,
            D.SH,
        ],
    ).astype(np.int64)
    imm = np.where(ecall, 0, imm)
    # SLLI x, s multiplies by the constant 2^s (the decoder puts s in imm).
    imm = np.where(op == D.SLLI, np.left_shift(np.int64(1), imm & 31), imm)
    # SRLI/SRAI x, s (s >= 1) take the high word of a product with 2^(32 - s); s = 0 adds 0.
    right_imm = np.where(shift0, 0, np.left_shift(np.int64(1), (32 - (imm & 31)) & 63))
    imm = np.where(right, right_imm, imm)
    imm32 = imm & _MASK32
    col["imm_lo"] = imm32 & 0xFFFF
    col["imm_hi"] = imm32 >> 16
    col["imm_f"] = imm % p  # signed offset as a field element (branches, JAL)
    k = np.zeros(n_words, dtype=np.int64)
    k = np.where(op == D.LUI, imm32, k)
    k = np.where(op == D.AUIPC, (pc + imm) & _MASK32, k)
    k = np.where(np.isin(op, [D.JAL, D.JALR]), (pc + 4) & _MASK32, k)
    for mem_op, code in MEM_OP_CODES.items():
        k = np.where(op == mem_op, code, k)
    col["k_lo"] = k & 0xFFFF
    col["k_hi"] = k >> 16
    out = np.zeros((height, len(PROGRAM_COLUMNS)), dtype=np.uint32)
    for j, name in enumerate(PROGRAM_COLUMNS):
        # Unsupported words keep their decoded fields but valid = 0 makes them unfetchable.
        out[:n_words, j] = (col[name] % p).astype(np.uint32)
    return out


def ram_image_words(program: Program) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(word keys, word values) of every RAM word the image initialises, sorted by key.

    A word key is (address - ram_base) / 4. Words only partly covered by a segment take the
    rest of their bytes from the initial RAM (zero), exactly as the executor starts.
    """
    base = program.layout.ram_base
    keys: list[npt.NDArray[np.int64]] = []
    for seg in program.ram_init:
        if seg.data:
            first = (seg.addr - base) // 4
            last = (seg.addr + len(seg.data) - 1 - base) // 4
            keys.append(np.arange(first, last + 1, dtype=np.int64))
    if not keys:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    uniq = np.unique(np.concatenate(keys))
    values = program.initial_ram_words()[uniq].astype(np.int64)
    return uniq, values


def ram_image_table(program: Program) -> U32:
    """Preprocessed rows (valid, word key, value lo, value hi), padded to a power of two."""
    keys, values = ram_image_words(program)
    n = len(keys)
    height = max(2, 1 << max(0, (n - 1).bit_length()))
    out = np.zeros((height, 4), dtype=np.uint32)
    out[:n, 0] = 1
    out[:n, 1] = keys
    out[:n, 2] = values & 0xFFFF
    out[:n, 3] = values >> 16
    return out
