"""Shared test data for the zkVM prover tests (imported by conftest and the tests)."""

from __future__ import annotations

from dataclasses import dataclass

from execution.zkproof import TaskProof
from execution.zkvm.program import Program

ITERATIONS = 20  # 193 cycles: a 256-row CPU table
INPUT = b"some input"


@dataclass(frozen=True)
class Honest:
    program: Program
    proof: TaskProof
    data: bytes
