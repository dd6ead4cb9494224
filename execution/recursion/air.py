"""The recursion AIR: the tables that prove one run of a verifier program (program.py).

Every table talks to one LogUp bus, the memory bus. A cell is written by exactly one row (the
instruction that produces it) and read by any number of rows:
- a read SENDS (address, value) with multiplicity 1 (gated by a preprocessed flag, so padding
  rows and unused operands read nothing);
- a write RECEIVES (address, value) with multiplicity `mult`, a main column that the prover
  fills with the number of reads of that cell, gated by a preprocessed flag so that a padding
  row (or an unused output) can never write.
The bus balances only if every read matches the unique write of its address with the same value.
Write addresses are preprocessed, and program.check makes them distinct, so no cell can have a
second writer. A base value (limbs 1..3 zero) is sent as (address, v): its fingerprint equals
that of (address, v, 0, 0, 0), so reading a cell as base forces its upper limbs to be zero.

The program is held in PREPROCESSED columns (opcode flags, operand addresses, immediates): the
verifier computes them from the program, so a proof binds the program through the preprocessed
commitment. The constraints do not depend on the program; one AIR description (per table height)
covers every program. Each table's `Air` instance carries its program's preprocessed matrix.

Tables (columns: P = preprocessed, M = main):
- memory init (CONST, INPUT): P addr, is_const, is_input, imm0..3; M v, mult.
- arithmetic (ADD, SUB, MUL, INV, ASSERT_EQ; FMA = a MUL fused into the ADD reading it):
  P addr_a, addr_b, addr_d, six op flags, addr_c; M a[4], b[4], d[4], mult, c[4].
- Poseidon2 (POSEIDON2): P in_addr[16], out_addr0, is_real, is_swap, addr_c; M the Poseidon2
  permutation AIR's columns, mult[16], raw[16], c. Outputs are consecutive cells (program.py
  numbers cells in write order); in swap mode the input is raw with its halves exchanged if c.
- bits (BITS): P addr_a, out_addr0, is_real, is_canonical, active[31]; M a, bits[31], t1, t2,
  mult[31].
- select (SELECT): P addr_c, addr_a, addr_b, addr_d, is_real; M c, a[4], b[4], d[4], mult.
- output (OUTPUT): one real row; P addr[K], is_real; M v[K][4]; the values equal the public
  values (4 per output cell).
All constraints have degree at most 3, so every table's quotient has 2 chunks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.air.expr import Expr
from execution.stark.examples.poseidon2_air import OUTPUT_COLUMNS as P2_OUTPUT_COLUMNS
from execution.stark.examples.poseidon2_air import WIDTH as P2_WIDTH
from execution.stark.examples.poseidon2_air import Poseidon2Air
from execution.stark.extension import W

__all__ = [
    "ARITH_OPS",
    "MAX_BITS",
    "MEMORY_BUS",
    "ArithAir",
    "BitsAir",
    "MemoryInitAir",
    "OutputAir",
    "Poseidon2TableAir",
    "ProgramTableAir",
    "SelectAir",
]

MEMORY_BUS = 0
MAX_BITS = 31
# bits 27..30 of p - 1 = 15 * 2^27 are set: a 31-bit value with those four bits set is below p
# only if its low 27 bits are zero.
_CANON_HIGH = (27, 28, 29, 30)
ARITH_OPS = ("add", "sub", "mul", "inv", "assert_eq")

U32 = npt.NDArray[np.uint32]


def ext_mul_expr(a: list[Expr], b: list[Expr]) -> list[Expr]:
    """Coefficients of a * b in BabyBear^4 = F[X]/(X^4 - W)."""
    out = []
    for k in range(4):
        acc = a[0] * b[k]
        for i in range(1, 4):
            j = k - i
            acc = acc + (a[i] * b[j] if j >= 0 else W * (a[i] * b[j + 4]))
        out.append(acc)
    return out


class ProgramTableAir(Air):
    """A table whose preprocessed columns hold (part of) a program.

    `prep` is the program's preprocessed matrix at the table's height, or None for an AIR used
    only for its constraint structure (compilation).
    """

    def __init__(self, prep: U32 | None = None) -> None:
        if prep is not None and (prep.ndim != 2 or prep.shape[1] != self.preprocessed_width):
            raise ValueError(f"{self.name}: preprocessed matrix has the wrong width")
        self.prep = prep

    def preprocessed_trace(self, log_n: int) -> U32:
        if self.prep is None or self.prep.shape[0] != 1 << log_n:
            raise ValueError(f"{self.name}: no program laid out at height 2^{log_n}")
        return self.prep


class MemoryInitAir(ProgramTableAir):
    """CONST and INPUT: cells whose value comes from the program or from the prover."""

    name = "recursion_memory_init"
    width = 2
    preprocessed_width = 7

    def eval(self, b: AirBuilder) -> None:
        addr, is_const, is_input, *imm = b.prep_local
        v, mult = b.local
        b.assert_zero(is_const * (v - imm[0]))
        # An INPUT row's upper limbs are the preprocessed zeros: an input word is a base value.
        b.receive(MEMORY_BUS, [addr, v, imm[1], imm[2], imm[3]], (is_const + is_input) * mult)


class ArithAir(ProgramTableAir):
    """ADD, SUB, MUL, INV (d = a^-1: a * d = 1), ASSERT_EQ and FMA over BabyBear^4 cells.

    FMA (d = a * b + c) is the layout's fusion of a MUL whose product is read by nothing but one
    ADD: the row reads a, b and c and writes the ADD's cell; the product cell is never read, so
    never written. The fourth bus term shares a LogUp helper column with the write, so FMA costs
    5 columns per row (c and two fixed columns) and saves a row per fused pair.
    """

    name = "recursion_arith"
    width = 17
    preprocessed_width = 10

    def eval(self, b: AirBuilder) -> None:
        addr_a, addr_b, addr_d, is_add, is_sub, is_mul, is_inv, is_assert = b.prep_local[0:8]
        is_fma, addr_c = b.prep_local[8], b.prep_local[9]
        a, bb, d = b.local[0:4], b.local[4:8], b.local[8:12]
        mult = b.local[12]
        c = b.local[13:17]
        ab = ext_mul_expr(a, bb)
        ad = ext_mul_expr(a, d)
        # The op flags are one-hot on real rows and zero on padding rows (the verifier computes
        # them), so one constraint per limb covers every op.
        for k in range(4):
            one = 1 if k == 0 else 0
            b.assert_zero(
                is_add * (d[k] - a[k] - bb[k])
                + is_sub * (d[k] - a[k] + bb[k])
                + is_mul * (d[k] - ab[k])
                + is_inv * (ad[k] - one)
                + is_assert * (a[k] - bb[k])
                + is_fma * (d[k] - ab[k] - c[k])
            )
        reads_b = is_add + is_sub + is_mul + is_assert + is_fma
        writes = is_add + is_sub + is_mul + is_inv + is_fma
        b.send(MEMORY_BUS, [addr_a, *a], reads_b + is_inv)
        b.send(MEMORY_BUS, [addr_b, *bb], reads_b)
        b.receive(MEMORY_BUS, [addr_d, *d], writes * mult)
        b.send(MEMORY_BUS, [addr_c, *c], is_fma)


class Poseidon2TableAir(ProgramTableAir):
    """POSEIDON2: one permutation per row, the Poseidon2 example AIR's columns and constraints.

    A row reads 16 raw cells r and, in swap mode, a bit c; the permutation's input is r with its
    halves exchanged when c = 1. Swap mode is the layout's fusion of a Merkle step: the 16
    SELECTs that order (node, sibling) by a path bit and are read by nothing but this
    permutation get no rows of their own (their cells are never read, so never written).
    """

    name = "recursion_poseidon2"
    width = P2_WIDTH + 16 + 16 + 1
    preprocessed_width = 20

    def eval(self, b: AirBuilder) -> None:
        # Poseidon2Air reads its columns from the front of b.local; ours follow them.
        Poseidon2Air().eval(b)
        in_addr = b.prep_local[0:16]
        out0, is_real, is_swap, addr_c = b.prep_local[16:20]
        mults = b.local[P2_WIDTH : P2_WIDTH + 16]
        raw = b.local[P2_WIDTH + 16 : P2_WIDTH + 32]
        c = b.local[P2_WIDTH + 32]
        b.assert_bool(c)
        # No swap outside swap mode (padding rows included).
        b.assert_zero((1 - is_swap) * c)
        for i in range(16):
            r, other = raw[i], raw[i ^ 8]
            b.assert_zero(b.local[i] - (r + c * (other - r)))
        for i in range(16):
            b.send(MEMORY_BUS, [in_addr[i], raw[i]], is_real)
        b.send(MEMORY_BUS, [addr_c, c], is_swap)
        for i in range(16):
            out = b.local[P2_OUTPUT_COLUMNS[i]]
            b.receive(MEMORY_BUS, [out0 + i, out], is_real * mults[i])


class BitsAir(ProgramTableAir):
    """BITS: d_i = bit i of limb 0 of a (n <= 31 bits; canonical when n = 31)."""

    name = "recursion_bits"
    width = 1 + MAX_BITS + 2 + MAX_BITS
    preprocessed_width = 4 + MAX_BITS

    def eval(self, b: AirBuilder) -> None:
        addr_a, out0, is_real, is_canon = b.prep_local[0:4]
        active = b.prep_local[4 : 4 + MAX_BITS]
        a = b.local[0]
        bits = b.local[1 : 1 + MAX_BITS]
        t1, t2 = b.local[1 + MAX_BITS], b.local[2 + MAX_BITS]
        mults = b.local[3 + MAX_BITS : 3 + 2 * MAX_BITS]
        total: Expr = a * 0
        for i, bit in enumerate(bits):
            b.assert_bool(bit)
            # Bits beyond n are zero, so the sum below is the n-bit value.
            b.assert_zero((1 - active[i]) * bit)
            total = total + (1 << i) * bit
        # Padding rows are all zero and satisfy this without a flag.
        b.assert_zero(a - total)
        h = [bits[i] for i in _CANON_HIGH]
        b.assert_zero(t1 - h[0] * h[1])
        b.assert_zero(t2 - t1 * h[2] * h[3])
        low: Expr = a * 0
        for i in range(_CANON_HIGH[0]):
            low = low + bits[i]
        # n = 31: the sum is an integer below 2^31 < 2p; it is the canonical a only if it is < p.
        b.assert_zero(is_canon * t2 * low)
        b.send(MEMORY_BUS, [addr_a, a], is_real)
        for i in range(MAX_BITS):
            b.receive(MEMORY_BUS, [out0 + i, bits[i]], active[i] * mults[i])


class SelectAir(ProgramTableAir):
    """SELECT: d = b + c * (a - b), c in {0, 1} (read as a base value)."""

    name = "recursion_select"
    width = 14
    preprocessed_width = 5

    def eval(self, b: AirBuilder) -> None:
        addr_c, addr_a, addr_b, addr_d, is_real = b.prep_local
        c = b.local[0]
        a, bb, d = b.local[1:5], b.local[5:9], b.local[9:13]
        mult = b.local[13]
        # The program takes c from BITS, but the AIR does not trust that: a non-bit condition
        # would select an affine combination the interpreter rejects.
        b.assert_bool(c)
        for k in range(4):
            b.assert_zero(d[k] - bb[k] - c * (a[k] - bb[k]))
        b.send(MEMORY_BUS, [addr_c, c], is_real)
        b.send(MEMORY_BUS, [addr_a, *a], is_real)
        b.send(MEMORY_BUS, [addr_b, *bb], is_real)
        b.receive(MEMORY_BUS, [addr_d, *d], is_real * mult)


class OutputAir(ProgramTableAir):
    """OUTPUT: one real row reading every exposed cell; its values are the public values."""

    def __init__(self, num_outputs: int, prep: U32 | None = None) -> None:
        if num_outputs < 1:
            raise ValueError("the output table needs at least one output")
        self.num_outputs = num_outputs
        self.name = f"recursion_output{num_outputs}"
        self.width = 4 * num_outputs
        self.preprocessed_width = num_outputs + 1
        self.num_public_values = 4 * num_outputs
        super().__init__(prep)

    def eval(self, b: AirBuilder) -> None:
        is_real = b.prep_local[self.num_outputs]
        for k in range(self.num_outputs):
            v = b.local[4 * k : 4 * k + 4]
            for j in range(4):
                b.assert_zero(is_real * (v[j] - b.public[4 * k + j]))
            b.send(MEMORY_BUS, [b.prep_local[k], *v], is_real)
