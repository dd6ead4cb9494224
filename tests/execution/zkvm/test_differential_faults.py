"""Faults agree with unicorn: where QEMU also traps (illegal instruction, access outside the
mapped regions, store to read-only memory, fetch outside ROM), both machines stop at the
same pc. Not compared: misaligned accesses (QEMU performs them, the zkVM traps) and loads
from ROM (unicorn cannot map memory execute-only; the zkVM refuses them, see
test_executor.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from unicorn import UcError  # type: ignore[attr-defined]
from unicorn.riscv_const import UC_RISCV_REG_PC

from execution.zkvm import (
    DEFAULT_LAYOUT,
    ExecutionError,
    IllegalInstruction,
    InstructionFetchError,
    OutOfBoundsAccess,
    Program,
    RomWrite,
    execute,
)
from execution.zkvm.asm import i_type, j_type, li, s_type

ROM = DEFAULT_LAYOUT.rom_base
RAM_END = DEFAULT_LAYOUT.ram_end

CASES: dict[str, tuple[list[int], type[ExecutionError]]] = {
    "illegal word": ([i_type(1, 0, 0, 5), 0xFFFF_FFFF], IllegalInstruction),
    "zero word": ([i_type(1, 0, 0, 5), 0x0000_0000], IllegalInstruction),
    "load past RAM": ([*li(5, RAM_END), i_type(0, 5, 2, 6, 0x03)], OutOfBoundsAccess),
    "load from address 0": ([i_type(0, 0, 2, 6, 0x03)], OutOfBoundsAccess),
    "store to ROM": ([*li(5, ROM), s_type(0, 5, 5, 2)], RomWrite),
    "store below RAM": (
        [*li(5, DEFAULT_LAYOUT.ram_base - 4), s_type(0, 5, 5, 2)],
        OutOfBoundsAccess,
    ),
    "jump to RAM": (
        [*li(5, DEFAULT_LAYOUT.ram_base), i_type(0, 5, 0, 0, 0x67)],
        InstructionFetchError,
    ),
    "jump before ROM": ([j_type(-8, 0)], InstructionFetchError),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fault_matches_unicorn(
    name: str, make_program: Callable[..., Program], unicorn_ref: Any
) -> None:
    words, error = CASES[name]
    program = make_program(words)
    with pytest.raises(error) as info:
        execute(program, max_cycles=100)
    ours = info.value.pc

    ref = unicorn_ref(program, b"")
    if error is IllegalInstruction:
        # QEMU raises the illegal-instruction exception (cause 2) through the interrupt
        # hook, which (as for ECALL) sees pc already one instruction past the fault.
        ref.uc.emu_start(program.entry, 0xFFFF_FFFF, count=100)
        assert ref.exception == 2
        assert ref.uc.reg_read(UC_RISCV_REG_PC) - 4 == ours, name
    else:
        # A memory fault stops unicorn with pc at the faulting instruction (for a fetch,
        # at the unmapped address itself).
        with pytest.raises(UcError):
            ref.uc.emu_start(program.entry, 0xFFFF_FFFF, count=100)
        assert ref.uc.reg_read(UC_RISCV_REG_PC) == ours, name
