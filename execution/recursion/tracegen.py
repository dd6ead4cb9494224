"""Lay a verifier program out in the recursion tables and fill their traces from a run.

`layout(program, shape)` is the program's part, independent of inputs: which row of which table
each instruction occupies and the preprocessed matrices (the verifying key's data).
`generate(lay, inputs)` runs the program on its input words (`execute`) and fills every main
trace: operand values are gathered from the cell array by address in one numpy pass per table,
the Poseidon2 columns come from the vectorized Poseidon2 trace builder, and each write's
multiplicity is the number of reads of its cell (one bincount over every read address).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.recursion.air import MAX_BITS
from execution.recursion.program import Instruction, Op, Program
from execution.stark.examples.poseidon2_air import WIDTH as P2_WIDTH
from execution.stark.examples.poseidon2_air import poseidon2_trace
from execution.stark.extension import W
from execution.stark.field import P
from execution.stark.poseidon2 import permute

__all__ = [
    "MIN_LOG_HEIGHT",
    "TABLES",
    "ExecutionError",
    "Layout",
    "Shape",
    "ShapeError",
    "execute",
    "fill",
    "generate",
    "layout",
    "minimal_shape",
]

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

# Table order in every proof; the output table exists only when the program has outputs.
TABLES = ("memory_init", "arith", "poseidon2", "bits", "select", "output")
MIN_LOG_HEIGHT = 1
_TABLE_OF = {
    Op.CONST: "memory_init",
    Op.INPUT: "memory_init",
    Op.ADD: "arith",
    Op.SUB: "arith",
    Op.MUL: "arith",
    Op.INV: "arith",
    Op.ASSERT_EQ: "arith",
    Op.POSEIDON2: "poseidon2",
    Op.BITS: "bits",
    Op.SELECT: "select",
    Op.OUTPUT: "output",
}
_ARITH_FLAG = {Op.ADD: 3, Op.SUB: 4, Op.MUL: 5, Op.INV: 6, Op.ASSERT_EQ: 7}
_FMA_FLAG = 8


class ExecutionError(ValueError):
    """The program cannot run on these inputs (a failed assertion, a zero inverted, a value that
    does not fit its bits, a bad input word)."""


class ShapeError(ValueError):
    """A program does not fit the table heights asked for."""


@dataclass(frozen=True)
class Shape:
    """The fixed part of a recursion proof: each table's log height and the number of outputs.

    One shape is one set of AIRs (one verifying key up to the preprocessed columns).
    """

    log_heights: tuple[int, ...]  # memory_init, arith, poseidon2, bits, select
    num_outputs: int

    def tables(self) -> tuple[str, ...]:
        return TABLES if self.num_outputs else TABLES[:-1]

    def all_log_heights(self) -> tuple[int, ...]:
        return (*self.log_heights, MIN_LOG_HEIGHT) if self.num_outputs else self.log_heights


@dataclass
class Layout:
    """A program placed in the tables: per table, the instruction index of each real row, and
    the preprocessed matrices at the shape's heights."""

    program: Program
    shape: Shape
    rows: dict[str, I64]
    preps: list[U32]


def _log2_ceil(n: int) -> int:
    return max(MIN_LOG_HEIGHT, (max(n, 1) - 1).bit_length())


Fusion = dict[int, tuple[int, tuple[int, ...]]]


