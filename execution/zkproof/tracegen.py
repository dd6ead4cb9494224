"""Trace generation: the executor's columnar trace -> the four AIR traces, vectorized.

Nothing here loops over steps in Python: every column is a numpy expression over the run, and
the register memory argument comes from one stable sort of all register accesses by
(register, time). The generator takes the executor's values as given (pc, operands, written
values, next pc) and derives everything else; a dishonest or mutated execution trace therefore
yields AIR traces that violate a constraint or unbalance a bus, which is what the soundness
tests exercise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.stark.field import batch_inv
from execution.stark.lanes import P
from execution.zkproof.air import (
    BIT_COLUMNS,
    CPU_COLUMNS,
    DIV_COLUMNS,
    JALR_BOUND_SHIFT,
    LT_COLUMNS,
    MUL_COLUMNS,
    SHIFT_COLUMNS,
    SIGN_BIT,
    bit_col,
    cpu_col,
    div_col,
    lt_col,
    mul_col,
    shift_col,
)
from execution.zkproof.errors import (
    CycleLimitError,
    UnsupportedInstruction,
    UnsupportedSyscall,
    ZkProofError,
)
from execution.zkproof.isa import (
    FETCH_FIELDS,
    MEM_BYTE,
    MEM_SIGNED,
    OP_NAMES,
    SUPPORTED_OPS,
    ram_image_words,
)
from execution.zkproof.tracegen_io import io_chip_trace, io_plan, io_table_mult
from execution.zkproof.tracegen_mem import memory_traces
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program
from execution.zkvm.syscalls import SYS_LOG
from execution.zkvm.trace import ExecutionTrace

__all__ = ["MAX_LOG_CYCLES", "ZkvmTraces", "build_traces", "check_supported"]

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]

# Times are 4 * clk + port < 2^22, and time differences are checked below 2^24 < p - 2^22, so a
# "previous" time can never wrap around the field to look smaller than it is.
MAX_LOG_CYCLES = 20
_M32 = (1 << 32) - 1


# The order of the tables in a proof: airs and traces are listed from this one tuple, so the
# two can never disagree (both dataclasses are checked against it at import).
TABLE_ORDER = (
    "cpu",
    "program",
    "registers",
    "range",
    "lt",
    "mem",
    "boundary",
    "ram_image",
    "bitwise",
    "mul",
    "shift",
    "pow2",
    "div",
    "io",
    "io_table",
)


@dataclass
class ZkvmTraces:
    """Main traces in table order: cpu, program, registers, range, signed-compare chip."""

    cpu: U32
    program: U32
    registers: U32
    range: U32
    lt: U32
    mem: U32
    boundary: U32
    ram_image: U32
    bitwise: U32
    mul: U32
    shift: U32
    pow2: U32
    div: U32
    io: U32
    io_table: U32  # main column only; its height is the statement's (prove_traces fits it)

    def as_list(self) -> list[U32]:
        return [getattr(self, name) for name in TABLE_ORDER]


def check_supported(program: Program, trace: ExecutionTrace) -> None:
    """Raise UnsupportedInstruction / UnsupportedSyscall / CycleLimitError for what the AIR
    does not constrain yet, naming the first offending instruction."""
    cycles = len(trace)
    if program.layout != DEFAULT_LAYOUT:
        raise ZkProofError("the prover supports the default memory layout only")
    if cycles > 1 << MAX_LOG_CYCLES:
        raise CycleLimitError(cycles, 1 << MAX_LOG_CYCLES)
    pc = trace.pc.astype(np.int64)
    op = program.decoded.op[(pc - program.layout.rom_base) // 4].astype(np.int64)
    bad = ~np.isin(op, list(SUPPORTED_OPS))
    if bad.any():
        first = int(np.argmax(bad))
        name = OP_NAMES.get(int(op[first]), f"op{int(op[first])}")
        raise UnsupportedInstruction(name, int(pc[first]), int((op == op[first]).sum()))
    sc = trace.syscalls
    if sc.shape[1]:
        nonhalt = sc[1] > SYS_LOG
        if nonhalt.any():
            j = int(np.argmax(nonhalt))
            raise UnsupportedSyscall(int(sc[1, j]), int(pc[int(sc[0, j])]))


def _split(v: I64) -> tuple[I64, I64]:
    return v & 0xFFFF, (v >> 16) & 0xFFFF


def build_traces(program: Program, prog_table: U32, trace: ExecutionTrace) -> ZkvmTraces:
    """AIR traces for `trace` (a run of `program`); prog_table is isa.program_table(program)."""
    n = len(trace)
    height = max(2, 1 << max(0, (n - 1).bit_length()))
    steps = trace.steps.astype(np.int64)
    pc, rs1_val, rs2_val, rd_val, next_pc = steps[0], steps[2], steps[3], steps[4], steps[8]
    idx = (pc - program.layout.rom_base) // 4
    if n == 0 or idx.min() < 0 or idx.max() >= len(program.rom):
        raise ZkProofError("the trace fetches outside the program ROM")
    fetch = prog_table[idx, 1:].astype(np.int64)
    f = {name: fetch[:, j] for j, name in enumerate(FETCH_FIELDS)}

    a = rs1_val.copy()
    b = rs2_val.copy()
    # ECALL reads a7 and a1 through the read ports (and a0 through the rd port); the executor
    # keeps them in its syscall log.
    sc = trace.syscalls.astype(np.int64)
    if sc.shape[1]:
        a[sc[0]] = sc[1]
        b[sc[0]] = sc[3]
    op_b = np.where(f["use_imm"] == 1, f["imm_lo"] | (f["imm_hi"] << 16), b)
    is_lw, is_sw = f["is_lw"] == 1, f["is_sw"] == 1
    add_mode = (f["is_add"] + f["is_jalr"] + f["is_lw"] + f["is_sw"]) > 0
    sub_mode = (
        f["is_sub"] + f["is_sltu"] + f["is_beq"] + f["is_bne"] + f["is_bltu"] + f["is_bgeu"]
    ) > 0
    sub_mode |= f["is_ecall"] == 1  # c = a7
    c = np.where(add_mode, (a + op_b) & _M32, np.where(sub_mode, (a - op_b) & _M32, 0))
    is_and, is_or, is_xor = f["is_and"] == 1, f["is_or"] == 1, f["is_xor"] == 1
    c = np.where(is_and, a & op_b, np.where(is_or, a | op_b, np.where(is_xor, a ^ op_b, c)))
    mul_op = f["is_mulhu"] + 2 * f["is_mulh"] + 3 * f["is_mulhsu"]
    is_mul = (f["is_mul"] + f["is_mulhu"] + f["is_mulh"] + f["is_mulhsu"]) > 0
    # Shifts by a register: amount s = b mod 32; the product goes to the multiplication chip
    # (SLL: low word of a 2^s; SRL/SRA: high word of a 2^(32-s)); a right shift by 0 copies a.
    is_sll, is_srl, is_sra = f["is_sll"] == 1, f["is_srl"] == 1, f["is_sra"] == 1
    is_shift = is_sll | is_srl | is_sra
    amount = b & 31
    zero_right = (is_srl | is_sra) & (amount == 0)
    shift_mul = is_shift & ~zero_right
    pw = np.left_shift(np.int64(1), amount)
    qw = np.where(amount == 0, 0, np.left_shift(np.int64(1), (32 - amount) & 63))
    sh_m = np.where(is_sll, pw, qw)
    sh_op = np.where(is_sll, 0, np.where(is_srl, 1, 3))
    # Division: q, r as the executor computes them (docs/zkvm.md). Each row off the b = 0 and
    # INT_MIN / -1 branches asks the multiplication chip for q b twice: the low word, and the
    # high word (unsigned for DIVU/REMU, signed for DIV/REM).
    is_div = (f["is_divu"] + f["is_remu"]) > 0
    sdiv = f["is_signed_div"]
    dq, dr, div_ov = _divide(a, b, sdiv == 1)
    div_nz = is_div & (b != 0) & ~div_ov
    mul_a = np.concatenate([a[is_mul], a[shift_mul], dq[div_nz], dq[div_nz]])
    mul_b = np.concatenate([op_b[is_mul], sh_m[shift_mul], b[div_nz], b[div_nz]])
    n_div = int(div_nz.sum())
    mul_ops = np.concatenate(
        [mul_op[is_mul], sh_op[shift_mul], np.zeros(n_div, np.int64), 1 + sdiv[div_nz]]
    )
    mul, mul_pairs, mul_u15, mul_res = _mul(mul_a, mul_b, mul_ops)
    c = c.copy()
    n_mul = int(is_mul.sum())
    c[is_mul] = mul_res[:n_mul]
    n_shift = int(shift_mul.sum())
    c[shift_mul] = mul_res[n_mul : n_mul + n_shift]
    c[is_div] = np.where(f["is_remu"][is_div] == 1, dr[is_div], dq[is_div])
    div, div_r16, div_u15 = _div(
        a[is_div], b[is_div], dq[is_div], dr[is_div], f["is_remu"][is_div], sdiv[is_div]
    )
    c[zero_right] = a[zero_right]
    shift, pow2_mult, shift_u15 = _shift(a, b, c, f, is_shift, amount, pw, qw)
    x = np.where(add_mode, a, np.where(sub_mode, c, 0))
    cy0 = ((x & 0xFFFF) + (op_b & 0xFFFF)) >> 16
    cy1 = (x + op_b) >> 32
    cy0 = np.where(add_mode | sub_mode, cy0, 0)
    cy1 = np.where(add_mode | sub_mode, cy1, 0)
    c0, c1 = _split(c)
    writes = f["writes_rd"] == 1
    # Signed compare (SLT, SLTI, BLT, BGE): a <s op_b, proven in the chip table.
    signed = (f["is_slt"] + f["is_blt"] + f["is_bge"]) > 0
    lt = np.where(signed, (_signed(a) < _signed(op_b)).astype(np.int64), 0)
    k = f["k_lo"] | (f["k_hi"] << 16)
    alu = ((f["is_add"] + f["is_sub"] + f["is_and"] + f["is_or"] + f["is_xor"]) > 0) | is_mul
    alu |= is_shift | is_div
    w_formula = np.where(
        f["is_const"] == 1, k, np.where(alu, c, f["is_sltu"] * cy1 + f["is_slt"] * lt)
    )
    # The executor's written value is taken as claimed (x0 writes: it records 0, use the rule).
    w = np.where(writes, rd_val, w_formula)
    # A load into x0 still reads memory: its value is what the executor recorded, extended.
    w = np.where(is_lw & ~writes, _extend(steps[6], f["k_lo"]), w)
    # ECALL writes a0: the count for read_input, a0 unchanged otherwise (the syscall log's ret).
    if sc.shape[1]:
        w[sc[0]] = sc[4]
    w0, w1 = _split(w)
    lowbit = np.where(f["is_jalr"] == 1, c & 1, 0)

    # Register memory argument: ports rs1 (time 4i+1), rs2 (4i+2), rd (4i+3, writes only).
    clk = np.arange(n, dtype=np.int64)
    regs = np.concatenate([f["rs1"], f["rs2"], f["rd"][writes]])
    times = np.concatenate([4 * clk + 1, 4 * clk + 2, (4 * clk + 3)[writes]])
    vals = np.concatenate([a, b, w[writes]])
    order = np.lexsort((times, regs))
    rs, ts, vs = regs[order], times[order], vals[order]
    same = np.zeros(len(rs), dtype=bool)
    same[1:] = rs[1:] == rs[:-1]
    prev_t_sorted = np.where(same, np.roll(ts, 1), 0)
    prev_v_sorted = np.where(same, np.roll(vs, 1), 0)
    prev_t = np.empty_like(prev_t_sorted)
    prev_v = np.empty_like(prev_v_sorted)
    prev_t[order] = prev_t_sorted
    prev_v[order] = prev_v_sorted
    t1p, t2p = prev_t[:n], prev_t[n : 2 * n]
    t3p = np.zeros(n, dtype=np.int64)
    pv = np.zeros(n, dtype=np.int64)
    t3p[writes] = prev_t[2 * n :]
    pv[writes] = prev_v[2 * n :]
    last = np.ones(len(rs), dtype=bool)
    last[:-1] = rs[:-1] != rs[1:]
    reg_final = np.zeros((32, 3), dtype=np.int64)
    keep = last & (rs < 32)
    reg_final[rs[keep], 0] = vs[keep] & 0xFFFF
    reg_final[rs[keep], 1] = (vs[keep] >> 16) & 0xFFFF
    reg_final[rs[keep], 2] = ts[keep]

    diffs = [4 * clk + port - tp - 1 for port, tp in ((1, t1p), (2, t2p), (3, t3p))]
    e = [d >> 16 for d in diffs]
    lo = [d - (ei << 16) for d, ei in zip(diffs, e, strict=True)]

    cols: dict[str, I64] = {
        "is_real": np.ones(n, dtype=np.int64),
        "clk": clk,
        **f,
        "a0": a & 0xFFFF,
        "a1": (a >> 16) & 0xFFFF,
        "b0": b & 0xFFFF,
        "b1": (b >> 16) & 0xFFFF,
        "c0": c0,
        "c1": c1,
        "cy0": cy0,
        "cy1": cy1,
        "lowbit": lowbit,
        "next_pc": next_pc,
        "w0": w0,
        "w1": w1,
        "t1p": t1p,
        "e1": e[0],
        "t2p": t2p,
        "e2": e[1],
        "t3p": t3p,
        "p0": pv & 0xFFFF,
        "p1": (pv >> 16) & 0xFFFF,
        "e3": np.where(writes, e[2], 0),
        "lt": lt,
        "is_halt": ((f["is_ecall"] == 1) & (a == 0)).astype(np.int64),
    }
    # Built as uint32, each column reduced as it is written: an int64 table (8 bytes per cell)
    # and its reduced copy, alive with every per-cycle column and the chips' arrays below, were
    # the trace phase's peak.
    cpu = np.zeros((height, len(CPU_COLUMNS)), dtype=np.uint32)
    for name, col in cols.items():
        cpu[:n, cpu_col(name)] = col % P
    del cols
    # Padding rows: clk keeps counting, pc = 0 and next_pc = 4 satisfy the next-pc rule.
    cpu[:, cpu_col("clk")] = np.arange(height) % P
    cpu[n:, cpu_col("next_pc")] = 4
    s = cpu[:, cpu_col("c0")].astype(np.int64) + cpu[:, cpu_col("c1")]
    nz = s != 0
    cpu[:, cpu_col("is_eq")] = ~nz
    inv = np.zeros(height, dtype=np.int64)
    if nz.any():
        inv[nz] = batch_inv((s[nz] % P).astype(np.uint32)).astype(np.int64)
    cpu[:, cpu_col("eq_inv")] = inv
    del s, nz, inv

    # Multiplicities of the lookup tables.
    prog_mult = np.bincount(idx, minlength=prog_table.shape[0]).astype(np.int64)
    r16 = [lo[0], lo[1], lo[2][writes], c0, c1, c1[f["is_jalr"] == 1] + JALR_BOUND_SHIFT]
    u8: list[I64] = [e[0], e[1], e[2][writes]]
    m16 = _counts(np.concatenate(r16), 1 << 16)
    chip, chip_r16, chip_u15 = _lt_chip(a[signed], op_b[signed], lt[signed])
    m16 = m16 + _counts(chip_r16, 1 << 16) + _counts(div_r16, 1 << 16)
    memop = is_lw | is_sw
    # Syscalls: the IO chip's word accesses join the memory argument at time clk + 1.
    plan = io_plan(program, trace)
    io_sel = plan.access
    io_lanes = plan.mask[io_sel] & (plan.cols["is_read"][io_sel] == 1)[:, None]
    io_extra = (plan.word[io_sel], plan.cols["clk"][io_sel] + 1, io_lanes, plan.new_bytes[io_sel])
    ram = memory_traces(
        program,
        c[memop],
        np.where(is_lw, w, b)[memop],
        clk[memop],
        f["k_lo"][memop],
        steps[7][memop],
        steps[6][memop],
        io_extra,
    )
    mem, boundary = ram.chip, ram.boundary
    io_chip, io_r16, io_u8, io_u15, io_pairs = io_chip_trace(
        plan, ram.extra_prev, ram.extra_new, ram.extra_prev_t, _pow2(len(plan.cols["is_real"]))
    )
    chip_u15 = np.concatenate([chip_u15, ram.u15, io_u15])
    u8 += [ram.u8, io_u8]
    m16 = m16 + _counts(ram.r16, 1 << 16) + _counts(io_r16, 1 << 16)
    m8 = np.zeros(1 << 16, dtype=np.int64)
    m8[:256] = _counts(np.concatenate(u8), 256)
    m15 = np.zeros(1 << 16, dtype=np.int64)
    m15[: 1 << 15] = _counts(chip_u15, 1 << 15)
    bit = is_and | is_or | is_xor
    bitwise, pairs = _bitwise(
        a[bit], op_b[bit], f["is_and"][bit], f["is_or"][bit], f["is_xor"][bit]
    )
    mop = _counts(pairs, 1 << 16)
    u15_more = np.concatenate([mul_u15, shift_u15, div_u15])
    m15 = m15 + np.concatenate([_counts(u15_more, 1 << 15), np.zeros(1 << 15, dtype=np.int64)])
    mpair = _counts(np.concatenate([mul_pairs, ram.pairs, io_pairs]), 1 << 16)
    rng = np.stack([m16, m8, m15, mop, mpair], axis=1)
    return ZkvmTraces(
        cpu=cpu,
        program=_field(prog_mult.reshape(-1, 1)),
        registers=_field(reg_final),
        range=_field(rng),
        lt=_field(chip),
        mem=_field(mem),
        boundary=_field(boundary),
        ram_image=np.zeros((_image_height(program), 1), dtype=np.uint32),
        bitwise=_field(bitwise),
        mul=_field(mul),
        shift=_field(shift),
        pow2=_field(pow2_mult.reshape(-1, 1)),
        div=_field(div),
        io=_field(io_chip),
        io_table=_field(io_table_mult(plan)),
    )


def _divide(
    a: I64, b: I64, signed: npt.NDArray[np.bool_]
) -> tuple[I64, I64, npt.NDArray[np.bool_]]:
    """Quotient and remainder words by the spec (b = 0: q = -1, r = a; INT_MIN / -1: q = INT_MIN,
    r = 0; else truncating for DIV/REM), and which rows are the INT_MIN / -1 case."""
    sa, sb = _signed(a), _signed(b)
    ov = signed & (a == 1 << 31) & (b == _M32)
    ub, usb = np.where(b == 0, 1, b), np.where(sb == 0, 1, sb)
    mag = np.abs(sa) // np.abs(usb)
    sq = np.where((sa < 0) != (usb < 0), -mag, mag)
    q = np.where(signed, sq, a // ub)
    r = np.where(signed, sa - sq * usb, a % ub)
    q = np.where(b == 0, -1, np.where(ov, sa, q))
    r = np.where(b == 0, a, np.where(ov, 0, r))
    return q & _M32, r & _M32, ov


def _div(a: I64, b: I64, q: I64, r: I64, remu: I64, signed: I64) -> tuple[I64, I64, I64]:
    """Division chip rows, their 16-bit lookups (q, r, d limbs) and 15-bit lookups (the high
    limbs of a and b without their sign bits, DIV/REM rows only)."""
    m = len(a)
    sgn = signed == 1
    ov = sgn & (a == 1 << 31) & (b == _M32)
    normal = (b != 0) & ~ov
    a_s, b_s, r_s = signed * (a >> 31), signed * (b >> 31), signed * (r >> 31)
    # The low word of q b (uint64 wraps modulo 2^64, so the low 32 bits are exact).
    lo = (q.astype(np.uint64) * b.astype(np.uint64) & np.uint64(_M32)).astype(np.int64)
    lo = np.where(normal, lo, 0)
    cy1 = np.where(normal, (lo + r) >> 32, 0)
    t = np.where(normal, (cy1 + a_s - r_s) != 0, 0).astype(np.int64)
    mag_b = np.where(b_s == 1, (1 << 32) - b, b)
    mag_r = np.where(r_s == 1, (1 << 32) - r, r)
    d = np.where(normal, mag_b - mag_r - 1, 0)
    bm0 = np.where(b_s == 1, 0xFFFF - (b & 0xFFFF), b & 0xFFFF)
    rn0 = np.where(r_s == 1, r & 0xFFFF, 0xFFFF - (r & 0xFFFF))
    e0 = np.where(normal, (bm0 + rn0 + b_s - r_s - (d & 0xFFFF)) >> 16, 0)
    cols: dict[str, I64] = {
        "is_divu": 1 - remu,
        "is_remu": remu,
        "a0": a & 0xFFFF,
        "a1": a >> 16,
        "b0": b & 0xFFFF,
        "b1": b >> 16,
        "q0": q & 0xFFFF,
        "q1": q >> 16,
        "r0": r & 0xFFFF,
        "r1": r >> 16,
        "bz": (b == 0).astype(np.int64),
        "lo0": lo & 0xFFFF,
        "lo1": lo >> 16,
        "cy0": np.where(normal, ((lo & 0xFFFF) + (r & 0xFFFF)) >> 16, 0),
        "d0": d & 0xFFFF,
        "d1": d >> 16,
        "e0": e0,
        "signed": signed,
        "as": a_s,
        "bs": b_s,
        "rs": r_s,
        "cy1": cy1,
        "t": t,
        "ov": ov.astype(np.int64),
    }
    height = _pow2(m)
    out = np.zeros((height, len(DIV_COLUMNS)), dtype=np.int64)
    # Padding rows take the b = 0 branch (q = 2^32 - 1, r = a = 0), which all-zero rows miss.
    out[:, div_col("bz")] = 1
    out[:, div_col("q0")] = 0xFFFF
    out[:, div_col("q1")] = 0xFFFF
    for name, v in cols.items():
        out[:m, div_col(name)] = v
    r16 = np.concatenate([cols[k] for k in ("q0", "q1", "r0", "r1", "d0", "d1")])
    u15 = np.concatenate([(cols["a1"] - (a_s << 15))[sgn], (cols["b1"] - (b_s << 15))[sgn]])
    return out, r16, u15


def _shift(
    a: I64,
    b: I64,
    c: I64,
    f: dict[str, I64],
    is_shift: npt.NDArray[np.bool_],
    amount: I64,
    pw: I64,
    qw: I64,
) -> tuple[I64, I64, I64]:
    """Shift chip rows, the power table's multiplicities, and the 15-bit lookups (hi)."""
    m = int(is_shift.sum())
    sel = is_shift
    b0 = b[sel] & 0xFFFF
    cols: dict[str, I64] = {
        "is_sll": f["is_sll"][sel],
        "is_srl": f["is_srl"][sel],
        "is_sra": f["is_sra"][sel],
        "a0": a[sel] & 0xFFFF,
        "a1": a[sel] >> 16,
        "b0": b0,
        "b1": b[sel] >> 16,
        "r0": c[sel] & 0xFFFF,
        "r1": c[sel] >> 16,
        "s": amount[sel],
        "hi": b0 >> 5,
        "p_lo": pw[sel] & 0xFFFF,
        "p_hi": pw[sel] >> 16,
        "q_lo": qw[sel] & 0xFFFF,
        "q_hi": qw[sel] >> 16,
        "z": (amount[sel] == 0).astype(np.int64),
    }
    out = np.zeros((_pow2(m), len(SHIFT_COLUMNS)), dtype=np.int64)
    for name, v in cols.items():
        out[:m, shift_col(name)] = v
    mult = np.bincount(amount[sel], minlength=32).astype(np.int64)
    return out, mult, cols["hi"]


