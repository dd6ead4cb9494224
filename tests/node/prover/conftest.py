"""Fixtures of the prover-role tests: real sample-program proofs (made for PROVER), once per
session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from prover_helpers import ELF, OTHER_ELF, PROFILE, PROVER

from execution.zkproof import prove


@pytest.fixture(scope="session")
def sample_proof() -> bytes:
    return prove(ELF, b"", PROFILE, prover=PROVER).to_bytes()


@pytest.fixture(scope="session")
def other_proof() -> bytes:
    return prove(OTHER_ELF, b"", PROFILE, prover=PROVER).to_bytes()
