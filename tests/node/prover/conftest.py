"""Fixtures of the prover-role tests: real sample-program proofs (made for PROVER and a task
id: a proof binds both), each made once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from prover_helpers import ELF, OTHER_ELF, PROFILE, PROVER, T1, ProofFor

from execution.zkproof import prove


@pytest.fixture(scope="session")
def proof_for() -> ProofFor:
    """`proof_for(task_id, elf=ELF)`: the sample program's proof for PROVER and that task."""
    made: dict[tuple[bytes, bytes], bytes] = {}

    def make(task_id: bytes, elf: bytes = ELF) -> bytes:
        if (task_id, elf) not in made:
            made[task_id, elf] = prove(elf, b"", PROFILE, prover=PROVER, task_id=task_id).to_bytes()
        return made[task_id, elf]

    return make


@pytest.fixture(scope="session")
def sample_proof(proof_for: ProofFor) -> bytes:
    """The sample program's proof of task T1."""
    return proof_for(T1)


@pytest.fixture(scope="session")
def other_proof(proof_for: ProofFor) -> bytes:
    return proof_for(T1, OTHER_ELF)