def _mul(a: I64, b: I64, op: I64) -> tuple[I64, I64, I64, I64]:
    """Multiplication chip rows, the byte pairs (x + 256 y) and carries they look up, and the
    word each row returns (op 0: low; 1 unsigned, 2 signed, 3 signed x unsigned: high)."""
    m = len(a)
    x = [(a >> (8 * i)) & 0xFF for i in range(4)]
    y = [(b >> (8 * i)) & 0xFF for i in range(4)]
    ta, tb = x[3] >> 7, y[3] >> 7
    sa = np.where((op == 2) | (op == 3), ta, 0)
    sb = np.where(op == 2, tb, 0)
    xe = x + [255 * sa] * 4
    ye = y + [255 * sb] * 4
    cols: dict[str, I64] = {
        "is_low": (op == 0).astype(np.int64),
        "is_hu": (op == 1).astype(np.int64),
        "is_h": (op == 2).astype(np.int64),
        "is_hsu": (op == 3).astype(np.int64),
        "ta": ta,
        "ra": x[3] & 0x7F,
        "tb": tb,
        "rb": y[3] & 0x7F,
    }
    carry = np.zeros(m, dtype=np.int64)
    for col in range(8):
        total = carry + sum((xe[i] * ye[col - i] for i in range(col + 1)), np.zeros(m, np.int64))
        if col < 4:
            cols[f"x{col}"], cols[f"m{col}"] = x[col], y[col]
        cols[f"r{col}"] = total & 0xFF
        carry = total >> 8
        cols[f"k{col}"] = carry
    out = np.zeros((_pow2(m), len(MUL_COLUMNS)), dtype=np.int64)
    for name, v in cols.items():
        out[:m, mul_col(name)] = v
    r = [cols[f"r{i}"] for i in range(8)]
    low = r[0] | (r[1] << 8) | (r[2] << 16) | (r[3] << 24)
    high = r[4] | (r[5] << 8) | (r[6] << 16) | (r[7] << 24)
    result = np.where(op == 0, low, high)
    pairs = [cols[f"{n}{i}"] + 256 * cols[f"{n}{i + 1}"] for n in "xm" for i in (0, 2)]
    pairs += [r[i] + 256 * r[i + 1] for i in range(0, 8, 2)]
    pairs += [cols["ra"] + 512 * cols["ra"], cols["rb"] + 512 * cols["rb"]]
    carries = np.concatenate([cols[f"k{i}"] for i in range(8)])
    return out, np.concatenate(pairs), carries, result


