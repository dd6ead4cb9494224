"""ELF rules that keep a deploy's hashing cost proportional to the bytes it pays gas for."""

from __future__ import annotations

import struct

import pytest

from execution.zkproof.samples import fib_loop_program, program_elf
from execution.zkvm import ElfError, load_elf
from execution.zkvm.layout import DEFAULT_LAYOUT

PHDR = 52  # program_elf writes one program header right after the ELF header


def _patch(elf: bytes, offset: int, value: int) -> bytes:
    return elf[:offset] + struct.pack("<I", value) + elf[offset + 4 :]


def test_the_plain_program_loads() -> None:
    load_elf(program_elf(fib_loop_program(3)))


def test_zero_filled_code_is_refused() -> None:
    elf = program_elf(fib_loop_program(3))
    huge = _patch(elf, PHDR + 20, (4 << 20) - 64)  # p_memsz: 4 MiB of code from a few bytes
    with pytest.raises(ElfError, match="filesz == memsz"):
        load_elf(huge)


def test_code_far_from_the_start_of_rom_is_refused() -> None:
    elf = program_elf(fib_loop_program(3))
    far = DEFAULT_LAYOUT.rom_base + (3 << 20)
    moved = _patch(_patch(elf, PHDR + 8, far), PHDR + 12, far)  # p_vaddr, p_paddr
    moved = _patch(moved, 24, far)  # e_entry follows the code
    with pytest.raises(ElfError, match="packed"):
        load_elf(moved)
