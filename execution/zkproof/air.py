"""The zkVM AIR: four tables on three LogUp buses (design and soundness: docs/zkvm-prover.md).

- CpuAir: one row per executed instruction (then padding). Fetches its decoded instruction
  from the program table, reads rs1 and rs2 and writes rd through the register bus, checks the
  adder, the branch condition and the next pc.
- ProgramAir: the ROM as preprocessed columns (program_table), one multiplicity column.
- RegisterAir: 32 rows, one per register: the initial (value 0, time 0) write and the final
  read that close the register memory argument.
- RangeAir: 2^16 preprocessed rows, receiving 16-bit and 8-bit range lookups.

Register values travel as two 16-bit limbs (a u32 may exceed p). Register memory checking is
the offline argument: every access receives (reg, old value, old time) and sends (reg, new
value, now) with old time < now (16 + 8-bit range check of the difference); times are
4 * clk + port, so they are distinct and increase along the run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.air.expr import Expr, ExprLike
from execution.stark.lanes import P
from execution.zkproof.isa import FETCH_FIELDS, PROGRAM_COLUMNS

__all__ = [
    "BIT_COLUMNS",
    "BOUNDARY_COLUMNS",
    "BUS_BITOP",
    "BUS_BYTEOP",
    "BUS_BYTEPAIR",
    "BUS_DIV",
    "BUS_LT",
    "BUS_MEM",
    "BUS_MEMOP",
    "BUS_MUL",
    "BUS_POW2",
    "BUS_PROGRAM",
    "BUS_RAMIMG",
    "BUS_RANGE16",
    "BUS_REG",
    "BUS_SHIFT",
    "BUS_SYSCALL",
    "BUS_U8",
    "BUS_U15",
    "CPU_COLUMNS",
    "CPU_PUBLICS",
    "DIV_COLUMNS",
    "LT_COLUMNS",
    "MEM_COLUMNS",
    "MUL_COLUMNS",
    "RAM_HI",
    "SHIFT_COLUMNS",
    "BitwiseChipAir",
    "CpuAir",
    "DivChipAir",
    "LtChipAir",
    "MemBoundaryAir",
    "MemChipAir",
    "MulChipAir",
    "Pow2Air",
    "ProgramAir",
    "RamImageAir",
    "RangeAir",
    "RegisterAir",
    "ShiftChipAir",
    "bit_col",
    "boundary_col",
    "cpu_col",
    "div_col",
    "lt_col",
    "mem_col",
    "mul_col",
    "shift_col",
]

BUS_PROGRAM = 1
BUS_REG = 2
BUS_RANGE16 = 3
BUS_U8 = 4
BUS_LT = 5  # signed-compare requests: (a0, a1, b0, b1, a <s b)
BUS_U15 = 6
# CPU -> memory chip: (addr lo, addr hi, value lo, value hi, clk, op) with the op code
# is_store + 2 is_byte + 4 is_half + 8 is_signed (isa.MEM_OP_CODES; LW 0, SW 1).
BUS_MEMOP = 7
BUS_MEM = 8  # RAM words: (word key, value lo, value hi, time)
BUS_RAMIMG = 9  # the image's initial RAM words: (word key, value lo, value hi)

# RAM is [0x1000_0000, 0x1100_0000) (execution.zkvm.layout.DEFAULT_LAYOUT): an address is in
# RAM and word-aligned iff its high limb is 0x1000 + h with h 8-bit and its low limb is 4 q
# with q 14-bit. Word key = q + 2^14 h. The prover refuses other layouts.
RAM_HI = 0x1000
BUS_BITOP = 10  # CPU -> bitwise chip: (a0, a1, b0, b1, r0, r1, op) with op 1 AND, 2 OR, 3 XOR
BUS_BYTEOP = 11  # byte table: (x, y, x & y, x | y, x ^ y)
BUS_MUL = 12  # CPU -> multiplication chip: (a0, a1, b0, b1, r0, r1, op); op 0 low, 1 HU, 2 H, 3 HSU
BUS_BYTEPAIR = 13  # two bytes at once: (x, y)
BUS_SHIFT = 14  # CPU -> shift chip: (a0, a1, b0, b1, r0, r1, op) with op 1 SLL, 2 SRL, 3 SRA
BUS_POW2 = 15  # (s, 2^s lo, 2^s hi, 2^(32-s) lo, 2^(32-s) hi, s == 0) for s = 0..31
# CPU -> division chip: (a0, a1, b0, b1, result0, result1, op) op 0 DIVU, 1 REMU, 2 DIV, 3 REM
BUS_DIV = 16
# CPU -> IO chip, one per non-halt ECALL: (clk, a7 lo, a7 hi, a0 lo, a0 hi, a1 lo, a1 hi,
# new a0 lo, new a0 hi); the IO chip's own buses are in air_io.py.
BUS_SYSCALL = 23

CPU_COLUMNS: tuple[str, ...] = (
    "is_real",
    "clk",
    *FETCH_FIELDS,
    "a0",
    "a1",  # rs1 value limbs
    "b0",
    "b1",  # rs2 value limbs
    "c0",
    "c1",  # adder result limbs (a + op_b, or a - b)
    "cy0",
    "cy1",  # adder carries (cy1 is the borrow, i.e. a <u b, in subtract mode)
    "is_eq",
    "eq_inv",
    "lowbit",  # JALR: bit 0 of rs1 + imm, cleared for the target
    "next_pc",
    "w0",
    "w1",  # value written to rd
    "t1p",
    "e1",  # rs1 port: previous access time, high part of the time difference
    "t2p",
    "e2",
    "t3p",
    "p0",
    "p1",
    "e3",  # rd port: previous time, previous value limbs, high part
    "lt",  # a <s op_b, proven by the signed-compare chip (SLT, SLTI, BLT, BGE)
    "is_halt",  # ECALL with a7 = 0 (is_ecall * is_eq): the last real row
)
_CPU_INDEX = {name: i for i, name in enumerate(CPU_COLUMNS)}

# Public values of the CPU table. The statement digests, the prover's address (ten 16-bit
# limbs) and the task id (sixteen) are not used by any constraint: they are public so that the
# transcript (and so every challenge) depends on them, and a proof cannot be relabelled to
# another prover or another task.
CPU_PUBLICS: tuple[str, ...] = (
    "entry",
    "exit_lo",
    "exit_hi",
    "cycles",
    *(f"image_id{i}" for i in range(8)),
    *(f"input_digest{i}" for i in range(8)),
    *(f"output_digest{i}" for i in range(8)),
    *(f"prover{i}" for i in range(10)),
    *(f"task_id{i}" for i in range(16)),
)
_PUB_INDEX = {name: i for i, name in enumerate(CPU_PUBLICS)}

LIMB = 1 << 16
SIGN_BIT = 1 << 15
JALR_BOUND_SHIFT = 1 << 15  # c1 + 2^15 < 2^16 bounds a JALR target below 2^31 < p


def cpu_col(name: str) -> int:
    return _CPU_INDEX[name]


class CpuAir(Air):
    name = "zkvm_cpu_v1"
    width = len(CPU_COLUMNS)
    num_public_values = len(CPU_PUBLICS)

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _CPU_INDEX.items()}
        nx = {n: b.next[i] for n, i in _CPU_INDEX.items()}
        pub = {n: b.public[i] for n, i in _PUB_INDEX.items()}
        real, clk = c["is_real"], c["clk"]

        # Sequencing: row 0 is the first instruction at the entry point, rows are consecutive
        # cycles, real rows form a prefix, and the last real row (only it) is the halt.
        b.assert_bool(real)
        b.when_first_row(real - 1)
        b.when_first_row(clk)
        b.when_first_row(c["pc"] - pub["entry"])
        b.when_transition(nx["clk"] - clk - 1)
        b.when_transition(nx["is_real"] * (1 - real))
        b.when_transition(c["is_halt"] - (real - nx["is_real"]))
        b.when_last_row(c["is_halt"] - real)
        b.when_transition(nx["is_real"] * (nx["pc"] - c["next_pc"]))
        # Padding rows may not write registers or request a JALR range check.
        b.assert_zero((1 - real) * c["writes_rd"])
        b.assert_zero((1 - real) * c["is_jalr"])
        signed = c["is_slt"] + c["is_blt"] + c["is_bge"]
        b.assert_zero((1 - real) * signed)
        mem = c["is_lw"] + c["is_sw"]
        b.assert_zero((1 - real) * mem)
        bitwise = c["is_and"] + c["is_or"] + c["is_xor"]
        b.assert_zero((1 - real) * bitwise)
        mul = c["is_mul"] + c["is_mulhu"] + c["is_mulh"] + c["is_mulhsu"]
        b.assert_zero((1 - real) * mul)
        shift = c["is_sll"] + c["is_srl"] + c["is_sra"]
        b.assert_zero((1 - real) * shift)
        div = c["is_divu"] + c["is_remu"]
        b.assert_zero((1 - real) * div)
        # Nor send a syscall message: the IO chip would accept a block at a padding clk (after
        # the halt), e.g. a write_output appending bytes of RAM to the claimed output.
        b.assert_zero((1 - real) * c["is_ecall"])

        # Adder: add mode  a + op_b = c + carry * 2^32  (ADD, ADDI, JALR target),
        #        sub mode  c + b    = a + borrow * 2^32 (SUB, SLTU(I), branches).
        use_imm = c["use_imm"]
        y0 = use_imm * c["imm_lo"] + (1 - use_imm) * c["b0"]
        y1 = use_imm * c["imm_hi"] + (1 - use_imm) * c["b1"]
        add_mode = c["is_add"] + c["is_jalr"] + mem
        sub_mode = (
            c["is_sub"] + c["is_sltu"] + c["is_beq"] + c["is_bne"] + c["is_bltu"] + c["is_bgeu"]
        )
        # ECALL: c = a7 - 0 (immediate 0), so is_eq below says a7 == 0, i.e. halt.
        sub_mode = sub_mode + c["is_ecall"]
        cy0, cy1 = c["cy0"], c["cy1"]
        b.assert_bool(cy0)
        b.assert_bool(cy1)
        b.assert_zero(add_mode * (c["a0"] + y0 - c["c0"] - LIMB * cy0))
        b.assert_zero(add_mode * (c["a1"] + y1 + cy0 - c["c1"] - LIMB * cy1))
        b.assert_zero(sub_mode * (c["c0"] + y0 - c["a0"] - LIMB * cy0))
        b.assert_zero(sub_mode * (c["c1"] + y1 + cy0 - c["a1"] - LIMB * cy1))

        # Value written to rd.
        # c holds the adder's result, or for AND/OR/XOR the bitwise chip's (c is range-checked
        # on every real row either way).
        alu = c["is_add"] + c["is_sub"] + bitwise + mul + shift + div
        # A load's written value is free here: the memory chip binds it through BUS_MEMOP, and
        # an ECALL's (the new a0) by the halt rule below or the IO chip through BUS_SYSCALL.
        not_load = 1 - c["is_lw"] - c["is_ecall"]
        b.assert_zero(
            not_load
            * (
                c["w0"]
                - (
                    c["is_const"] * c["k_lo"]
                    + c["is_sltu"] * cy1
                    + c["is_slt"] * c["lt"]
                    + alu * c["c0"]
                )
            )
        )
        b.assert_zero(not_load * (c["w1"] - (c["is_const"] * c["k_hi"] + alu * c["c1"])))

        # Equality of a and b: c = a - b is zero iff c0 + c1 = 0 (both limbs are 16-bit).
        s = c["c0"] + c["c1"]
        b.assert_zero(s * c["is_eq"])
        b.assert_zero(1 - c["is_eq"] - s * c["eq_inv"])

        # Next pc. A target outside the ROM or misaligned has no program-table row, so the
        # next row's fetch fails; the halt row keeps its pc.
        is_eq = c["is_eq"]
        taken = (
            c["is_beq"] * is_eq
            + c["is_bne"] * (1 - is_eq)
            + c["is_bltu"] * cy1
            + c["is_bgeu"] * (1 - cy1)
            + c["is_blt"] * c["lt"]
            + c["is_bge"] * (1 - c["lt"])
        )
        pc, imm_f = c["pc"], c["imm_f"]
        b.assert_bool(c["lowbit"])
        jalr_target = c["c0"] + LIMB * c["c1"] - c["lowbit"]
        expected = (
            pc
            + 4
            + (c["is_jal"] + taken) * (imm_f - 4)
            + c["is_jalr"] * (jalr_target - pc - 4)
            - c["is_halt"] * 4
        )
        # Not gated by is_real (that would raise the degree to 4 and double the quotient):
        # padding rows carry pc = 0, next_pc = 4 and no flags, which satisfy it.
        b.assert_zero(c["next_pc"] - expected)

        # ECALL: a7 on port 1 (so c = a7), a1 on port 2, a0 on the rd port: its previous value
        # p is a0 before the call. Halt (a7 = 0): a0 is the exit code and is written back
        # unchanged; clk + 1 is the cycle count. Any other ECALL goes to the IO chip.
        ecall, halt = c["is_ecall"], c["is_halt"]
        b.assert_zero(halt - ecall * is_eq)
        b.assert_zero(halt * (c["p0"] - pub["exit_lo"]))
        b.assert_zero(halt * (c["p1"] - pub["exit_hi"]))
        b.assert_zero(halt * (c["w0"] - c["p0"]))
        b.assert_zero(halt * (c["w1"] - c["p1"]))
        b.assert_zero(halt * (clk + 1 - pub["cycles"]))

        # Fetch.
        b.send(BUS_PROGRAM, [c[f] for f in FETCH_FIELDS], real)

        # Register ports (time = 4 clk + port).
        a = (c["a0"], c["a1"])
        bv = (c["b0"], c["b1"])
        w = (c["w0"], c["w1"])
        self._access(b, c["rs1"], a, a, c["t1p"], 1, c, "e1", real)
        self._access(b, c["rs2"], bv, bv, c["t2p"], 2, c, "e2", real)
        self._access(b, c["rd"], (c["p0"], c["p1"]), w, c["t3p"], 3, c, "e3", c["writes_rd"])

        # Every result limb is 16-bit (so written values are canonical u32 limbs); a JALR sum
        # is below 2^31 so its field value is the integer.
        b.send(BUS_RANGE16, [c["c0"]], real)
        b.send(BUS_RANGE16, [c["c1"]], real)
        b.send(BUS_RANGE16, [c["c1"] + JALR_BOUND_SHIFT], c["is_jalr"])
        # Signed comparisons are rare: one bus send here, the columns live in LtChipAir.
        b.send(BUS_LT, [c["a0"], c["a1"], y0, y1, c["lt"]], signed)
        # Loads and stores: the adder computed the address; the chip checks it and the memory.
        value0 = c["is_lw"] * c["w0"] + c["is_sw"] * c["b0"]
        value1 = c["is_lw"] * c["w1"] + c["is_sw"] * c["b1"]
        # k_lo of a load/store row is its memory op code (isa.MEM_OP_CODES: LW 0, SW 1, ...).
        b.send(BUS_MEMOP, [c["c0"], c["c1"], value0, value1, clk, c["k_lo"]], mem)
        op = c["is_and"] + 2 * c["is_or"] + 3 * c["is_xor"]
        b.send(BUS_BITOP, [c["a0"], c["a1"], y0, y1, c["c0"], c["c1"], op], bitwise)
        mul_op = c["is_mulhu"] + 2 * c["is_mulh"] + 3 * c["is_mulhsu"]
        b.send(BUS_MUL, [c["a0"], c["a1"], y0, y1, c["c0"], c["c1"], mul_op], mul)
        shift_op = c["is_sll"] + 2 * c["is_srl"] + 3 * c["is_sra"]
        b.send(BUS_SHIFT, [c["a0"], c["a1"], y0, y1, c["c0"], c["c1"], shift_op], shift)
        div_op = c["is_remu"] + 2 * c["is_signed_div"]
        b.send(BUS_DIV, [c["a0"], c["a1"], y0, y1, c["c0"], c["c1"], div_op], div)
        syscall: list[ExprLike] = [clk, c["a0"], c["a1"], c["p0"], c["p1"], c["b0"], c["b1"]]
        b.send(BUS_SYSCALL, [*syscall, c["w0"], c["w1"]], ecall - halt)

    @staticmethod
    def _access(
        b: AirBuilder,
        reg: Expr,
        old: tuple[Expr, Expr],
        new: tuple[Expr, Expr],
        prev_t: Expr,
        port: int,
        c: dict[str, Expr],
        hi: str,
        mult: Expr,
    ) -> None:
        now = 4 * c["clk"] + port
        b.receive(BUS_REG, [reg, old[0], old[1], prev_t], mult)
        b.send(BUS_REG, [reg, new[0], new[1], now], mult)
        # now - prev_t - 1 = lo + 2^16 * e with lo 16-bit and e 8-bit: prev_t < now.
        e = c[hi]
        b.send(BUS_RANGE16, [now - prev_t - 1 - LIMB * e], mult)
        b.send(BUS_U8, [e], mult)


class ProgramAir(Air):
    """The ROM of one image: preprocessed decoded rows, main column = fetch multiplicity."""

    width = 1
    preprocessed_width = len(PROGRAM_COLUMNS)
    num_public_values = 0

    def __init__(self, table: npt.NDArray[np.uint32], image_hex: str) -> None:
        # The image id is in the name, so the AIR digest (and every cache keyed by it) differs
        # per program even though the constraint DAG is the same.
        self.name = f"zkvm_program_v1_{image_hex}"
        self._table = np.ascontiguousarray(table, dtype=np.uint32)
        self.log_height = int(self._table.shape[0]).bit_length() - 1

    def eval(self, b: AirBuilder) -> None:
        m = b.local[0]
        b.assert_zero(m * (1 - b.prep_local[0]))
        b.receive(BUS_PROGRAM, list(b.prep_local[1:]), m)

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != self.log_height:
            raise ValueError("the program table has a fixed height")
        return self._table


class RegisterAir(Air):
    """Register boundary: send (r, 0, 0, time 0) and receive the final (r, value, time)."""

    name = "zkvm_registers_v1"
    width = 3  # final value limbs, final time
    preprocessed_width = 1
    num_public_values = 0
    log_height = 5

    def eval(self, b: AirBuilder) -> None:
        reg = b.prep_local[0]
        f0, f1, ft = b.local
        b.send(BUS_REG, [reg, 0, 0, 0], 1)
        b.receive(BUS_REG, [reg, f0, f1, ft], 1)

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != self.log_height:
            raise ValueError("the register table has 32 rows")
        return np.arange(32, dtype=np.uint32).reshape(32, 1)


class RangeAir(Air):
    """Rows r = 0..2^16-1 receiving 16-bit (m16), 8-bit (m8, r < 2^8) and 15-bit (m15,
    r < 2^15) range lookups, and byte-operation lookups (mop) of x = r mod 256, y = r / 256."""

    name = "zkvm_range_v4"
    width = 5
    preprocessed_width = 8
    num_public_values = 0
    log_height = 16

    def eval(self, b: AirBuilder) -> None:
        r, is_byte, is_15, x, y, x_and, x_or, x_xor = b.prep_local
        m16, m8, m15, mop, mpair = b.local
        b.assert_zero(m8 * (1 - is_byte))
        b.assert_zero(m15 * (1 - is_15))
        b.receive(BUS_RANGE16, [r], m16)
        b.receive(BUS_U8, [r], m8)
        b.receive(BUS_U15, [r], m15)
        # Row r = x + 256 y also holds the byte operations of (x, y).
        b.receive(BUS_BYTEOP, [x, y, x_and, x_or, x_xor], mop)
        b.receive(BUS_BYTEPAIR, [x, y], mpair)

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != self.log_height:
            raise ValueError("the range table has 2^16 rows")
        r = np.arange(1 << 16, dtype=np.uint32)
        small = [(r < 256).astype(np.uint32), (r < 1 << 15).astype(np.uint32)]
        x, y = r & 0xFF, r >> 8
        return np.stack([r, *small, x, y, x & y, x | y, x ^ y], axis=1)


LT_COLUMNS: tuple[str, ...] = (
    "is_real",
    "a0",
    "a1",
    "b0",
    "b1",
    "c0",
    "c1",  # a - b mod 2^32
    "cy0",
    "cy1",  # borrows; cy1 = a <u b
    "sa",
    "ra",  # a1 = 2^15 sa + ra: sign bit and the rest
    "sb",
    "rb",
    "lt",  # a <s b
)
_LT_INDEX = {name: i for i, name in enumerate(LT_COLUMNS)}


def lt_col(name: str) -> int:
    return _LT_INDEX[name]


class LtChipAir(Air):
    """Signed-compare chip: one row per SLT/SLTI/BLT/BGE, received from the CPU on BUS_LT.

    a <s b is a <u b when the signs agree, else the sign of a. Signs come from the high limbs:
    a1 = 2^15 sa + ra with sa boolean and ra 15-bit (a1 is a canonical 16-bit limb already).
    All-zero padding rows satisfy every constraint and send nothing.
    """

    name = "zkvm_lt_chip_v1"
    width = len(LT_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _LT_INDEX.items()}
        real = c["is_real"]
        b.assert_bool(real)
        for bit in ("cy0", "cy1", "sa", "sb"):
            b.assert_bool(c[bit])
        b.assert_zero(c["c0"] + c["b0"] - c["a0"] - LIMB * c["cy0"])
        b.assert_zero(c["c1"] + c["b1"] + c["cy0"] - c["a1"] - LIMB * c["cy1"])
        b.assert_zero(c["a1"] - SIGN_BIT * c["sa"] - c["ra"])
        b.assert_zero(c["b1"] - SIGN_BIT * c["sb"] - c["rb"])
        sa, sb = c["sa"], c["sb"]
        same_sign = 1 - sa - sb + 2 * sa * sb
        b.assert_zero(c["lt"] - (same_sign * c["cy1"] + sa * (1 - sb)))
        b.receive(BUS_LT, [c["a0"], c["a1"], c["b0"], c["b1"], c["lt"]], real)
        b.send(BUS_RANGE16, [c["c0"]], real)
        b.send(BUS_RANGE16, [c["c1"]], real)
        b.send(BUS_U15, [c["ra"]], real)
        b.send(BUS_U15, [c["rb"]], real)


MEM_COLUMNS: tuple[str, ...] = (
    "is_real",
    "is_store",
    "clk",
    "q",
    "h",  # address = (RAM_HI + h) * 2^16 + 4 q + o0 + 2 o1
    "v0",
    "v1",  # the CPU's value: loaded (after extension) or stored (all of rs2)
    "p0",
    "p1",  # previous value of the word
    "tp",  # previous access time
    "e",  # high part of the time difference
    "is_byte",
    "is_half",  # neither: a word
    "is_signed",  # LB, LH
    "o0",
    "o1",  # offset bits of the address in its word
    "lb",
    "hb",  # bytes of the addressed half of the previous word (p0 or p1)
    "bsel",  # the addressed byte of the previous word (lb or hb)
    "d0",  # low byte of v0 (the byte SB writes)
    "delta",  # (d0 - bsel) 256^o0: what SB adds to the addressed half
    "n0",
    "n1",  # new value of the word
    "nh",  # new value of the addressed half (n0 or n1)
    "top",  # the byte holding a signed load's sign bit (bsel for LB, hb for LH)
    "t",  # the sign bit of a signed load (0 otherwise)
)
_MEM_INDEX = {name: i for i, name in enumerate(MEM_COLUMNS)}


def mem_col(name: str) -> int:
    return _MEM_INDEX[name]


INV_256 = pow(256, P - 2, P)  # 1/256 in the field


class MemChipAir(Air):
    """Memory chip: one row per load or store (any width), received from the CPU on BUS_MEMOP.

    Checks the address is in RAM and aligned to its width (offset bits o0, o1: words 0, halves
    o0 = 0), and runs the offline memory argument on BUS_MEM, which stays word-granular, with
    time clk + 1 (its own bus, so its times are independent of the registers'): receive (word,
    previous value, previous time), send (word, new value, now), previous time < now.

    Sub-word accesses work on the addressed half of the previous word, p0 or p1, split into
    bytes lb, hb (a byte-pair lookup; MEM values are canonical 16-bit limbs, so the split is
    unique), and its addressed byte bsel. Loads: LW returns the word, LH(U) the half, LB(U)
    the byte; signed loads extend the sign bit t of `top` (top = 128 t + rest, rest < 128 by a
    lookup of (rest, 2 rest)); the word is unchanged. Stores: SW writes v; SH writes v0 into
    the addressed half; SB writes d0 = v0 mod 256 into the addressed byte (the half changes by
    (d0 - bsel) 256^o0); the other half of the word is unchanged in both. Every new limb is
    then canonical again.
    """

    name = "zkvm_mem_chip_v2"
    width = len(MEM_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _MEM_INDEX.items()}
        real, store = c["is_real"], c["is_store"]
        byte, half, signed = c["is_byte"], c["is_half"], c["is_signed"]
        o0, o1, t = c["o0"], c["o1"], c["t"]
        for bit in (real, store, byte, half, signed, o0, o1, t):
            b.assert_bool(bit)
        load = 1 - store
        word_access = real - byte - half
        narrow = byte + half
        # Alignment: a half has o0 = 0, a word no offset (the CPU's op code fixes the width).
        b.assert_zero(half * o0)
        b.assert_zero(word_access * o0)
        b.assert_zero(word_access * o1)
        p0, p1, v0, v1 = c["p0"], c["p1"], c["v0"], c["v1"]
        n0, n1 = c["n0"], c["n1"]
        lb, hb, bsel = c["lb"], c["hb"], c["bsel"]
        hw = lb + 256 * hb
        b.assert_zero(hw - (1 - o1) * p0 - o1 * p1)
        b.assert_zero(bsel - (1 - o0) * lb - o0 * hb)
        b.assert_zero(c["top"] - hb - byte * (bsel - hb))
        b.assert_zero((1 - signed) * t)
        b.assert_zero(c["delta"] - (c["d0"] - bsel) * (1 + 255 * o0))
        b.assert_zero(c["nh"] - (1 - o1) * n0 - o1 * n1)
        # Loads: the value is the word, the half or the byte, extended by t; memory unchanged.
        b.assert_zero(load * word_access * (v0 - p0))
        b.assert_zero(load * word_access * (v1 - p1))
        b.assert_zero(load * half * (v0 - hw))
        b.assert_zero(load * byte * (v0 - bsel - 0xFF00 * t))
        b.assert_zero(load * narrow * (v1 - 0xFFFF * t))
        b.assert_zero(load * (n0 - p0))
        b.assert_zero(load * (n1 - p1))
        # Stores: SW writes v; SH and SB change the addressed half only.
        b.assert_zero(store * word_access * (n0 - v0))
        b.assert_zero(store * word_access * (n1 - v1))
        b.assert_zero(narrow * (1 - o1) * (n1 - p1))
        b.assert_zero(narrow * o1 * (n0 - p0))
        b.assert_zero(store * half * (c["nh"] - v0))
        b.assert_zero(store * byte * (c["nh"] - hw - c["delta"]))
        q, h = c["q"], c["h"]
        addr_lo = 4 * q + o0 + 2 * o1
        addr_hi = RAM_HI + h
        op = store + 2 * byte + 4 * half + 8 * signed
        b.receive(BUS_MEMOP, [addr_lo, addr_hi, v0, v1, c["clk"], op], real)
        b.send(BUS_U15, [q], real)
        b.send(BUS_RANGE16, [4 * q], real)  # with q < 2^15 this makes q < 2^14
        b.send(BUS_U8, [h], real)
        word = q + (1 << 14) * h
        now = c["clk"] + 1
        b.receive(BUS_MEM, [word, p0, p1, c["tp"]], real)
        b.send(BUS_MEM, [word, n0, n1, now], real)
        b.send(BUS_RANGE16, [now - c["tp"] - 1 - LIMB * c["e"]], real)
        b.send(BUS_U8, [c["e"]], real)
        b.send(BUS_BYTEPAIR, [lb, hb], real)
        # v0 is a canonical limb (a register's, or a loaded value): d0 is its low byte.
        b.send(BUS_BYTEPAIR, [c["d0"], (v0 - c["d0"]) * INV_256], real)
        rest = c["top"] - 128 * t
        b.send(BUS_BYTEPAIR, [rest, 2 * rest], signed)


BOUNDARY_COLUMNS: tuple[str, ...] = (
    "is_real",
    "is_img",  # the word is initialised by the image (its value comes from RamImageAir)
    "word",
    "i0",
    "i1",  # initial value
    "f0",
    "f1",
    "ft",  # final value and time
    "has_next",  # the next row is real
    "dlo",
    "dhi",  # next word - word - 1 = dlo + 2^16 dhi: words strictly increase
    "wh",  # word = lo + 2^16 wh with lo 16-bit, wh 8-bit: words are below 2^24
)
_BOUNDARY_INDEX = {name: i for i, name in enumerate(BOUNDARY_COLUMNS)}


def boundary_col(name: str) -> int:
    return _BOUNDARY_INDEX[name]


class MemBoundaryAir(Air):
    """RAM boundary: one row per touched word and per image word, words strictly increasing.

    Each row sends the word's initial (value, time 0) and receives its final (value, time).
    Because words are unique, the image table's one send per image word lands on that word's
    only row, so initial values are the image's; every other word starts at 0.
    """

    name = "zkvm_mem_boundary_v1"
    width = len(BOUNDARY_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _BOUNDARY_INDEX.items()}
        nx = {n: b.next[i] for n, i in _BOUNDARY_INDEX.items()}
        real, img = c["is_real"], c["is_img"]
        b.assert_bool(real)
        b.assert_bool(img)
        b.assert_zero(img * (1 - real))
        b.assert_zero((1 - img) * c["i0"])
        b.assert_zero((1 - img) * c["i1"])
        b.when_transition(nx["is_real"] * (1 - real))
        b.when_transition(c["has_next"] - nx["is_real"])
        b.when_last_row(c["has_next"])
        b.when_transition(c["has_next"] * (nx["word"] - c["word"] - 1 - c["dlo"] - LIMB * c["dhi"]))
        b.send(BUS_RANGE16, [c["dlo"]], c["has_next"])
        b.send(BUS_U8, [c["dhi"]], c["has_next"])
        # Without a bound on the words, steps below 2^24 could wrap around p after ~120 rows
        # and repeat a word (a second initial value for it); below 2^24 they cannot.
        b.send(BUS_RANGE16, [c["word"] - LIMB * c["wh"]], real)
        b.send(BUS_U8, [c["wh"]], real)
        b.send(BUS_MEM, [c["word"], c["i0"], c["i1"], 0], real)
        b.receive(BUS_MEM, [c["word"], c["f0"], c["f1"], c["ft"]], real)
        b.receive(BUS_RAMIMG, [c["word"], c["i0"], c["i1"]], img)


class RamImageAir(Air):
    """The image's initialised RAM words (preprocessed): each sent exactly once."""

    width = 1  # unused main column (the framework needs one)
    preprocessed_width = 4  # valid, word, value lo, value hi
    num_public_values = 0

    def __init__(self, table: npt.NDArray[np.uint32], image_hex: str) -> None:
        self.name = f"zkvm_ram_image_v1_{image_hex}"
        self._table = np.ascontiguousarray(table, dtype=np.uint32)
        self.log_height = int(self._table.shape[0]).bit_length() - 1

    def eval(self, b: AirBuilder) -> None:
        valid, word, v0, v1 = b.prep_local
        b.assert_zero(b.local[0])
        b.send(BUS_RAMIMG, [word, v0, v1], valid)

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != self.log_height:
            raise ValueError("the RAM image table has a fixed height")
        return self._table


