"""A loaded guest program: its ROM words, initial RAM contents, entry point and layout."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from execution.zkvm.decoder import DecodedProgram, decode_words
from execution.zkvm.layout import MemoryLayout


@dataclass(frozen=True)
class RamSegment:
    """Bytes placed at `addr` in RAM before the first instruction runs."""

    addr: int
    data: bytes


@dataclass(frozen=True, eq=False)  # identity semantics: fields hold numpy arrays
class Program:
    """A checked program. `rom` holds the instruction words from layout.rom_base on;
    `ram_init` the initialised data segments (sorted by address, non-overlapping).
    Everything not covered by ram_init starts as zero."""

    layout: MemoryLayout
    entry: int
    rom: np.ndarray  # uint32 words
    ram_init: tuple[RamSegment, ...]
    _decoded: list[DecodedProgram] = field(default_factory=list, repr=False, compare=False)

    @property
    def decoded(self) -> DecodedProgram:
        if not self._decoded:
            self._decoded.append(decode_words(self.rom))
        return self._decoded[0]

    def initial_ram_words(self) -> np.ndarray:
        """The whole RAM as uint32 words (little-endian), initialised from ram_init."""
        words = np.zeros(self.layout.ram_size // 4, dtype=np.uint32)
        ram = words.view(np.uint8)  # little-endian hosts only (numpy's uint32 is native)
        for seg in self.ram_init:
            off = seg.addr - self.layout.ram_base
            ram[off : off + len(seg.data)] = np.frombuffer(seg.data, dtype=np.uint8)
        return words