def _bitwise(a: I64, b: I64, f_and: I64, f_or: I64, f_xor: I64) -> tuple[I64, I64]:
    """Bitwise chip rows and the byte-table rows (x + 256 y) they look up."""
    m = len(a)
    cols: dict[str, I64] = {"is_and": f_and, "is_or": f_or, "is_xor": f_xor}
    pairs = []
    for i in range(4):
        x, y = (a >> (8 * i)) & 0xFF, (b >> (8 * i)) & 0xFF
        cols[f"x{i}"], cols[f"y{i}"] = x, y
        cols[f"and{i}"], cols[f"or{i}"], cols[f"xor{i}"] = x & y, x | y, x ^ y
        pairs.append(x + 256 * y)
    out = np.zeros((_pow2(m), len(BIT_COLUMNS)), dtype=np.int64)
    for name, col in cols.items():
        out[:m, bit_col(name)] = col
    return out, np.concatenate(pairs)


def _image_height(program: Program) -> int:
    n = len(ram_image_words(program)[0])
    return max(2, 1 << max(0, (n - 1).bit_length()))


def _pow2(n: int) -> int:
    return max(2, 1 << max(0, (n - 1).bit_length()))


def _extend(raw: I64, code: I64) -> I64:
    """A load's value from its raw zero-extended bytes: LB and LH sign-extend."""
    signed = (code & MEM_SIGNED) != 0
    bits = np.where((code & MEM_BYTE) != 0, 8, 16)
    neg = signed & (((raw >> (bits - 1)) & 1) == 1)
    return np.where(neg, raw | (_M32 ^ ((1 << bits) - 1)), raw)