BIT_COLUMNS: tuple[str, ...] = (
    "is_and",
    "is_or",
    "is_xor",
    *(f"x{i}" for i in range(4)),  # bytes of a
    *(f"y{i}" for i in range(4)),  # bytes of b
    *(f"and{i}" for i in range(4)),
    *(f"or{i}" for i in range(4)),
    *(f"xor{i}" for i in range(4)),
)
_BIT_INDEX = {name: i for i, name in enumerate(BIT_COLUMNS)}


def bit_col(name: str) -> int:
    return _BIT_INDEX[name]


class BitwiseChipAir(Air):
    """Bitwise chip: one row per AND/OR/XOR(I), received from the CPU on BUS_BITOP.

    The operands are split into bytes; each byte pair is looked up in the byte table, which
    also fixes the bytes' ranges and returns all three results; the op flag picks one.
    """

    name = "zkvm_bitwise_chip_v1"
    width = len(BIT_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _BIT_INDEX.items()}
        f_and, f_or, f_xor = c["is_and"], c["is_or"], c["is_xor"]
        for flag in (f_and, f_or, f_xor):
            b.assert_bool(flag)
        real = f_and + f_or + f_xor
        b.assert_bool(real)
        x = [c[f"x{i}"] for i in range(4)]
        y = [c[f"y{i}"] for i in range(4)]
        z = [f_and * c[f"and{i}"] + f_or * c[f"or{i}"] + f_xor * c[f"xor{i}"] for i in range(4)]
        a0, a1 = x[0] + 256 * x[1], x[2] + 256 * x[3]
        b0, b1 = y[0] + 256 * y[1], y[2] + 256 * y[3]
        r0, r1 = z[0] + 256 * z[1], z[2] + 256 * z[3]
        op = f_and + 2 * f_or + 3 * f_xor
        b.receive(BUS_BITOP, [a0, a1, b0, b1, r0, r1, op], real)
        for i in range(4):
            vals: list[ExprLike] = [x[i], y[i], c[f"and{i}"], c[f"or{i}"], c[f"xor{i}"]]
            b.send(BUS_BYTEOP, vals, real)


