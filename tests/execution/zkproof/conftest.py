"""Shared fixtures: one small sample program and its honest proof per test session."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from zkproof_cases import INPUT, ITERATIONS, Honest

from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program


@pytest.fixture(scope="session")
def honest() -> Honest:
    program = fib_loop_program(ITERATIONS)
    proof = prove(program, INPUT, "conjectured")
    return Honest(program, proof, proof.to_bytes())
