"""The zkVM prover: RV32IM runs proven with execution.stark (design: docs/zkvm-prover.md)."""

from __future__ import annotations

from execution.zkproof.air import (
    CPU_COLUMNS,
    CPU_PUBLICS,
    CpuAir,
    ProgramAir,
    RangeAir,
    RegisterAir,
)
from execution.zkproof.errors import (
    CycleLimitError,
    InvalidTaskProof,
    UnsupportedInstruction,
    UnsupportedSyscall,
    ZkProofError,
)
from execution.zkproof.isa import SUPPORTED_OPS, program_table
from execution.zkproof.prover import (
    ProveReport,
    ZkvmAirs,
    airs_for,
    prove,
    prove_traces,
    public_values,
    statement_for_run,
    traces_for_run,
    verify,
)
from execution.zkproof.statement import NO_PROVER, NO_TASK, Statement, bytes_digest
from execution.zkproof.task import TaskProof
from execution.zkproof.tracegen import MAX_LOG_CYCLES, ZkvmTraces, build_traces, check_supported
from execution.zkproof.worker import prove_async

__all__ = [
    "CPU_COLUMNS",
    "CPU_PUBLICS",
    "MAX_LOG_CYCLES",
    "NO_PROVER",
    "NO_TASK",
    "SUPPORTED_OPS",
    "CpuAir",
    "CycleLimitError",
    "InvalidTaskProof",
    "ProgramAir",
    "ProveReport",
    "RangeAir",
    "RegisterAir",
    "Statement",
    "TaskProof",
    "UnsupportedInstruction",
    "UnsupportedSyscall",
    "ZkProofError",
    "ZkvmAirs",
    "ZkvmTraces",
    "airs_for",
    "build_traces",
    "bytes_digest",
    "check_supported",
    "program_table",
    "prove",
    "prove_async",
    "prove_traces",
    "public_values",
    "statement_for_run",
    "traces_for_run",
    "verify",
]