MUL_COLUMNS: tuple[str, ...] = (
    "is_low",  # MUL, SLLI: the low word
    "is_hu",  # MULHU, SRLI: high word, both unsigned
    "is_h",  # MULH: high word, both signed
    "is_hsu",  # MULHSU, SRAI: high word, a signed, b unsigned
    *(f"x{i}" for i in range(4)),  # bytes of a
    *(f"m{i}" for i in range(4)),  # bytes of b
    *(f"r{i}" for i in range(8)),  # bytes of the 64-bit product
    *(f"k{i}" for i in range(8)),  # column carries
    "ta",
    "ra",  # x3 = 128 ta + ra, ra < 128: ta is a's top bit
    "tb",
    "rb",
)
_MUL_INDEX = {name: i for i, name in enumerate(MUL_COLUMNS)}


def mul_col(name: str) -> int:
    return _MUL_INDEX[name]


class MulChipAir(Air):
    """Multiplication chip: one row per MUL/MULH/MULHU/MULHSU/SLLI/SRLI/SRAI, from BUS_MUL.

    Schoolbook multiplication in bytes (products of 16-bit limbs would overflow p) of the
    operands sign-extended to 64 bits (bytes 4..7 are 255 times the sign bit, which is 0 for an
    unsigned operand), so the product mod 2^64 is the signed or unsigned 64-bit product. Column
    k sums x_i m_j over i + j = k plus the carry in and equals r_k + 256 k_k; every column sum
    is below 2^20, bytes are range-checked in pairs and carries below 2^15, so each equation
    holds over the integers and fixes r_k. The CPU gets the low or the high word.
    Shifts by a constant reach this chip through the program table's immediate: SLLI by s is
    MUL by 2^s, SRLI by s >= 1 is MULHU by 2^(32 - s), SRAI by s >= 1 is MULHSU by 2^(32 - s).
    """

    name = "zkvm_mul_chip_v2"
    width = len(MUL_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _MUL_INDEX.items()}
        flags = [c["is_low"], c["is_hu"], c["is_h"], c["is_hsu"]]
        for flag in flags:
            b.assert_bool(flag)
        real = flags[0] + flags[1] + flags[2] + flags[3]
        b.assert_bool(real)
        b.assert_bool(c["ta"])
        b.assert_bool(c["tb"])
        b.assert_zero(c["x3"] - 128 * c["ta"] - c["ra"])
        b.assert_zero(c["m3"] - 128 * c["tb"] - c["rb"])
        sa = c["ta"] * (c["is_h"] + c["is_hsu"])
        sb = c["tb"] * c["is_h"]
        x: list[Expr] = [c[f"x{i}"] for i in range(4)] + [255 * sa] * 4
        m: list[Expr] = [c[f"m{i}"] for i in range(4)] + [255 * sb] * 4
        r = [c[f"r{i}"] for i in range(8)]
        k = [c[f"k{i}"] for i in range(8)]
        carry_in: Expr | int = 0
        for col in range(8):
            total = carry_in
            for i in range(col + 1):
                total = x[i] * m[col - i] + total
            b.assert_zero(total - r[col] - 256 * k[col])
            carry_in = k[col]
        low = c["is_low"]
        res0 = low * (r[0] + 256 * r[1]) + (1 - low) * (r[4] + 256 * r[5])
        res1 = low * (r[2] + 256 * r[3]) + (1 - low) * (r[6] + 256 * r[7])
        op = c["is_hu"] + 2 * c["is_h"] + 3 * c["is_hsu"]
        values: list[ExprLike] = [
            x[0] + 256 * x[1],
            x[2] + 256 * x[3],
            m[0] + 256 * m[1],
            m[2] + 256 * m[3],
            res0,
            res1,
            op,
        ]
        b.receive(BUS_MUL, values, real)
        pairs = [(x[0], x[1]), (x[2], x[3]), (m[0], m[1]), (m[2], m[3])]
        pairs += [(r[2 * j], r[2 * j + 1]) for j in range(4)]
        # ra < 128: both ra and 2 ra are bytes.
        pairs += [(c["ra"], 2 * c["ra"]), (c["rb"], 2 * c["rb"])]
        for lo, hi in pairs:
            b.send(BUS_BYTEPAIR, [lo, hi], real)
        for carry in k:
            b.send(BUS_U15, [carry], real)


