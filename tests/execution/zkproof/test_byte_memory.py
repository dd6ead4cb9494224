"""Byte and half-word loads and stores (LB, LBU, LH, LHU, SB, SH) in the memory chip.

Completeness: a sample over every width, sign and offset proves and verifies with the
executor's statement. Soundness by attack: forged execution traces (or forged chip rows) are
proven by the honest prover with its check off, and every such proof must be rejected; the
honest prover's own check must refuse them first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from execution.stark.air.builder import AirBuilder
from execution.stark.air.expr import Expr, Op
from execution.stark.lanes import P
from execution.stark.params import profile
from execution.zkproof import (
    InvalidTaskProof,
    Statement,
    ZkProofError,
    ZkvmAirs,
    ZkvmTraces,
    airs_for,
    build_traces,
    check_supported,
    program_table,
    prove,
    prove_traces,
    statement_for_run,
    traces_for_run,
    verify,
)
from execution.zkproof.air import (
    BUS_BYTEPAIR,
    BUS_RANGE16,
    BUS_U8,
    BUS_U15,
    MemChipAir,
    boundary_col,
    mem_col,
)
from execution.zkproof.isa import FETCH_FIELDS, MEM_OP_CODES, PROGRAM_COLUMNS
from execution.zkproof.samples import BYTE_DATA, byte_memory_program, byte_memory_result
from execution.zkvm import asm, execute, load_elf_file
from execution.zkvm import decoder as D
from execution.zkvm.examples import example_elf
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program, RamSegment
from execution.zkvm.trace import ExecutionTrace

PARAMS = profile("conjectured")
RAM = DEFAULT_LAYOUT.ram_base
SCRATCH = RAM + 0x100
NARROW = {"LB": D.LB, "LBU": D.LBU, "LH": D.LH, "LHU": D.LHU, "SB": D.SB, "SH": D.SH}
LOAD_F3 = {D.LB: 0, D.LH: 1, D.LW: 2, D.LBU: 4, D.LHU: 5}
STORE_F3 = {D.SB: 0, D.SH: 1, D.SW: 2}


# -- completeness ----------------------------------------------------------------------------


def test_byte_and_half_accesses_prove_with_the_executors_statement() -> None:
    prog = byte_memory_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == byte_memory_result()
    assert st.cycles == run.cycles


def test_narrow_ops_are_fetchable_with_their_memory_op_code() -> None:
    words = [asm.i_type(1, 5, f3, 7, asm.LOAD) for f3 in LOAD_F3.values()]
    words += [asm.s_type(2, 6, 5, f3) for f3 in STORE_F3.values()]
    prog = _program(words)
    table = program_table(prog, P)
    col = {name: table[:, j] for j, name in enumerate(PROGRAM_COLUMNS)}
    ops = [*LOAD_F3, *STORE_F3]
    for row, op in enumerate(ops):
        assert col["valid"][row] == 1
        assert col["k_lo"][row] == MEM_OP_CODES[op]
        assert col["is_lw"][row] == (op in LOAD_F3)
        assert col["is_sw"][row] == (op in STORE_F3)
        assert col["writes_rd"][row] == (op in LOAD_F3)
    assert "k_lo" in FETCH_FIELDS


def test_the_byte_model_reproduces_the_executors_memory() -> None:
    # The boundary's final word values come from the trace generator's byte-level model of
    # RAM; they must equal the executor's final RAM for every touched word.
    prog = byte_memory_program()
    trace, _, traces, _ = traces_for_run(prog, b"")
    check_supported(prog, trace)
    bnd = traces.boundary.astype(np.int64)
    real = bnd[:, boundary_col("is_real")] == 1
    words = bnd[real, boundary_col("word")]
    final = bnd[real, boundary_col("f0")] | (bnd[real, boundary_col("f1")] << 16)
    assert len(words) >= 7  # image words, two scratch words, the top of RAM
    assert np.array_equal(final, trace.final_ram[words].astype(np.int64))


def _eval(e: Expr, cols: np.ndarray, memo: dict[int, np.ndarray]) -> np.ndarray:
    """An AIR expression over the rows of a main trace (no next-row or extension terms).

    `memo` is keyed by node identity: only pass expressions that stay alive (the builder's).
    """
    got = memo.get(id(e))
    if got is not None:
        return got
    p = np.uint64(P)
    if e.op == Op.CONST:
        out = np.full(cols.shape[0], e.index % P, dtype=np.uint64)
    elif e.op == Op.MAIN and not e.next_row:
        out = cols[:, e.index]
    else:
        args = [_eval(a, cols, memo) for a in e.args]
        if e.op == Op.ADD:
            out = (args[0] + args[1]) % p
        elif e.op == Op.SUB:
            out = (args[0] + p - args[1]) % p
        elif e.op == Op.MUL:
            out = args[0] * args[1] % p
        elif e.op == Op.NEG:
            out = (p - args[0]) % p
        else:
            raise AssertionError(f"unexpected node {e.op!r}")
    memo[id(e)] = out
    return out


@pytest.mark.parametrize(
    ("guest", "input_bytes"), [("sha256", b"abc" * 40), ("sieve", (1000).to_bytes(4, "little"))]
)
def test_compiled_guests_memory_rows_satisfy_the_chip(guest: str, input_bytes: bytes) -> None:
    # The guests' syscalls are not constrained yet, so they cannot be proven; their thousands
    # of LBU/SB/LW/SW rows can still be checked against every memory chip constraint and lookup
    # range, except rows of words that read_input wrote (the io chip's part, still missing).
    prog = load_elf_file(example_elf(guest))
    run = execute(prog, input_bytes, record_trace=True)
    assert run.trace is not None
    traces = build_traces(prog, program_table(prog, P), run.trace)
    chip = traces.mem.astype(np.uint64)
    io = run.trace.io.astype(np.int64)
    io_words = (io[1][io[3] == 0] - prog.layout.ram_base) >> 2
    key = chip[:, mem_col("q")].astype(np.int64) + (chip[:, mem_col("h")].astype(np.int64) << 14)
    rows = (chip[:, mem_col("is_real")] == 1) & ~np.isin(key, io_words)
    assert int(chip[rows, mem_col("is_byte")].sum()) > 20  # LBU and SB really ran
    b = AirBuilder(MemChipAir.width, 0, 0)
    MemChipAir().eval(b)
    memo: dict[int, np.ndarray] = {}
    for k, c in enumerate(b.constraints):
        bad = np.nonzero(_eval(c, chip, memo)[rows])[0]
        assert bad.size == 0, f"constraint {k} fails on {bad.size} rows"
    bounds = {BUS_BYTEPAIR: 256, BUS_U8: 256, BUS_U15: 1 << 15, BUS_RANGE16: 1 << 16}
    for it in b.interactions:
        if it.bus in bounds:
            on = rows & (_eval(it.multiplicity, chip, memo) != 0)
            for v in it.values:
                assert int(_eval(v, chip, memo)[on].max(initial=0)) < bounds[it.bus]


# -- forged traces ---------------------------------------------------------------------------


def _program(words: list[int]) -> Program:
    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=(RamSegment(RAM, BYTE_DATA),),
    )


def _load_program(op: int, addr: int) -> Program:
    """x10 = op [addr]; halt with exit code x10."""
    load = asm.i_type(addr - RAM, 5, LOAD_F3[op], 10, asm.LOAD)
    return _program([*asm.li(5, RAM), load, *asm.li(17, 0), asm.ECALL_WORD])


def _store_program(op: int, addr: int, value: int) -> Program:
    """op [addr] = value; x10 = the word at addr & ~3; halt with exit code x10."""
    store = asm.s_type(addr - SCRATCH, 6, 5, STORE_F3[op])
    load = asm.i_type((addr & ~3) - SCRATCH, 5, 2, 10, asm.LOAD)
    words = [*asm.li(5, SCRATCH), *asm.li(6, value), store, load]
    return _program([*words, *asm.li(17, 0), asm.ECALL_WORD])


def _step_of(program: Program, trace: ExecutionTrace, op: int) -> int:
    idx = (trace.pc.astype(np.int64) - program.layout.rom_base) // 4
    return int(np.nonzero(program.decoded.op[idx] == op)[0][0])


def _mutated(trace: ExecutionTrace, steps: np.ndarray, syscalls: np.ndarray) -> ExecutionTrace:
    return ExecutionTrace(steps=steps, io=trace.io, syscalls=syscalls, final_ram=trace.final_ram)


def _forged_exit(
    program: Program, trace: ExecutionTrace, st: Statement, step: int, value: int
) -> tuple[ExecutionTrace, Statement]:
    """The load at `step` returns `value` (raw bytes too), which the halt reports as exit code."""
    steps, sc = trace.steps.copy(), trace.syscalls.copy()
    steps[4, step] = value
    width = int(steps[7, step])
    steps[6, step] = value & ((1 << (8 * width)) - 1)
    sc[2, -1] = value
    return _mutated(trace, steps, sc), replace(st, exit_code=value)


Forgery = tuple[Program, Statement, ZkvmTraces, ZkvmAirs]


def _honest(program: Program) -> tuple[ExecutionTrace, Statement, ZkvmAirs]:
    trace, st, _, airs = traces_for_run(program, b"")
    return trace, replace(st, profile=PARAMS.name), airs


def _build(program: Program, airs: ZkvmAirs, trace: ExecutionTrace) -> ZkvmTraces:
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    return build_traces(program, table, trace)


def _chip_row(traces: ZkvmTraces, code: int) -> int:
    chip = traces.mem.astype(np.int64)
    op = (
        chip[:, mem_col("is_store")]
        + 2 * chip[:, mem_col("is_byte")]
        + 4 * chip[:, mem_col("is_half")]
        + 8 * chip[:, mem_col("is_signed")]
    )
    real = chip[:, mem_col("is_real")] == 1
    return int(np.nonzero(real & (op == code))[0][0])


def _set(traces: ZkvmTraces, row: int, **values: int) -> ZkvmTraces:
    chip = traces.mem.copy()
    for name, v in values.items():
        chip[row, mem_col(name)] = v % P
    return replace(traces, mem=chip)


def _unsigned_byte_from_lb(air_level: bool) -> Forgery:
    # LB of 0x80 must give 0xffffff80; claim 0x80 (no sign extension) and exit with it.
    program = _load_program(D.LB, RAM)
    trace, st, airs = _honest(program)
    assert st.exit_code == 0xFFFF_FF80
    forged, st = _forged_exit(program, trace, st, _step_of(program, trace, D.LB), 0x80)
    traces = _build(program, airs, forged)
    if air_level:  # also claim the sign bit is 0: only the sign-bit lookup is left to fail
        traces = _set(traces, _chip_row(traces, MEM_OP_CODES[D.LB]), t=0)
    return program, st, traces, airs


def _other_offset(op: int, addr: int, other: int, air_level: bool) -> Forgery:
    program = _load_program(op, addr)
    trace, st, airs = _honest(program)
    raw = BYTE_DATA[other - RAM : other - RAM + (1 if op == D.LBU else 2)]
    value = int.from_bytes(raw, "little")
    assert st.exit_code != value
    forged, st = _forged_exit(program, trace, st, _step_of(program, trace, op), value)
    traces = _build(program, airs, forged)
    if air_level:  # point the chip row's offset at the other byte: the address no longer adds up
        row = _chip_row(traces, MEM_OP_CODES[op])
        o = other & 3
        hw = int.from_bytes(BYTE_DATA[(other & ~1) - RAM : (other & ~1) - RAM + 2], "little")
        lb, hb = hw & 0xFF, hw >> 8
        bsel = hb if o & 1 else lb
        nh = int(traces.mem[row, mem_col("n1" if o >> 1 else "n0")])
        top = bsel if op == D.LBU else hb
        cols = {"o0": o & 1, "o1": o >> 1, "lb": lb, "hb": hb, "bsel": bsel, "top": top}
        traces = _set(traces, row, **cols, d0=value & 0xFF, delta=0, nh=nh)
    return program, st, traces, airs


def _value_not_in_memory(air_level: bool) -> Forgery:
    # LBU of word 0 byte 0 (0x80) claims 0x99, a byte the word does not hold.
    program = _load_program(D.LBU, RAM)
    trace, st, airs = _honest(program)
    forged, st = _forged_exit(program, trace, st, _step_of(program, trace, D.LBU), 0x99)
    traces = _build(program, airs, forged)
    if air_level:  # the chip row claims the word holds it: the memory bus then does not balance
        row = _chip_row(traces, MEM_OP_CODES[D.LBU])
        p0 = 0x99 + 256 * int(traces.mem[row, mem_col("hb")])
        cols = {"p0": p0, "n0": p0, "nh": p0, "lb": 0x99, "bsel": 0x99, "top": 0x99}
        traces = _set(traces, row, **cols, d0=0x99, delta=0)
    return program, st, traces, airs


def _store_changes_neighbour(offset: int, width: int) -> Forgery:
    # SB whose executor claims it wrote `width` bytes: the word read back (and the exit code)
    # has a neighbouring byte changed too.
    value = 0x5566_7788
    program = _store_program(D.SB, SCRATCH + offset, value)
    trace, st, airs = _honest(program)
    assert st.exit_code == (value & 0xFF) << (8 * offset)
    steps, sc = trace.steps.copy(), trace.syscalls.copy()
    sb = _step_of(program, trace, D.SB)
    steps[7, sb] = width
    steps[6, sb] = value & ((1 << (8 * width)) - 1)
    word = (steps[6, sb] << (8 * offset)) & 0xFFFF_FFFF
    lw = _step_of(program, trace, D.LW)
    steps[4, lw] = steps[6, lw] = word
    sc[2, -1] = word
    st = replace(st, exit_code=int(word))
    return program, st, _build(program, airs, _mutated(trace, steps, sc)), airs


def _misaligned(op: int, aligned_claim: bool) -> Forgery:
    # Run a legal byte access at an odd address, then present the trace for the same program
    # with LH/SH/LW/SW in its place (the executor would trap on it).
    addr = RAM + 1
    if op in LOAD_F3:
        honest_prog, forged_prog = _load_program(D.LBU, addr), _load_program(op, addr)
    else:
        honest_prog = _store_program(D.SB, SCRATCH + 1, 0x1234)
        forged_prog = _store_program(op, SCRATCH + 1, 0x1234)
    trace, st, _ = _honest(honest_prog)
    if aligned_claim and op == D.LH:  # the LH "returns" the aligned half at RAM (0xff80)
        step = _step_of(honest_prog, trace, D.LBU)
        trace, st = _forged_exit(honest_prog, trace, st, step, 0xFFFF_FF80)
    airs = airs_for(forged_prog)
    st = statement_for_run(forged_prog, b"", b"", st.exit_code, st.cycles, PARAMS.name)
    traces = _build(forged_prog, airs, trace)
    row = _chip_row(traces, MEM_OP_CODES[op])
    assert traces.mem[row, mem_col("o0")] == 1
    if aligned_claim:
        # The chip row claims the aligned half at offset 0, consistently (its byte, and for SH
        # the half it writes), with q = (addr_lo - 2 o1) / 4 in the field: not a 14-bit q.
        mem = traces.mem.astype(np.int64)
        o1 = mem[row, mem_col("o1")]
        addr_lo = 4 * mem[row, mem_col("q")] + 1 + 2 * o1
        q = (addr_lo - 2 * o1) * pow(4, P - 2, P) % P
        lb, d0, v0 = (int(mem[row, mem_col(n)]) for n in ("lb", "d0", "v0"))
        cols = {"o0": 0, "q": int(q), "bsel": lb, "delta": d0 - lb}
        if op == D.SH:
            cols |= {"n0": v0, "nh": v0}
        traces = _set(traces, row, **cols)
    return forged_prog, st, traces, airs


ATTACKS: dict[str, Callable[[], Forgery]] = {
    "lb_unsigned": lambda: _unsigned_byte_from_lb(False),
    "lb_unsigned_sign_bit_0": lambda: _unsigned_byte_from_lb(True),
    "lbu_other_offset": lambda: _other_offset(D.LBU, RAM + 1, RAM + 2, False),
    "lbu_other_offset_in_chip": lambda: _other_offset(D.LBU, RAM + 1, RAM + 2, True),
    "lhu_other_half": lambda: _other_offset(D.LHU, RAM, RAM + 2, False),
    "lhu_other_half_in_chip": lambda: _other_offset(D.LHU, RAM, RAM + 2, True),
    "sb_neighbour_same_half": lambda: _store_changes_neighbour(0, 2),
    "sb_neighbours_other_half": lambda: _store_changes_neighbour(1, 3),
    "lh_misaligned": lambda: _misaligned(D.LH, False),
    "lh_misaligned_claimed_aligned": lambda: _misaligned(D.LH, True),
    "sh_misaligned": lambda: _misaligned(D.SH, False),
    "sh_misaligned_claimed_aligned": lambda: _misaligned(D.SH, True),
    "lw_misaligned": lambda: _misaligned(D.LW, False),
    "sw_misaligned": lambda: _misaligned(D.SW, False),
    "load_value_not_in_memory": lambda: _value_not_in_memory(False),
    "load_value_not_in_memory_in_chip": lambda: _value_not_in_memory(True),
}
# One attack per kind runs by default (a proof each); the variants are slow.
DEFAULT = {
    "lb_unsigned_sign_bit_0",
    "lbu_other_offset",
    "sb_neighbour_same_half",
    "lh_misaligned_claimed_aligned",
    "load_value_not_in_memory_in_chip",
}


@pytest.mark.parametrize(
    "name",
    [n if n in DEFAULT else pytest.param(n, marks=pytest.mark.slow) for n in ATTACKS],
)
def test_forged_byte_access_is_rejected(name: str) -> None:
    program, st, traces, airs = ATTACKS[name]()
    # The honest prover's own check refuses the forged trace...
    with pytest.raises(ZkProofError):
        prove_traces(airs, traces, st, program, PARAMS)
    # ...and a proof made without the check does not verify.
    proof = prove_traces(airs, traces, st, program, PARAMS, check=False)
    with pytest.raises(InvalidTaskProof):
        verify(proof, program)


@pytest.mark.parametrize("name", list(NARROW))
def test_narrow_ops_are_no_longer_refused(name: str) -> None:
    op = NARROW[name]
    if op in LOAD_F3:
        program = _load_program(op, RAM + 2)
    else:
        program = _store_program(op, SCRATCH + 2, 0xABCD)
    run = execute(program, record_trace=True)
    assert run.trace is not None
    check_supported(program, run.trace)