def _fuse_merkle_steps(program: Program, writer: I64, reads: I64) -> tuple[Fusion, set[int]]:
    """POSEIDON2 instructions whose 16 inputs are a Merkle pair ordered by SELECTs on one bit.

    The pattern (the recorder's Merkle step): left_i = SELECT(c, s_i, n_i), right_i =
    SELECT(c, n_i, s_i), POSEIDON2(left_0..7, right_0..7), each SELECT read by that POSEIDON2
    only. Returns {POSEIDON2 index: (c, raw inputs n_0..7, s_0..7)} and the fused SELECTs'
    indices: the Poseidon2 row reads the raw cells and c and swaps the halves itself, so the
    SELECTs need no rows (their cells are read by nothing the AIR proves).
    """
    ins = program.instructions
    fusion: Fusion = {}
    fused: set[int] = set()
    for j, x in enumerate(ins):
        if x.op != Op.POSEIDON2:
            continue
        sels = [ins[int(writer[a])] for a in x.ins]
        if any(y.op != Op.SELECT for y in sels) or any(reads[a] != 1 for a in x.ins):
            continue
        c = sels[0].ins[0]
        lefts, rights = sels[:8], sels[8:]
        if any(y.ins[0] != c for y in sels) or any(
            r.ins[1:] != (le.ins[2], le.ins[1]) for le, r in zip(lefts, rights, strict=True)
        ):
            continue
        raw = tuple(le.ins[2] for le in lefts) + tuple(le.ins[1] for le in lefts)
        fusion[j] = (c, raw)
        fused.update(int(writer[a]) for a in x.ins)
    return fusion, fused


Fma = dict[int, tuple[int, int, int]]


def _fuse_multiply_adds(
    program: Program, writer: I64, reads: I64, fused: set[int]
) -> tuple[Fma, set[int]]:
    """ADDs of a product that nothing else reads: {ADD index: (a, b, c)} with d = a * b + c,
    and the fused MULs' indices (their products are never read by the AIR, so never written)."""
    ins = program.instructions
    fma: Fma = {}
    muls: set[int] = set()
    for j, x in enumerate(ins):
        if x.op != Op.ADD or j in fused:
            continue
        for t, c in ((x.ins[0], x.ins[1]), (x.ins[1], x.ins[0])):
            m = int(writer[t])
            if ins[m].op == Op.MUL and reads[t] == 1 and t != c and m not in fused:
                fma[j] = (ins[m].ins[0], ins[m].ins[1], c)
                muls.add(m)
                break
    return fma, muls