SHIFT_COLUMNS: tuple[str, ...] = (
    "is_sll",
    "is_srl",
    "is_sra",
    "a0",
    "a1",
    "b0",
    "b1",
    "r0",
    "r1",
    "s",  # b0 = s + 32 hi: the shift amount
    "hi",
    "p_lo",
    "p_hi",  # 2^s
    "q_lo",
    "q_hi",  # 2^(32 - s) for s >= 1
    "z",  # s == 0
)
_SHIFT_INDEX = {name: i for i, name in enumerate(SHIFT_COLUMNS)}


def shift_col(name: str) -> int:
    return _SHIFT_INDEX[name]


class ShiftChipAir(Air):
    """Shifts by a register: one row per SLL/SRL/SRA, from the CPU on BUS_SHIFT.

    The amount s = rs2 mod 32 comes from b0 = s + 32 hi (s from the 32-row power table, which
    also gives 2^s and 2^(32-s); hi 15-bit, and b0 is a canonical 16-bit limb, so the split is
    unique). The product goes to the multiplication chip: SLL is the low word of a 2^s, SRL
    the unsigned and SRA the signed x unsigned high word of a 2^(32-s); a right shift by 0 is
    a copy (2^32 has no 32-bit form).
    """

    name = "zkvm_shift_chip_v1"
    width = len(SHIFT_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _SHIFT_INDEX.items()}
        sll, srl, sra = c["is_sll"], c["is_srl"], c["is_sra"]
        for flag in (sll, srl, sra):
            b.assert_bool(flag)
        real = sll + srl + sra
        b.assert_bool(real)
        right = srl + sra
        b.assert_zero(c["b0"] - c["s"] - 32 * c["hi"])
        b.assert_zero(right * c["z"] * (c["r0"] - c["a0"]))
        b.assert_zero(right * c["z"] * (c["r1"] - c["a1"]))
        op = sll + 2 * srl + 3 * sra
        b.receive(BUS_SHIFT, [c["a0"], c["a1"], c["b0"], c["b1"], c["r0"], c["r1"], op], real)
        pw: list[ExprLike] = [c["s"], c["p_lo"], c["p_hi"], c["q_lo"], c["q_hi"], c["z"]]
        b.send(BUS_POW2, pw, real)
        b.send(BUS_U15, [c["hi"]], real)
        m0 = sll * c["p_lo"] + right * c["q_lo"]
        m1 = sll * c["p_hi"] + right * c["q_hi"]
        mul_op = srl + 3 * sra
        values: list[ExprLike] = [c["a0"], c["a1"], m0, m1, c["r0"], c["r1"], mul_op]
        b.send(BUS_MUL, values, sll + right * (1 - c["z"]))


