"""Expected failures of the zkVM prover and verifier (one root: ZkProofError)."""

from __future__ import annotations

__all__ = [
    "CycleLimitError",
    "InvalidTaskProof",
    "UnsupportedInstruction",
    "UnsupportedSyscall",
    "ZkProofError",
]


class ZkProofError(Exception):
    """Root of every expected failure of execution.zkproof."""


class UnsupportedInstruction(ZkProofError):
    """The run executes an instruction whose constraints this prover does not have yet.

    Proving it would mean proving semantics nothing checks, so the prover refuses instead.
    """

    def __init__(self, name: str, pc: int, count: int) -> None:
        super().__init__(
            f"instruction {name} (first at pc 0x{pc:08x}, executed {count} times) is not "
            "constrained by this prover version; see docs/zkvm-prover.md"
        )
        self.name = name
        self.pc = pc
        self.count = count


class UnsupportedSyscall(ZkProofError):
    """The run makes a syscall whose effect this prover does not constrain yet."""

    def __init__(self, number: int, pc: int) -> None:
        super().__init__(
            f"syscall {number} at pc 0x{pc:08x} is not constrained by this prover version "
            "(only halt is); see docs/zkvm-prover.md"
        )
        self.number = number
        self.pc = pc


class CycleLimitError(ZkProofError):
    """The run is longer than one proof may be (continuations come later)."""

    def __init__(self, cycles: int, limit: int) -> None:
        super().__init__(f"the run takes {cycles} cycles; one proof covers at most {limit}")
        self.cycles = cycles
        self.limit = limit


class InvalidTaskProof(ZkProofError):
    """A task proof does not verify against the statement; `reason` names the check."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
