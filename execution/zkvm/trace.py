"""The execution trace handed to the prover: columns, not per-step objects.

docs/zkvm.md defines every column. All arrays are uint32 numpy arrays; the step columns
have one entry per executed instruction (length == cycles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution.zkvm import core

STEP_COLUMNS: tuple[str, ...] = (
    "pc",
    "insn",
    "rs1_val",
    "rs2_val",
    "rd_val",
    "mem_addr",
    "mem_val",
    "mem_width",
    "next_pc",
)
IO_COLUMNS: tuple[str, ...] = ("step", "addr", "byte", "kind")
SYSCALL_COLUMNS: tuple[str, ...] = ("step", "number", "a0", "a1", "ret")


@dataclass(frozen=True)
class ExecutionTrace:
    steps: np.ndarray  # (len(STEP_COLUMNS), cycles) uint32, one row per column
    io: np.ndarray  # (4, n_io) uint32: bytes moved by read_input / write_output
    syscalls: np.ndarray  # (5, n_syscalls) uint32
    final_ram: np.ndarray  # (ram_size // 4,) uint32: RAM words after the last step

    def __len__(self) -> int:
        return int(self.steps.shape[1])

    def _row(self, index: int) -> np.ndarray:
        row: np.ndarray = self.steps[index]
        return row

    def column(self, name: str) -> np.ndarray:
        return self._row(STEP_COLUMNS.index(name))

    @property
    def pc(self) -> np.ndarray:
        return self._row(core.C_PC)

    @property
    def insn(self) -> np.ndarray:
        return self._row(core.C_INSN)

    @property
    def rs1_val(self) -> np.ndarray:
        return self._row(core.C_RS1)

    @property
    def rs2_val(self) -> np.ndarray:
        return self._row(core.C_RS2)

    @property
    def rd_val(self) -> np.ndarray:
        return self._row(core.C_RD)

    @property
    def mem_addr(self) -> np.ndarray:
        return self._row(core.C_ADDR)

    @property
    def mem_val(self) -> np.ndarray:
        return self._row(core.C_MEMVAL)

    @property
    def mem_width(self) -> np.ndarray:
        return self._row(core.C_WIDTH)

    @property
    def next_pc(self) -> np.ndarray:
        return self._row(core.C_NEXT_PC)