class Pow2Air(Air):
    """The 32-row power table (preprocessed): rows (s, 2^s, 2^(32-s), s == 0), limbs split."""

    name = "zkvm_pow2_v1"
    width = 1  # lookup multiplicity
    preprocessed_width = 6
    num_public_values = 0
    log_height = 5

    def eval(self, b: AirBuilder) -> None:
        b.receive(BUS_POW2, list(b.prep_local), b.local[0])

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != self.log_height:
            raise ValueError("the power table has 32 rows")
        s = np.arange(32, dtype=np.int64)
        p = np.left_shift(np.int64(1), s)
        q = np.where(s == 0, 0, np.left_shift(np.int64(1), (32 - s) & 63))
        cols = [s, p & 0xFFFF, p >> 16, q & 0xFFFF, q >> 16, (s == 0).astype(np.int64)]
        return np.stack(cols, axis=1).astype(np.uint32)


DIV_COLUMNS: tuple[str, ...] = (
    "is_divu",  # DIVU or DIV: the quotient is the result
    "is_remu",  # REMU or REM: the remainder is the result
    "a0",
    "a1",
    "b0",
    "b1",
    "q0",
    "q1",
    "r0",
    "r1",
    "bz",  # b == 0
    "lo0",
    "lo1",  # low word of q b
    "cy0",  # carry of lo + r = a + 2^32 cy1
    "d0",
    "d1",  # |b| - |r| - 1 >= 0
    "e0",  # carry (-1, 0 or 1) between the limbs of the |r| < |b| check
    "signed",  # DIV, REM
    "as",  # sign bits of a, b, r (0 for DIVU/REMU)
    "bs",
    "rs",
    "cy1",  # carry out of lo + r
    "t",  # the high word of q b is 2^32 t - (cy1 + as - rs)
    "ov",  # DIV/REM of INT_MIN by -1
)
_DIV_INDEX = {name: i for i, name in enumerate(DIV_COLUMNS)}

