"""The fixed Harvard memory layout of the zkVM.

Program ROM (instructions only) and RAM (all data: .rodata, .data, .bss, heap, stack) are
separate address ranges. Instruction fetches read ROM; loads and stores may touch RAM only.
Keeping ROM execute-only means the prover handles two disjoint memories: a preprocessed
program table and one read/write RAM, with no data reads from the program table.
The SDK linker script (sdk/link.ld) hard-codes the same numbers; a test checks they agree.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MemoryLayout:
    """Address ranges as [base, base + size). All values fit in 32 bits and are 4-aligned."""

    rom_base: int
    rom_size: int
    ram_base: int
    ram_size: int

    @property
    def rom_end(self) -> int:
        return self.rom_base + self.rom_size

    @property
    def ram_end(self) -> int:
        return self.ram_base + self.ram_size

    @property
    def stack_top(self) -> int:
        """Initial stack pointer set by the SDK start file (the stack grows down from here)."""
        return self.ram_end

    def in_rom(self, addr: int, size: int = 1) -> bool:
        return self.rom_base <= addr and addr + size <= self.rom_end

    def in_ram(self, addr: int, size: int = 1) -> bool:
        return self.ram_base <= addr and addr + size <= self.ram_end

    def as_words(self) -> tuple[int, int, int, int]:
        """The four numbers the image id binds, in a fixed order."""
        return (self.rom_base, self.rom_size, self.ram_base, self.ram_size)


# 4 MiB of code at 64 KiB (address 0 stays unmapped so a null pointer faults);
# 16 MiB of RAM at 256 MiB, the stack at its top.
DEFAULT_LAYOUT = MemoryLayout(
    rom_base=0x0001_0000,
    rom_size=0x0040_0000,
    ram_base=0x1000_0000,
    ram_size=0x0100_0000,
)
