"""Expected failures of the zkVM: malformed programs and bad executions.

Every runtime error carries the pc of the instruction that failed. The numba core never
raises: it stops with a status code, and executor.py turns that code into one of these.
"""

from __future__ import annotations


class ZkvmError(Exception):
    """Root of every expected zkVM failure."""


class ElfError(ZkvmError):
    """The ELF file is malformed or does not fit the zkVM layout."""


class ToolchainError(ZkvmError):
    """Compiling a guest failed (compiler missing or the compiler reported errors)."""


class ExecutionError(ZkvmError):
    """A guest program stopped abnormally at `pc` after `cycles` executed instructions."""

    def __init__(self, message: str, pc: int, cycles: int = 0) -> None:
        super().__init__(f"{message} (pc=0x{pc:08x})")
        self.pc = pc
        self.cycles = cycles


class IllegalInstruction(ExecutionError):
    def __init__(self, pc: int, word: int, cycles: int = 0) -> None:
        super().__init__(f"illegal instruction 0x{word:08x}", pc, cycles)
        self.word = word


class InstructionFetchError(ExecutionError):
    """The pc left the loaded program ROM (or a jump target was not 4-aligned)."""

    def __init__(self, pc: int, target: int, cycles: int = 0, *, misaligned: bool = False) -> None:
        what = "misaligned jump target" if misaligned else "instruction fetch outside program ROM"
        super().__init__(f"{what} 0x{target:08x}", pc, cycles)
        self.target = target


class MemoryAccessError(ExecutionError):
    """Base class of load/store faults; `addr` is the effective address."""

    def __init__(self, message: str, pc: int, addr: int, cycles: int = 0) -> None:
        super().__init__(f"{message} at address 0x{addr:08x}", pc, cycles)
        self.addr = addr


class MisalignedAccess(MemoryAccessError):
    def __init__(self, pc: int, addr: int, cycles: int = 0) -> None:
        super().__init__("misaligned memory access", pc, addr, cycles)


class OutOfBoundsAccess(MemoryAccessError):
    def __init__(self, pc: int, addr: int, cycles: int = 0) -> None:
        super().__init__("memory access outside RAM", pc, addr, cycles)


class RomWrite(MemoryAccessError):
    def __init__(self, pc: int, addr: int, cycles: int = 0) -> None:
        super().__init__("store to program ROM", pc, addr, cycles)


class CycleLimitExceeded(ExecutionError):
    def __init__(self, pc: int, limit: int) -> None:
        super().__init__(f"cycle limit of {limit} exceeded", pc, limit)
        self.limit = limit


class UnknownSyscall(ExecutionError):
    def __init__(self, pc: int, number: int, cycles: int = 0) -> None:
        super().__init__(f"unknown syscall number {number}", pc, cycles)
        self.number = number


class OutputLimitExceeded(ExecutionError):
    def __init__(self, pc: int, limit: int, cycles: int = 0) -> None:
        super().__init__(f"public output larger than {limit} bytes", pc, cycles)
        self.limit = limit