INT_MIN_HI = 0x8000  # high limb of INT_MIN = 0x8000_0000


def div_col(name: str) -> int:
    return _DIV_INDEX[name]


class DivChipAir(Air):
    """Division chip: one row per DIVU/REMU/DIV/REM, from the CPU on BUS_DIV.

    Three branches, selected by booleans:
    - bz (b = 0): the spec's q = -1 (all ones), r = a;
    - ov (DIV/REM of INT_MIN by -1): q = INT_MIN, r = 0;
    - otherwise: q b + r = a as 64-bit words (signed for DIV/REM: the high word of q b comes
      from the multiplication chip as MULH, and r, a are sign-extended), which holds over the
      integers because both sides are far below 2^63; |r| < |b| as
      |b| + (2^32 - |r|) - 1 = 2^32 + d with d range-checked; r's sign is a's (or r = 0).
      Those fix the truncating quotient and its remainder. Neither b = 0 nor INT_MIN / -1
      has a witness here, so the prover cannot choose the branch.
    Signs (as, bs) come from the high limbs (x1 - 2^15 s is 15-bit); rs needs no lookup: the
    |r| < |b| check holds only if rs is r's top bit. Unsigned rows have all signs 0.
    """

    name = "zkvm_div_chip_v2"
    width = len(DIV_COLUMNS)
    num_public_values = 0

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _DIV_INDEX.items()}
        divu, remu, signed = c["is_divu"], c["is_remu"], c["signed"]
        for flag in (divu, remu, signed):
            b.assert_bool(flag)
        real = divu + remu
        b.assert_bool(real)
        b.assert_zero(signed * (1 - real))
        a_s, b_s, r_s = c["as"], c["bs"], c["rs"]
        for bit in (a_s, b_s, r_s, c["cy0"], c["cy1"], c["t"], c["bz"], c["ov"]):
            b.assert_bool(bit)
        # Unsigned rows: every operand is non-negative, and no overflow case.
        for bit in (a_s, b_s, r_s, c["ov"]):
            b.assert_zero((1 - signed) * bit)
        b.send(BUS_U15, [c["a1"] - SIGN_BIT * a_s], signed)
        b.send(BUS_U15, [c["b1"] - SIGN_BIT * b_s], signed)
        # r has a's sign, or is 0.
        b.assert_zero(r_s * (1 - a_s))
        b.assert_zero((a_s - r_s) * (c["r0"] + c["r1"]))

        bz = c["bz"]
        b.assert_zero(bz * (c["b0"] + c["b1"]))  # both 16-bit: the sum is 0 iff b = 0
        b.assert_zero(bz * (c["q0"] - 0xFFFF))
        b.assert_zero(bz * (c["q1"] - 0xFFFF))
        b.assert_zero(bz * (c["r0"] - c["a0"]))
        b.assert_zero(bz * (c["r1"] - c["a1"]))
        ov = c["ov"]
        for limb, value in (
            ("a0", 0),
            ("a1", INT_MIN_HI),
            ("b0", 0xFFFF),
            ("b1", 0xFFFF),
            ("q0", 0),
            ("q1", INT_MIN_HI),
            ("r0", 0),
            ("r1", 0),
        ):
            b.assert_zero(ov * (c[limb] - value))

        normal = 1 - bz - ov
        # lo + r = a + 2^32 cy1, limb by limb.
        b.assert_zero(normal * (c["lo0"] + c["r0"] - c["a0"] - LIMB * c["cy0"]))
        b.assert_zero(normal * (c["lo1"] + c["r1"] + c["cy0"] - c["a1"] - LIMB * c["cy1"]))
        # |r| < |b|: with bm = b or ~b and rn = ~r or r (limb-wise complements),
        # bm + bs = |b| and rn - rs = 2^32 - 1 - |r|, so their sum is 2^32 + d exactly.
        e0 = c["e0"]
        b.assert_zero(e0 * (e0 - 1) * (e0 + 1))

        def flip(x: Expr, s: Expr) -> Expr:
            return x + s * (0xFFFF - 2 * x)  # x, or 0xFFFF - x when s = 1

        bm0, bm1 = flip(c["b0"], b_s), flip(c["b1"], b_s)
        rn0, rn1 = flip(c["r0"], 1 - r_s), flip(c["r1"], 1 - r_s)
        b.assert_zero(normal * (bm0 + rn0 + b_s - r_s - c["d0"] - LIMB * e0))
        b.assert_zero(normal * (bm1 + rn1 + e0 - c["d1"] - LIMB))

        res0 = divu * c["q0"] + remu * c["r0"]
        res1 = divu * c["q1"] + remu * c["r1"]
        op = remu + 2 * signed
        values: list[ExprLike] = [c["a0"], c["a1"], c["b0"], c["b1"], res0, res1, op]
        b.receive(BUS_DIV, values, real)
        # The high word of q b (unsigned for DIVU/REMU, signed for DIV/REM) is
        # -(cy1 + as - rs) mod 2^32, so the 64-bit sum q b + r equals a sign-extended.
        u = c["cy1"] + a_s - r_s
        hi0 = LIMB * c["t"] - u
        hi1 = (LIMB - 1) * c["t"]
        q_b: list[ExprLike] = [c["q0"], c["q1"], c["b0"], c["b1"]]
        b.send(BUS_MUL, [*q_b, c["lo0"], c["lo1"], 0], real * normal)
        b.send(BUS_MUL, [*q_b, hi0, hi1, 1 + signed], real * normal)
        for limb in ("q0", "q1", "r0", "r1", "d0", "d1"):
            b.send(BUS_RANGE16, [c[limb]], real)