def _signed(v: I64) -> I64:
    return np.where(v >= 1 << 31, v - (1 << 32), v)


def _lt_chip(a: I64, b: I64, lt: I64) -> tuple[I64, I64, I64]:
    """Signed-compare chip rows (padded to a power of two >= 2), its 16- and 15-bit lookups."""
    m = len(a)
    height = max(2, 1 << max(0, (m - 1).bit_length()))
    c = (a - b) & _M32
    cy0 = ((c & 0xFFFF) + (b & 0xFFFF)) >> 16
    cy1 = (c + b) >> 32
    a1, b1 = (a >> 16) & 0xFFFF, (b >> 16) & 0xFFFF
    cols = {
        "is_real": np.ones(m, dtype=np.int64),
        "a0": a & 0xFFFF,
        "a1": a1,
        "b0": b & 0xFFFF,
        "b1": b1,
        "c0": c & 0xFFFF,
        "c1": c >> 16,
        "cy0": cy0,
        "cy1": cy1,
        "sa": a1 >> 15,
        "ra": a1 & (SIGN_BIT - 1),
        "sb": b1 >> 15,
        "rb": b1 & (SIGN_BIT - 1),
        "lt": lt,
    }
    out = np.zeros((height, len(LT_COLUMNS)), dtype=np.int64)
    for name, col in cols.items():
        out[:m, lt_col(name)] = col
    r16 = np.concatenate([cols["c0"], cols["c1"]])
    u15 = np.concatenate([cols["ra"], cols["rb"]])
    return out, r16, u15


def _counts(values: I64, size: int) -> I64:
    # Out-of-range values (only in forged traces) are simply not counted: the bus then fails.
    ok = (values >= 0) & (values < size)
    return np.bincount(values[ok], minlength=size).astype(np.int64)


def _field(m: I64) -> U32:
    return (m % P).astype(np.uint32)


def supported_op_names() -> list[str]:
    return sorted(OP_NAMES[o] for o in SUPPORTED_OPS)
