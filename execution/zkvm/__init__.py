"""The ivcnet zkVM: RV32IM guests in a Harvard layout, a numba executor, traces for the prover."""

from __future__ import annotations

from execution.zkvm.elf_loader import MAX_ELF_BYTES, load_elf, load_elf_file
from execution.zkvm.errors import (
    CycleLimitExceeded,
    ElfError,
    ExecutionError,
    IllegalInstruction,
    InstructionFetchError,
    MemoryAccessError,
    MisalignedAccess,
    OutOfBoundsAccess,
    OutputLimitExceeded,
    RomWrite,
    ToolchainError,
    UnknownSyscall,
    ZkvmError,
)
from execution.zkvm.executor import (
    DEFAULT_MAX_CYCLES,
    DEFAULT_MAX_OUTPUT,
    ExecutionResult,
    Machine,
    execute,
    warm_up,
)
from execution.zkvm.image import image_id, image_id_hex
from execution.zkvm.layout import DEFAULT_LAYOUT, MemoryLayout
from execution.zkvm.program import Program, RamSegment
from execution.zkvm.syscalls import SYS_HALT, SYS_LOG, SYS_READ_INPUT, SYS_WRITE_OUTPUT
from execution.zkvm.toolchain import build_guest
from execution.zkvm.trace import IO_COLUMNS, STEP_COLUMNS, SYSCALL_COLUMNS, ExecutionTrace

__all__ = [
    "DEFAULT_LAYOUT",
    "DEFAULT_MAX_CYCLES",
    "DEFAULT_MAX_OUTPUT",
    "IO_COLUMNS",
    "MAX_ELF_BYTES",
    "STEP_COLUMNS",
    "SYSCALL_COLUMNS",
    "SYS_HALT",
    "SYS_LOG",
    "SYS_READ_INPUT",
    "SYS_WRITE_OUTPUT",
    "CycleLimitExceeded",
    "ElfError",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionTrace",
    "IllegalInstruction",
    "InstructionFetchError",
    "Machine",
    "MemoryAccessError",
    "MemoryLayout",
    "MisalignedAccess",
    "OutOfBoundsAccess",
    "OutputLimitExceeded",
    "Program",
    "RamSegment",
    "RomWrite",
    "ToolchainError",
    "UnknownSyscall",
    "ZkvmError",
    "build_guest",
    "execute",
    "image_id",
    "image_id_hex",
    "load_elf",
    "load_elf_file",
    "warm_up",
]
