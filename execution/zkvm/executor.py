"""Run a Program: the Python side of the numba core (buffers, resumption, typed errors)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution.zkvm import core
from execution.zkvm.errors import (
    CycleLimitExceeded,
    ExecutionError,
    IllegalInstruction,
    InstructionFetchError,
    MisalignedAccess,
    OutOfBoundsAccess,
    OutputLimitExceeded,
    RomWrite,
    UnknownSyscall,
)
from execution.zkvm.program import Program
from execution.zkvm.trace import ExecutionTrace

DEFAULT_MAX_CYCLES = 1 << 24
DEFAULT_MAX_OUTPUT = 1 << 20
DEFAULT_MAX_LOG = 1 << 16
_FIRST_TRACE_CHUNK = 1 << 16
_FIRST_IO_CHUNK = 1 << 12


@dataclass(frozen=True)
class ExecutionResult:
    exit_code: int
    output: bytes
    cycles: int
    log: bytes
    trace: ExecutionTrace | None


class Machine:
    """The state of one run. `run(until)` executes up to `until` total cycles and can be
    called again to continue, which is how tests single-step against another emulator."""

    def __init__(
        self,
        program: Program,
        input_bytes: bytes = b"",
        *,
        record_trace: bool = False,
        max_output: int = DEFAULT_MAX_OUTPUT,
        max_log: int = DEFAULT_MAX_LOG,
        trace_capacity: int = _FIRST_TRACE_CHUNK,
    ) -> None:
        self.program = program
        self.record_trace = record_trace
        dec = program.decoded
        self._dec = dec
        self._mem = program.initial_ram_words()
        self._regs = np.zeros(33, dtype=np.int64)
        self._st = np.zeros(core.STATE_SLOTS, dtype=np.int64)
        self._st[core.S_PC] = program.entry
        self._input = np.frombuffer(bytes(input_bytes), dtype=np.uint8)
        self._out = np.zeros(max_output, dtype=np.uint8)
        self._log = np.zeros(max_log, dtype=np.uint8)
        self.halted = False
        if record_trace:
            self._tr = np.zeros((core.NUM_COLS, max(trace_capacity, 1)), dtype=np.uint32)
            self._io = np.zeros((core.IO_COLS, _FIRST_IO_CHUNK), dtype=np.uint32)
            self._sy = np.zeros((core.SY_COLS, 64), dtype=np.uint32)
        else:
            self._tr = np.zeros((core.NUM_COLS, 0), dtype=np.uint32)
            self._io = np.zeros((core.IO_COLS, 0), dtype=np.uint32)
            self._sy = np.zeros((core.SY_COLS, 0), dtype=np.uint32)

    @property
    def pc(self) -> int:
        return int(self._st[core.S_PC])

    @property
    def cycles(self) -> int:
        return int(self._st[core.S_CYCLES])

    @property
    def exit_code(self) -> int:
        return int(self._st[core.S_EXIT])

    @property
    def regs(self) -> list[int]:
        """x0..x31 as unsigned 32-bit values."""
        values = [int(v) for v in self._regs[:32]]
        values[0] = 0
        return values

    @property
    def output(self) -> bytes:
        return self._out[: self._st[core.S_OUT_LEN]].tobytes()

    @property
    def log(self) -> bytes:
        return self._log[: self._st[core.S_LOG_LEN]].tobytes()

    @property
    def ram(self) -> np.ndarray:
        """The live RAM words (uint32); index i holds address ram_base + 4 * i."""
        return self._mem

    def read_ram(self, addr: int, length: int) -> bytes:
        off = addr - self.program.layout.ram_base
        if off < 0 or off + length > self.program.layout.ram_size:
            raise ValueError(f"range 0x{addr:08x}+{length} is outside RAM")
        return self._mem.view(np.uint8)[off : off + length].tobytes()

    def run(self, until_cycles: int) -> bool:
        """Execute until halted or `until_cycles` total cycles; return whether halted."""
        if self.halted:
            return True
        dec = self._dec
        kernel = core.run_traced if self.record_trace else core.run_plain
        while True:
            status = kernel(
                dec.packed,
                self.program.rom,
                self.program.layout.rom_base,
                self._mem,
                self.program.layout.ram_base,
                self.program.layout.ram_size,
                self._regs,
                self._st,
                self._input,
                self._out,
                self._log,
                until_cycles,
                self._tr,
                self._io,
                self._sy,
            )
            if status == core.ST_BUFFER_FULL:
                self._grow_buffers(until_cycles)
                continue
            break
        if status == core.ST_HALTED:
            self.halted = True
            return True
        if status == core.ST_PAUSED:
            return False
        raise self._error(status)

    def trace(self) -> ExecutionTrace:
        if not self.record_trace:
            raise ValueError("this machine was created without record_trace=True")
        return ExecutionTrace(
            steps=self._tr[:, : self._st[core.S_TRACE_POS]],
            io=self._io[:, : self._st[core.S_IO_POS]],
            syscalls=self._sy[:, : self._st[core.S_SYS_POS]],
            final_ram=self._mem,
        )

    def _grow_buffers(self, until_cycles: int) -> None:
        if self._st[core.S_TRACE_POS] >= self._tr.shape[1]:
            want = max(self._tr.shape[1] * 2, _FIRST_TRACE_CHUNK)
            # Never allocate much past the cycle budget of this call.
            want = min(want, max(until_cycles, self._tr.shape[1] + 1))
            grown = np.zeros((core.NUM_COLS, want), dtype=np.uint32)
            grown[:, : self._tr.shape[1]] = self._tr
            self._tr = grown
        io_needed = int(self._st[core.S_AUX])
        if io_needed > self._io.shape[1]:
            grown = np.zeros((core.IO_COLS, max(io_needed, 2 * self._io.shape[1])), dtype=np.uint32)
            grown[:, : self._io.shape[1]] = self._io
            self._io = grown
        if self._st[core.S_SYS_POS] >= self._sy.shape[1]:
            grown = np.zeros((core.SY_COLS, self._sy.shape[1] * 2), dtype=np.uint32)
            grown[:, : self._sy.shape[1]] = self._sy
            self._sy = grown

    def _error(self, status: int) -> ExecutionError:
        pc = self.pc
        aux = int(self._st[core.S_AUX])
        cycles = self.cycles
        layout = self.program.layout
        if status == core.ST_ILLEGAL:
            return IllegalInstruction(pc, aux, cycles)
        if status == core.ST_FETCH:
            return InstructionFetchError(pc, aux, cycles)
        if status == core.ST_MISALIGNED_JUMP:
            return InstructionFetchError(pc, aux, cycles, misaligned=True)
        if status == core.ST_MISALIGNED:
            return MisalignedAccess(pc, aux, cycles)
        if status == core.ST_OUT_OF_BOUNDS:
            word = int(self.program.rom[(pc - layout.rom_base) >> 2])
            is_store = (word & 0x7F) == 0x23
            if is_store and layout.in_rom(aux):
                return RomWrite(pc, aux, cycles)
            return OutOfBoundsAccess(pc, aux, cycles)
        if status == core.ST_UNKNOWN_SYSCALL:
            return UnknownSyscall(pc, aux, cycles)
        if status == core.ST_OUTPUT_LIMIT:
            return OutputLimitExceeded(pc, len(self._out), cycles)
        return ExecutionError(f"internal: unknown status {status}", pc, cycles)


def execute(
    program: Program,
    input_bytes: bytes = b"",
    *,
    max_cycles: int = DEFAULT_MAX_CYCLES,
    record_trace: bool = False,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> ExecutionResult:
    """Run `program` to completion. Raises an ExecutionError subclass on any fault,
    including CycleLimitExceeded when it has not halted after `max_cycles` instructions."""
    capacity = _FIRST_TRACE_CHUNK
    if record_trace:
        # A plain run first gives the exact trace length: allocating the columns once is
        # about 3x faster than growing them (page faults and copies dominate tracing).
        capacity = execute(
            program, input_bytes, max_cycles=max_cycles, max_output=max_output
        ).cycles
    machine = Machine(
        program,
        input_bytes,
        record_trace=record_trace,
        max_output=max_output,
        trace_capacity=capacity,
    )
    if not machine.run(max_cycles):
        raise CycleLimitExceeded(machine.pc, max_cycles)
    return ExecutionResult(
        exit_code=machine.exit_code,
        output=machine.output,
        cycles=machine.cycles,
        log=machine.log,
        trace=machine.trace() if record_trace else None,
    )


def warm_up() -> None:
    """Compile (or load from numba's disk cache) both interpreter kernels now, e.g. in an
    install step, so that the first real run does not pay several seconds of compilation."""
    from execution.zkvm.asm import halt
    from execution.zkvm.layout import DEFAULT_LAYOUT

    program = Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(halt(), dtype=np.uint32),
        ram_init=(),
    )
    execute(program, record_trace=True)
