"""Shared fixtures of the zkVM tests: the example programs and a unicorn reference machine.

unicorn (QEMU's RISC-V 32 emulator) is the independent oracle: `run_differential` steps it
and our executor side by side and compares pc and the written register after every step,
all 32 registers and RAM windows at every chunk boundary, and all of RAM, the output and the
exit code at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from unicorn import (
    UC_ARCH_RISCV,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_MODE_RISCV32,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
)
from unicorn.riscv_const import UC_RISCV_REG_PC, UC_RISCV_REG_X0

from execution.zkvm import Machine, Program, load_elf_file
from execution.zkvm.examples import EXAMPLE_GUESTS, example_elf
from execution.zkvm.syscalls import SYS_HALT, SYS_LOG, SYS_READ_INPUT, SYS_WRITE_OUTPUT

_WRITES_RD = {0x37, 0x17, 0x6F, 0x67, 0x03, 0x13, 0x33}
_REG_IDS = [UC_RISCV_REG_X0 + k for k in range(32)]


@dataclass
class UnicornRef:
    """A unicorn RISC-V 32 machine loaded with the same program, input and syscalls."""

    program: Program
    input_bytes: bytes
    uc: Any = None
    in_pos: int = 0
    output: bytearray = field(default_factory=bytearray)
    halted: bool = False
    exit_code: int = 0
    exception: int | None = None  # RISC-V exception cause other than ECALL, if one occurred

    def __post_init__(self) -> None:
        layout = self.program.layout
        uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
        # ROM is execute-only in the zkVM; mapping it without READ makes a stray load from
        # ROM fault in unicorn too.
        uc.mem_map(layout.rom_base, layout.rom_size, UC_PROT_EXEC)
        uc.mem_map(layout.ram_base, layout.ram_size, UC_PROT_READ | UC_PROT_WRITE)
        uc.mem_write(layout.rom_base, self.program.rom.astype("<u4").tobytes())
        for seg in self.program.ram_init:
            uc.mem_write(seg.addr, seg.data)
        uc.reg_write(UC_RISCV_REG_PC, self.program.entry)
        uc.hook_add(UC_HOOK_INTR, self._on_interrupt)
        self.uc = uc
        self.pc = self.program.entry

    def _on_interrupt(self, uc: Any, intno: int, _data: Any) -> None:
        if intno != 8:  # 8: environment call from U-mode; anything else is a fault
            self.exception = intno
            uc.emu_stop()
            return
        # unicorn has already advanced pc past the ECALL when this hook runs.
        num = uc.reg_read(UC_RISCV_REG_X0 + 17)
        a0 = uc.reg_read(UC_RISCV_REG_X0 + 10)
        a1 = uc.reg_read(UC_RISCV_REG_X0 + 11)
        if num == SYS_HALT:
            self.halted = True
            self.exit_code = a0
            uc.emu_stop()
        elif num == SYS_READ_INPUT:
            chunk = self.input_bytes[self.in_pos : self.in_pos + a1]
            uc.mem_write(a0, chunk)
            self.in_pos += len(chunk)
            uc.reg_write(UC_RISCV_REG_X0 + 10, len(chunk))
        elif num == SYS_WRITE_OUTPUT:
            self.output += uc.mem_read(a0, a1)
        elif num == SYS_LOG:
            pass
        else:
            raise AssertionError(f"unicorn: unexpected syscall {num} (intno {intno})")

    def regs(self) -> list[int]:
        return [int(v) & 0xFFFF_FFFF for v in self.uc.reg_read_batch(_REG_IDS)]

    def read(self, addr: int, length: int) -> bytes:
        return bytes(self.uc.mem_read(addr, length))

    def run_checked(self, trace: Any, start: int, end: int) -> None:
        """Execute steps [start, end) comparing each against our trace's step columns."""
        pcs = trace.pc[start:end].tolist()
        insns = trace.insn[start:end].tolist()
        rd_vals = trace.rd_val[start:end].tolist()
        uc = self.uc
        state = {"i": 0}

        def check_written(i: int) -> None:
            insn = insns[i]
            rd = (insn >> 7) & 31
            if (insn & 0x7F) in _WRITES_RD and rd != 0:
                got = uc.reg_read(UC_RISCV_REG_X0 + rd) & 0xFFFF_FFFF
                assert got == rd_vals[i], (
                    f"step {start + i} pc=0x{pcs[i]:08x} insn=0x{insn:08x}: "
                    f"x{rd} unicorn=0x{got:08x} ours=0x{rd_vals[i]:08x}"
                )

        def on_code(uc_: Any, address: int, _size: int, _data: Any) -> None:
            i = state["i"]
            if i > 0:
                check_written(i - 1)
            assert i < len(pcs), f"unicorn ran past step {start + len(pcs)}"
            assert address == pcs[i], (
                f"step {start + i}: pc unicorn=0x{address:08x} ours=0x{pcs[i]:08x}"
            )
            state["i"] = i + 1

        hook = uc.hook_add(UC_HOOK_CODE, on_code)
        try:
            uc.emu_start(self.pc, 0xFFFF_FFFF, count=end - start)
        finally:
            uc.hook_del(hook)
        assert self.exception is None, f"unicorn raised exception cause {self.exception}"
        assert state["i"] == end - start, f"unicorn executed {state['i']} of {end - start}"
        check_written(end - start - 1)
        self.pc = uc.reg_read(UC_RISCV_REG_PC)


def run_differential(
    program: Program,
    input_bytes: bytes = b"",
    *,
    chunk: int = 256,
    windows: tuple[tuple[int, int], ...] = (),
    max_cycles: int = 10_000_000,
) -> Machine:
    """Run `program` on both machines in lockstep; return our finished Machine."""
    machine = Machine(program, input_bytes, record_trace=True)
    ref = UnicornRef(program, input_bytes)
    done = 0
    while True:
        halted = machine.run(min(done + chunk, max_cycles))
        assert machine.cycles > done or halted, "no progress"
        ref.run_checked(machine.trace(), done, machine.cycles)
        done = machine.cycles
        assert machine.regs == ref.regs(), f"registers differ after step {done}"
        for addr, length in windows:
            assert machine.read_ram(addr, length) == ref.read(addr, length), (
                f"RAM [0x{addr:08x}, +{length}) differs after step {done}"
            )
        if halted:
            break
        assert done < max_cycles, "program did not halt"
        assert machine.pc == ref.pc
    assert ref.halted
    assert machine.exit_code == ref.exit_code
    assert machine.output == bytes(ref.output)
    layout = program.layout
    assert machine.read_ram(layout.ram_base, layout.ram_size) == ref.read(
        layout.ram_base, layout.ram_size
    ), "final RAM differs"
    return machine


@pytest.fixture(scope="session")
def examples() -> dict[str, Program]:
    return {name: load_elf_file(example_elf(name)) for name in EXAMPLE_GUESTS}


@pytest.fixture(scope="session")
def differential() -> Callable[..., Machine]:
    return run_differential


@pytest.fixture(scope="session")
def unicorn_ref() -> type[UnicornRef]:
    return UnicornRef


def words_program(words: list[int], ram_init: tuple[Any, ...] = ()) -> Program:
    from execution.zkvm import DEFAULT_LAYOUT

    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=ram_init,
    )


@pytest.fixture(scope="session")
def make_program() -> Callable[..., Program]:
    return words_program
