"""The numba-compiled RV32IM interpreter loop.

The loop is written once (`_kernel`) and inlined into two compiled entry points with
`record` fixed: `run_plain` (no trace code at all: about 1.6x faster than testing a run-time
flag) and `run_traced`. Both are cached on disk. The program arrives predecoded, one packed
int64 per ROM word (decoder.py). The kernel never raises and never loops without bound: it
returns a status code after at most `stop_at - cycles` instructions, leaving the machine
state in its argument arrays so that the caller can resume it (to grow the trace buffers,
or to single-step in tests).

Register values are held in int64 slots as unsigned 32-bit numbers in [0, 2^32).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from execution.zkvm import decoder as d
from execution.zkvm.syscalls import SYS_HALT, SYS_LOG, SYS_READ_INPUT, SYS_WRITE_OUTPUT

# Status codes returned by run_kernel.
ST_PAUSED = 0  # reached stop_at cycles without halting
ST_HALTED = 1
ST_BUFFER_FULL = 2  # a trace buffer is full; grow it and resume
ST_ILLEGAL = 3  # aux = instruction word
ST_FETCH = 4  # aux = pc that left the program ROM
ST_MISALIGNED_JUMP = 5  # aux = target
ST_MISALIGNED = 6  # aux = effective address
ST_OUT_OF_BOUNDS = 7  # aux = effective address
ST_UNKNOWN_SYSCALL = 8  # aux = a7
ST_OUTPUT_LIMIT = 9

# Slots of the int64 state vector.
S_PC = 0
S_CYCLES = 1
S_IN_POS = 2
S_OUT_LEN = 3
S_LOG_LEN = 4
S_EXIT = 5
S_AUX = 6
S_TRACE_POS = 7
S_IO_POS = 8
S_SYS_POS = 9
STATE_SLOTS = 10

# Trace columns, rows of one uint32 matrix `tr` of shape (NUM_COLS, capacity).
C_PC = 0
C_INSN = 1
C_RS1 = 2
C_RS2 = 3
C_RD = 4
C_ADDR = 5
C_MEMVAL = 6
C_WIDTH = 7
C_NEXT_PC = 8
NUM_COLS = 9

# IO table (syscall byte transfers) rows of `io`: step, address, byte, kind.
IO_STEP = 0
IO_ADDR = 1
IO_BYTE = 2
IO_KIND = 3
IO_COLS = 4
IO_INPUT = 0  # read_input stored this byte into RAM
IO_OUTPUT = 1  # write_output read this byte from RAM

# Syscall table rows of `sy`: step, number, a0, a1, value returned in a0.
SY_STEP = 0
SY_NUM = 1
SY_A0 = 2
SY_A1 = 3
SY_RET = 4
SY_COLS = 5

M32 = 0xFFFF_FFFF


@njit(cache=True, inline="always")
def _sx(v: int) -> int:
    return v - ((v >> 31) << 32)


@njit(cache=True, inline="always")
def _kernel(
    code: np.ndarray,
    words: np.ndarray,
    rom_base: int,
    mem: np.ndarray,
    ram_base: int,
    ram_size: int,
    regs: np.ndarray,
    st: np.ndarray,
    inp: np.ndarray,
    out: np.ndarray,
    logbuf: np.ndarray,
    stop_at: int,
    record: bool,
    tr: np.ndarray,
    io: np.ndarray,
    sy: np.ndarray,
) -> int:
    n_rom = code.shape[0]
    pc = st[S_PC]
    cycles = st[S_CYCLES]
    tpos = st[S_TRACE_POS]
    tcap = tr.shape[1]
    status = ST_PAUSED
    while cycles < stop_at:
        idx = (pc - rom_base) >> 2
        if pc < rom_base or idx >= n_rom:
            status = ST_FETCH
            st[S_AUX] = pc
            break
        if record and tpos >= tcap:
            st[S_AUX] = 0
            status = ST_BUFFER_FULL
            break
        m = code[idx]
        op = m & 0xFF
        rd = (m >> 8) & 0xFF
        a = regs[(m >> 16) & 0xFF]
        b = regs[(m >> 24) & 0xFF]
        imm = m >> 32
        npc = pc + 4
        maddr = 0
        mval = 0
        width = 0
        wrote = True  # whether rd was written (for the trace's rd column)

        if op == d.ADDI:
            regs[rd] = (a + imm) & M32
        elif op == d.ADD:
            regs[rd] = (a + b) & M32
        elif op == d.XOR:
            regs[rd] = a ^ b
        elif op == d.SRLI:
            regs[rd] = a >> imm
        elif op == d.SLLI:
            regs[rd] = (a << imm) & M32
        elif op == d.OR:
            regs[rd] = a | b
        elif op == d.AND:
            regs[rd] = a & b
        elif op >= d.LW and op <= d.LHU:
            maddr = (a + imm) & M32
            if op == d.LW:
                width = 4
            elif op == d.LH or op == d.LHU:
                width = 2
            else:
                width = 1
            if maddr & (width - 1):
                status = ST_MISALIGNED
                st[S_AUX] = maddr
                break
            off = maddr - ram_base
            if off < 0 or off + width > ram_size:
                status = ST_OUT_OF_BOUNDS
                st[S_AUX] = maddr
                break
            word: int = np.int64(mem[off >> 2])  # type: ignore[assignment]
            if width == 4:
                mval = word
                regs[rd] = word
            elif width == 2:
                mval = (word >> ((off & 2) * 8)) & 0xFFFF
                if op == d.LH:
                    regs[rd] = (mval ^ 0x8000) - 0x8000 & M32
                else:
                    regs[rd] = mval
            else:
                mval = (word >> ((off & 3) * 8)) & 0xFF
                if op == d.LB:
                    regs[rd] = (mval ^ 0x80) - 0x80 & M32
                else:
                    regs[rd] = mval
        elif op >= d.SW and op <= d.SH:
            maddr = (a + imm) & M32
            wrote = False
            if op == d.SW:
                width = 4
            elif op == d.SH:
                width = 2
            else:
                width = 1
            if maddr & (width - 1):
                status = ST_MISALIGNED
                st[S_AUX] = maddr
                break
            off = maddr - ram_base
            if off < 0 or off + width > ram_size:
                # executor.py tells a store into ROM apart from other stray stores.
                status = ST_OUT_OF_BOUNDS
                st[S_AUX] = maddr
                break
            if width == 4:
                mval = b
                mem[off >> 2] = b
            else:
                sh = (off & 3) * 8
                wmask = 0xFFFF if width == 2 else 0xFF
                mval = b & wmask
                old = np.int64(mem[off >> 2])
                mem[off >> 2] = (old & ~(wmask << sh) & M32) | (mval << sh)
        elif op >= d.BNE and op <= d.BGEU:
            wrote = False
            if op == d.BNE:
                taken = a != b
            elif op == d.BEQ:
                taken = a == b
            elif op == d.BLT:
                taken = _sx(a) < _sx(b)
            elif op == d.BGE:
                taken = _sx(a) >= _sx(b)
            elif op == d.BLTU:
                taken = a < b
            else:
                taken = a >= b
            if taken:
                npc = (pc + imm) & M32
                if npc & 3:
                    status = ST_MISALIGNED_JUMP
                    st[S_AUX] = npc
                    break
        elif op == d.ANDI:
            regs[rd] = a & (imm & M32)
        elif op == d.SUB:
            regs[rd] = (a - b) & M32
        elif op == d.LUI:
            regs[rd] = imm & M32
        elif op == d.AUIPC:
            regs[rd] = (pc + imm) & M32
        elif op == d.JAL or op == d.JALR:
            if op == d.JAL:  # noqa: SIM108  (kept as statements for numba's typing)
                npc = (pc + imm) & M32
            else:
                npc = (a + imm) & (M32 - 1)
            if npc & 3:
                status = ST_MISALIGNED_JUMP
                st[S_AUX] = npc
                break
            regs[rd] = (pc + 4) & M32
        elif op == d.SLTI:
            regs[rd] = 1 if _sx(a) < imm else 0
        elif op == d.SLTIU:
            regs[rd] = 1 if a < (imm & M32) else 0
        elif op == d.XORI:
            regs[rd] = a ^ (imm & M32)
        elif op == d.ORI:
            regs[rd] = a | (imm & M32)
        elif op == d.SRAI:
            regs[rd] = (_sx(a) >> imm) & M32
        elif op == d.SLL:
            regs[rd] = (a << (b & 31)) & M32
        elif op == d.SLT:
            regs[rd] = 1 if _sx(a) < _sx(b) else 0
        elif op == d.SLTU:
            regs[rd] = 1 if a < b else 0
        elif op == d.SRL:
            regs[rd] = a >> (b & 31)
        elif op == d.SRA:
            regs[rd] = (_sx(a) >> (b & 31)) & M32
        elif op == d.MUL:
            regs[rd] = (_sx(a) * _sx(b)) & M32
        elif op == d.MULH:
            regs[rd] = ((_sx(a) * _sx(b)) >> 32) & M32
        elif op == d.MULHSU:
            regs[rd] = ((_sx(a) * b) >> 32) & M32
        elif op == d.MULHU:
            # a * b can exceed 2^63; split a into 16-bit halves to stay inside int64.
            regs[rd] = ((a >> 16) * b + (((a & 0xFFFF) * b) >> 16)) >> 16
        elif op == d.DIV or op == d.REM:
            sa = _sx(a)
            sb = _sx(b)
            if sb == 0:
                q = -1
                r = sa
            elif sa == -(1 << 31) and sb == -1:
                q = sa
                r = 0
            else:
                q = abs(sa) // abs(sb)
                if (sa < 0) != (sb < 0):
                    q = -q
                r = sa - q * sb
            regs[rd] = (q if op == d.DIV else r) & M32
        elif op == d.DIVU:
            regs[rd] = M32 if b == 0 else a // b
        elif op == d.REMU:
            regs[rd] = a if b == 0 else a % b
        elif op == d.FENCE:
            wrote = False
        elif op == d.ECALL:
            wrote = False
            num = regs[17]
            a0 = regs[10]
            a1 = regs[11]
            if record:
                # Room for this call's table rows, checked before it has any effect so that
                # the caller can grow the tables and resume at this same ECALL.
                need_io = 0
                if num == SYS_READ_INPUT:
                    need_io = min(a1, inp.shape[0] - st[S_IN_POS])
                elif num == SYS_WRITE_OUTPUT:
                    # A longer write fails below with OUTPUT_LIMIT before moving any byte.
                    need_io = min(a1, out.shape[0] - st[S_OUT_LEN])
                if st[S_SYS_POS] >= sy.shape[1] or st[S_IO_POS] + need_io > io.shape[1]:
                    st[S_AUX] = st[S_IO_POS] + need_io
                    status = ST_BUFFER_FULL
                    break
            ret = a0
            if num == SYS_HALT:
                st[S_EXIT] = a0
                npc = pc
                status = ST_HALTED
            elif num == SYS_READ_INPUT:
                n = inp.shape[0] - st[S_IN_POS]
                if a1 < n:
                    n = a1
                off = a0 - ram_base
                if n > 0 and (off < 0 or off + n > ram_size):
                    status = ST_OUT_OF_BOUNDS
                    st[S_AUX] = a0
                    break
                src = st[S_IN_POS]
                iop = st[S_IO_POS]
                for k in range(n):
                    o = off + k
                    sh = (o & 3) * 8
                    byte = np.int64(inp[src + k])
                    old = np.int64(mem[o >> 2])
                    mem[o >> 2] = (old & ~(0xFF << sh) & M32) | (byte << sh)
                    if record:
                        io[IO_STEP, iop] = tpos
                        io[IO_ADDR, iop] = a0 + k
                        io[IO_BYTE, iop] = byte
                        io[IO_KIND, iop] = IO_INPUT
                        iop += 1
                st[S_IO_POS] = iop
                st[S_IN_POS] = src + n
                regs[10] = n
                ret = n
            elif num == SYS_WRITE_OUTPUT or num == SYS_LOG:  # noqa: SIM109
                off = a0 - ram_base
                if a1 > 0 and (off < 0 or off + a1 > ram_size):
                    status = ST_OUT_OF_BOUNDS
                    st[S_AUX] = a0
                    break
                if num == SYS_WRITE_OUTPUT:
                    olen = st[S_OUT_LEN]
                    if olen + a1 > out.shape[0]:
                        status = ST_OUTPUT_LIMIT
                        break
                    iop = st[S_IO_POS]
                    for k in range(a1):
                        o = off + k
                        byte = (np.int64(mem[o >> 2]) >> ((o & 3) * 8)) & 0xFF
                        out[olen + k] = byte
                        if record:
                            io[IO_STEP, iop] = tpos
                            io[IO_ADDR, iop] = a0 + k
                            io[IO_BYTE, iop] = byte
                            io[IO_KIND, iop] = IO_OUTPUT
                            iop += 1
                    st[S_IO_POS] = iop
                    st[S_OUT_LEN] = olen + a1
                else:
                    # The log is a debugging aid outside the proof: keep what fits.
                    llen = st[S_LOG_LEN]
                    for k in range(a1):
                        if llen >= logbuf.shape[0]:
                            break
                        o = off + k
                        logbuf[llen] = (np.int64(mem[o >> 2]) >> ((o & 3) * 8)) & 0xFF
                        llen += 1
                    st[S_LOG_LEN] = llen
            else:
                status = ST_UNKNOWN_SYSCALL
                st[S_AUX] = num
                break
            if record:
                sp = st[S_SYS_POS]
                sy[SY_STEP, sp] = tpos
                sy[SY_NUM, sp] = num
                sy[SY_A0, sp] = a0
                sy[SY_A1, sp] = a1
                sy[SY_RET, sp] = ret
                st[S_SYS_POS] = sp + 1
        else:
            # ILLEGAL and EBREAK (no debugger to trap into).
            status = ST_ILLEGAL
            st[S_AUX] = words[idx]
            break

        if record:
            tr[C_PC, tpos] = pc
            tr[C_INSN, tpos] = words[idx]
            tr[C_RS1, tpos] = a
            tr[C_RS2, tpos] = b
            tr[C_RD, tpos] = regs[rd] if (wrote and rd != d.ZERO_SINK) else 0
            tr[C_ADDR, tpos] = maddr
            tr[C_MEMVAL, tpos] = mval
            tr[C_WIDTH, tpos] = width
            tr[C_NEXT_PC, tpos] = npc
            tpos += 1
        cycles += 1
        pc = npc
        if status == ST_HALTED:
            break
    st[S_PC] = pc
    st[S_CYCLES] = cycles
    st[S_TRACE_POS] = tpos
    return status


@njit(cache=True)
def run_plain(
    code: np.ndarray,
    words: np.ndarray,
    rom_base: int,
    mem: np.ndarray,
    ram_base: int,
    ram_size: int,
    regs: np.ndarray,
    st: np.ndarray,
    inp: np.ndarray,
    out: np.ndarray,
    logbuf: np.ndarray,
    stop_at: int,
    tr: np.ndarray,
    io: np.ndarray,
    sy: np.ndarray,
) -> int:
    # A private copy of the program tells LLVM that stores to registers and RAM cannot
    # change it, so decoded fields need not be reloaded defensively (1.2x on SHA-256).
    code = code.copy()
    return _kernel(  # type: ignore[no-any-return]
        code,
        words,
        rom_base,
        mem,
        ram_base,
        ram_size,
        regs,
        st,
        inp,
        out,
        logbuf,
        stop_at,
        False,
        tr,
        io,
        sy,
    )


@njit(cache=True)
def run_traced(
    code: np.ndarray,
    words: np.ndarray,
    rom_base: int,
    mem: np.ndarray,
    ram_base: int,
    ram_size: int,
    regs: np.ndarray,
    st: np.ndarray,
    inp: np.ndarray,
    out: np.ndarray,
    logbuf: np.ndarray,
    stop_at: int,
    tr: np.ndarray,
    io: np.ndarray,
    sy: np.ndarray,
) -> int:
    # A private copy of the program tells LLVM that stores to registers and RAM cannot
    # change it, so decoded fields need not be reloaded defensively (1.2x on SHA-256).
    code = code.copy()
    return _kernel(  # type: ignore[no-any-return]
        code,
        words,
        rom_base,
        mem,
        ram_base,
        ram_size,
        regs,
        st,
        inp,
        out,
        logbuf,
        stop_at,
        True,
        tr,
        io,
        sy,
    )