def _rows_by_table(program: Program, fused: set[int]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {t: [] for t in TABLES}
    for i, ins in enumerate(program.instructions):
        if i not in fused:
            rows[_TABLE_OF[ins.op]].append(i)
    return rows


def _fusions(program: Program) -> tuple[Fusion, Fma, set[int]]:
    """Both fusions; `writer[cell]` is the instruction writing it, `reads[cell]` its reads."""
    writer = np.zeros(program.num_cells, dtype=np.int64)
    outs: list[int] = []
    owner: list[int] = []
    for i, x in enumerate(program.instructions):
        outs.extend(x.outs)
        owner.extend([i] * len(x.outs))
    writer[np.array(outs, dtype=np.int64)] = owner
    addrs = [a for x in program.instructions for a in x.ins]
    reads = np.bincount(np.array(addrs, dtype=np.int64), minlength=program.num_cells)
    swaps, fused = _fuse_merkle_steps(program, writer, reads)
    fma, muls = _fuse_multiply_adds(program, writer, reads, fused)
    return swaps, fma, fused | muls


def minimal_shape(program: Program) -> Shape:
    rows = _rows_by_table(program, _fusions(program)[2])
    return Shape(tuple(_log2_ceil(len(rows[t])) for t in TABLES[:-1]), len(rows["output"]))


def layout(program: Program, shape: Shape | None = None) -> Layout:
    """Check the program and lay it out at `shape` (the smallest heights when None)."""
    program.check()
    fusion, fma, fused = _fusions(program)
    rows = _rows_by_table(program, fused)
    if shape is None:
        shape = Shape(tuple(_log2_ceil(len(rows[t])) for t in TABLES[:-1]), len(rows["output"]))
    if len(shape.log_heights) != len(TABLES) - 1 or shape.num_outputs != len(rows["output"]):
        raise ShapeError("shape does not match the program's tables or number of outputs")
    for t, log_h in zip(TABLES, shape.log_heights, strict=False):
        if not MIN_LOG_HEIGHT <= log_h <= 26 or len(rows[t]) > 1 << log_h:
            raise ShapeError(f"{len(rows[t])} {t} rows do not fit height 2^{log_h}")
    ins = program.instructions
    heights = [1 << h for h in shape.all_log_heights()]
    preps: list[U32] = []
    for t, n in zip(shape.tables(), heights, strict=True):
        if t == "poseidon2":
            preps.append(_prep_poseidon2([(ins[i], fusion.get(i)) for i in rows[t]], n))
        elif t == "arith":
            preps.append(_prep_arith([(ins[i], fma.get(i)) for i in rows[t]], n))
        else:
            preps.append(_PREP_BUILDERS[t]([ins[i] for i in rows[t]], n))
    return Layout(program, shape, {t: np.array(rows[t], dtype=np.int64) for t in TABLES}, preps)


def _prep_memory_init(ins: list[Instruction], n: int) -> U32:
    m = np.zeros((n, 7), dtype=np.uint32)
    for r, x in enumerate(ins):
        m[r, 0] = x.outs[0]
        if x.op == Op.CONST:
            m[r, 1] = 1
            m[r, 3:7] = x.imm
        else:
            m[r, 2] = 1
    return m


def _prep_arith(items: list[tuple[Instruction, tuple[int, int, int] | None]], n: int) -> U32:
    m = np.zeros((n, 10), dtype=np.uint32)
    for r, (x, fma) in enumerate(items):
        if fma is not None:
            m[r, 0], m[r, 1], m[r, 9] = fma
            m[r, 2] = x.outs[0]
            m[r, _FMA_FLAG] = 1
            continue
        m[r, 0] = x.ins[0]
        if len(x.ins) > 1:
            m[r, 1] = x.ins[1]
        if x.outs:
            m[r, 2] = x.outs[0]
        m[r, _ARITH_FLAG[x.op]] = 1
    return m


def _prep_poseidon2(
    items: list[tuple[Instruction, tuple[int, tuple[int, ...]] | None]], n: int
) -> U32:
    m = np.zeros((n, 20), dtype=np.uint32)
    for r, (x, swap) in enumerate(items):
        m[r, 16] = x.outs[0]
        m[r, 17] = 1
        if swap is None:
            m[r, 0:16] = x.ins
        else:
            m[r, 0:16] = swap[1]
            m[r, 18] = 1
            m[r, 19] = swap[0]
    return m


def _prep_bits(ins: list[Instruction], n: int) -> U32:
    m = np.zeros((n, 4 + MAX_BITS), dtype=np.uint32)
    for r, x in enumerate(ins):
        nbits = x.imm[0]
        m[r, 0] = x.ins[0]
        m[r, 1] = x.outs[0]
        m[r, 2] = 1
        m[r, 3] = 1 if nbits == MAX_BITS else 0
        m[r, 4 : 4 + nbits] = 1
    return m


def _prep_select(ins: list[Instruction], n: int) -> U32:
    m = np.zeros((n, 5), dtype=np.uint32)
    for r, x in enumerate(ins):
        m[r, 0:3] = x.ins
        m[r, 3] = x.outs[0]
        m[r, 4] = 1
    return m


def _prep_output(ins: list[Instruction], n: int) -> U32:
    m = np.zeros((n, len(ins) + 1), dtype=np.uint32)
    m[0, : len(ins)] = [x.ins[0] for x in ins]
    m[0, len(ins)] = 1
    return m


# The Poseidon2 and arithmetic tables' builders also take the fusions (layout calls them).
_PREP_BUILDERS = {
    "memory_init": _prep_memory_init,
    "bits": _prep_bits,
    "select": _prep_select,
    "output": _prep_output,
}


# --- execution -------------------------------------------------------------------------------

Cell = tuple[int, int, int, int]


def _mul(a: Cell, b: Cell) -> Cell:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return (
        (a0 * b0 + W * (a1 * b3 + a2 * b2 + a3 * b1)) % P,
        (a0 * b1 + a1 * b0 + W * (a2 * b3 + a3 * b2)) % P,
        (a0 * b2 + a1 * b1 + a2 * b0 + W * a3 * b3) % P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P,
    )


def _inv(a: Cell) -> Cell:
    """a^-1 by the conjugate a(-X): a(X) a(-X) lies in F[X^2], where Y = X^2, Y^2 = W."""
    conj = (a[0], (-a[1]) % P, a[2], (-a[3]) % P)
    e = _mul(a, conj)  # (e0, 0, e2, 0) = e0 + e2 Y
    norm = (e[0] * e[0] - W * e[2] * e[2]) % P
    if norm == 0:
        raise ZeroDivisionError
    ni = pow(norm, P - 2, P)
    e_inv = (e[0] * ni % P, 0, (-e[2]) * ni % P, 0)
    return _mul(conj, e_inv)


def execute(program: Program, inputs: npt.ArrayLike) -> U32:
    """Run `program` on its input words; return every cell, (num_cells, 4)."""
    words = np.asarray(inputs)
    if words.ndim != 1 or words.shape[0] != program.num_inputs:
        raise ExecutionError(f"expected {program.num_inputs} input words")
    if words.size and (
        not np.issubdtype(words.dtype, np.integer) or int(words.min()) < 0 or int(words.max()) >= P
    ):
        raise ExecutionError("input words must be canonical field elements")
    vals = [int(v) for v in words]
    cells: list[Cell] = []
    for i, x in enumerate(program.instructions):
        op = x.op
        if op == Op.ADD:
            a, b = cells[x.ins[0]], cells[x.ins[1]]
            cells.append(
                ((a[0] + b[0]) % P, (a[1] + b[1]) % P, (a[2] + b[2]) % P, (a[3] + b[3]) % P)
            )
        elif op == Op.SUB:
            a, b = cells[x.ins[0]], cells[x.ins[1]]
            cells.append(
                ((a[0] - b[0]) % P, (a[1] - b[1]) % P, (a[2] - b[2]) % P, (a[3] - b[3]) % P)
            )
        elif op == Op.MUL:
            cells.append(_mul(cells[x.ins[0]], cells[x.ins[1]]))
        elif op == Op.CONST:
            cells.append((x.imm[0], x.imm[1], x.imm[2], x.imm[3]))
        elif op == Op.INPUT:
            cells.append((vals[x.imm[0]], 0, 0, 0))
        elif op == Op.SELECT:
            c, a, b = (cells[j] for j in x.ins)
            if c not in ((0, 0, 0, 0), (1, 0, 0, 0)):
                raise ExecutionError(f"instruction {i}: SELECT condition is not a bit")
            cells.append(a if c[0] else b)
        elif op == Op.ASSERT_EQ:
            if cells[x.ins[0]] != cells[x.ins[1]]:
                raise ExecutionError(f"instruction {i}: assertion failed {x.note}".rstrip())
        elif op == Op.POSEIDON2:
            state = [cells[j] for j in x.ins]
            if any(s[1] or s[2] or s[3] for s in state):
                raise ExecutionError(f"instruction {i}: POSEIDON2 input is not a base value")
            out = permute(np.array([[s[0] for s in state]], dtype=np.uint32))[0]
            cells.extend((int(v), 0, 0, 0) for v in out)
        elif op == Op.BITS:
            a = cells[x.ins[0]]
            nbits = x.imm[0]
            if a[1] or a[2] or a[3] or a[0] >> nbits:
                raise ExecutionError(f"instruction {i}: value does not fit {nbits} bits")
            cells.extend(((a[0] >> k) & 1, 0, 0, 0) for k in range(nbits))
        elif op == Op.INV:
            try:
                cells.append(_inv(cells[x.ins[0]]))
            except ZeroDivisionError:
                raise ExecutionError(
                    f"instruction {i}: inverse of zero {x.note}".rstrip()
                ) from None
        elif op == Op.OUTPUT:
            pass
        else:  # pragma: no cover - program.check rejects unknown opcodes
            raise ExecutionError(f"instruction {i}: unknown opcode")
    if not cells:
        return np.zeros((0, 4), dtype=np.uint32)
    return np.array(cells, dtype=np.uint32)


# --- traces ----------------------------------------------------------------------------------


def _read_counts(lay: Layout) -> I64:
    """How often the tables read each cell: every read the AIR sends, from the preprocessed
    addresses and read flags (fused SELECTs' reads are the Poseidon2 rows' raw reads)."""
    reads: list[I64] = []
    for t, prep in zip(lay.shape.tables(), lay.preps, strict=True):
        p = prep.astype(np.int64)
        if t == "arith":
            reads_b = p[:, 3] + p[:, 4] + p[:, 5] + p[:, 7] + p[:, 8]
            reads += [p[(reads_b + p[:, 6]) > 0, 0], p[reads_b > 0, 1], p[p[:, 8] > 0, 9]]
        elif t == "poseidon2":
            reads += [p[p[:, 17] > 0, 0:16].reshape(-1), p[p[:, 18] > 0, 19]]
        elif t == "bits":
            reads.append(p[p[:, 2] > 0, 0])
        elif t == "select":
            reads.append(p[p[:, 4] > 0, 0:3].reshape(-1))
        elif t == "output":
            reads.append(p[0, :-1])
    return np.bincount(np.concatenate(reads), minlength=lay.program.num_cells)


def generate(lay: Layout, inputs: npt.ArrayLike) -> tuple[list[U32], list[list[int]]]:
    """Main traces (in `lay.shape.tables()` order) and public values of one run."""
    return fill(lay, execute(lay.program, inputs))


def fill(lay: Layout, cells: U32) -> tuple[list[U32], list[list[int]]]:
    """The traces of a run whose cell values are `cells` (num_cells, 4).

    Every row takes its operands from `cells` by address, so traces filled from consistent
    cells balance the memory bus; the soundness tests fill forged cells to build traces that
    break exactly one constraint.
    """
    if cells.shape != (lay.program.num_cells, 4):
        raise ValueError("cells do not match the program")
    counts = _read_counts(lay).astype(np.uint64) % P
    heights = [1 << h for h in lay.shape.all_log_heights()]
    traces: list[U32] = []
    publics: list[list[int]] = []
    for t, prep, n in zip(lay.shape.tables(), lay.preps, heights, strict=True):
        trace, pub = _FILLERS[t](prep, len(lay.rows[t]), n, cells, counts)
        traces.append(trace)
        publics.append(pub)
    return traces, publics


def _gather(cells: U32, addr: U32, real: int, n: int) -> U32:
    out = np.zeros((n, 4), dtype=np.uint32)
    if real:
        out[:real] = cells[addr[:real].astype(np.int64)]
    return out


def _mults(counts: npt.NDArray[np.uint64], addr: U32, gate: U32) -> U32:
    m = counts[addr.astype(np.int64)] * gate.astype(np.uint64)
    return m.astype(np.uint32)


Filled = tuple[U32, list[int]]


def _fill_memory_init(
    prep: U32, real: int, n: int, cells: U32, counts: npt.NDArray[np.uint64]
) -> Filled:
    t = np.zeros((n, 2), dtype=np.uint32)
    t[:, 0] = _gather(cells, prep[:, 0], real, n)[:, 0]
    t[:, 1] = _mults(counts, prep[:, 0], prep[:, 1] + prep[:, 2])
    return t, []


def _fill_arith(prep: U32, real: int, n: int, cells: U32, counts: npt.NDArray[np.uint64]) -> Filled:
    t = np.zeros((n, 17), dtype=np.uint32)
    is_inv, is_fma = prep[:, 6], prep[:, 8]
    reads_b = prep[:, 3] + prep[:, 4] + prep[:, 5] + prep[:, 7] + is_fma
    writes = prep[:, 3] + prep[:, 4] + prep[:, 5] + is_inv + is_fma
    t[:, 0:4] = _gather(cells, prep[:, 0], real, n)
    t[:, 4:8] = _gather(cells, prep[:, 1], real, n) * reads_b[:, None]
    t[:, 8:12] = _gather(cells, prep[:, 2], real, n) * writes[:, None]
    t[:, 12] = _mults(counts, prep[:, 2], writes)
    t[:, 13:17] = _gather(cells, prep[:, 9], real, n) * is_fma[:, None]
    return t, []


def _fill_poseidon2(
    prep: U32, real: int, n: int, cells: U32, counts: npt.NDArray[np.uint64]
) -> Filled:
    raw = np.zeros((n, 16), dtype=np.uint32)
    c = np.zeros(n, dtype=np.uint32)
    if real:
        raw[:real] = cells[prep[:real, 0:16].astype(np.int64), 0]
        c[:real] = cells[prep[:real, 19].astype(np.int64), 0] * prep[:real, 18]
    # Swap mode: the permutation's input is raw with its halves exchanged when c = 1.
    states = np.where(c[:, None] == 1, np.roll(raw, 8, axis=1), raw)
    t = np.zeros((n, P2_WIDTH + 33), dtype=np.uint32)
    t[:, :P2_WIDTH] = poseidon2_trace(states)
    out_addr = prep[:, 16:17].astype(np.int64) + np.arange(16)[None, :]
    if real:
        t[:real, P2_WIDTH : P2_WIDTH + 16] = counts[out_addr[:real]].astype(np.uint32)
    t[:, P2_WIDTH + 16 : P2_WIDTH + 32] = raw
    t[:, P2_WIDTH + 32] = c
    return t, []


def _fill_bits(prep: U32, real: int, n: int, cells: U32, counts: npt.NDArray[np.uint64]) -> Filled:
    t = np.zeros((n, 3 + 2 * MAX_BITS), dtype=np.uint32)
    a = _gather(cells, prep[:, 0], real, n)[:, 0].astype(np.uint64)
    t[:, 0] = a
    shifts = np.arange(MAX_BITS, dtype=np.uint64)
    bits = ((a[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint32)
    bits *= prep[:, 4 : 4 + MAX_BITS]
    t[:, 1 : 1 + MAX_BITS] = bits
    t1 = bits[:, 27] * bits[:, 28]
    t[:, 1 + MAX_BITS] = t1
    t[:, 2 + MAX_BITS] = t1 * bits[:, 29] * bits[:, 30]
    if real:
        out_addr = prep[:real, 1:2].astype(np.int64) + np.arange(MAX_BITS)[None, :]
        active = prep[:real, 4 : 4 + MAX_BITS].astype(np.uint64)
        # Inactive bits point past the row's outputs (possibly past the last cell): no count.
        safe = np.minimum(out_addr, len(counts) - 1)
        t[:real, 3 + MAX_BITS :] = (counts[safe] * active).astype(np.uint32)
    return t, []


def _fill_select(
    prep: U32, real: int, n: int, cells: U32, counts: npt.NDArray[np.uint64]
) -> Filled:
    t = np.zeros((n, 14), dtype=np.uint32)
    t[:, 0] = _gather(cells, prep[:, 0], real, n)[:, 0]
    t[:, 1:5] = _gather(cells, prep[:, 1], real, n)
    t[:, 5:9] = _gather(cells, prep[:, 2], real, n)
    t[:, 9:13] = _gather(cells, prep[:, 3], real, n)
    t[:, 13] = _mults(counts, prep[:, 3], prep[:, 4])
    return t, []


def _fill_output(
    prep: U32, real: int, n: int, cells: U32, counts: npt.NDArray[np.uint64]
) -> Filled:
    k = prep.shape[1] - 1
    t = np.zeros((n, 4 * k), dtype=np.uint32)
    vals = cells[prep[0, :k].astype(np.int64)]
    t[0] = vals.reshape(-1)
    return t, [int(v) for v in vals.reshape(-1)]


_FILLERS = {
    "memory_init": _fill_memory_init,
    "arith": _fill_arith,
    "poseidon2": _fill_poseidon2,
    "bits": _fill_bits,
    "select": _fill_select,
    "output": _fill_output,
}
