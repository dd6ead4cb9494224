"""The recursion AIR proves runs of the recorded STARK verifier (Fibonacci statement)."""

from __future__ import annotations

import os
import sys
from functools import cache

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))
from stark_cases import FAST, statement

from execution.recursion.interpret import run
from execution.recursion.prove import RecursionKey, program_key, prove, verify
from execution.recursion.record import Recording, program_inputs, record_program
from execution.recursion.tracegen import ExecutionError, execute
from execution.stark.errors import InvalidProof
from execution.stark.field import P
from execution.stark.proof import Proof


@cache
def _fibonacci() -> tuple[list[list[int]], Proof, Recording, RecursionKey]:
    st = statement("fibonacci", 6, 1)
    proof = st.prove(FAST)
    rec = record_program(st.airs, proof, FAST)
    return st.publics, proof, rec, program_key(rec.program)


def test_run_of_the_fibonacci_verifier_proves_and_verifies() -> None:
    publics, proof, rec, key = _fibonacci()
    run = prove(rec.program, program_inputs(rec, proof, publics), FAST, key=key)
    # The program exposes the verified statement: the Fibonacci public values.
    assert run.outputs.tolist() == [[v, 0, 0, 0] for pub in publics for v in pub]
    outer = Proof.from_bytes(run.proof.to_bytes())
    verify(outer, key, rec.program.control_id(), run.outputs, FAST)
    other = run.outputs.copy()
    other[2, 0] = (other[2, 0] + 1) % P
    with pytest.raises(InvalidProof):
        verify(outer, key, rec.program.control_id(), other, FAST)


def test_merkle_steps_and_multiply_adds_of_the_recorded_verifier_are_fused() -> None:
    # A recorder change that breaks either pattern would silently make recursion much dearer.
    _, _, rec, key = _fibonacci()
    counts = rec.program.counts()
    rows = key.layout.rows
    assert len(rows["select"]) < counts["SELECT"] // 4
    assert len(rows["poseidon2"]) == counts["POSEIDON2"]
    arith_ops = sum(counts.get(op, 0) for op in ("ADD", "SUB", "MUL", "INV", "ASSERT_EQ"))
    assert len(rows["arith"]) < arith_ops - counts["MUL"] // 4


def test_trace_execution_agrees_with_the_interpreter() -> None:
    publics, proof, rec, _ = _fibonacci()
    words = program_inputs(rec, proof, publics)
    cells = execute(rec.program, words)
    verdict = run(rec.program, words)
    assert verdict.accepted
    assert [tuple(int(v) for v in cells[a]) for a in rec.program.outputs()] == verdict.outputs


def test_inner_proof_with_a_wrong_statement_cannot_be_proven() -> None:
    publics, proof, rec, key = _fibonacci()
    wrong = [list(p) for p in publics]
    wrong[0][2] = (wrong[0][2] + 1) % P
    with pytest.raises(ExecutionError):
        prove(rec.program, program_inputs(rec, proof, wrong), FAST, key=key)


def test_tampered_inner_proof_cannot_be_proven() -> None:
    publics, proof, rec, key = _fibonacci()
    words = np.array(program_inputs(rec, proof, publics), dtype=np.int64)
    # A word of the proof body (past the statement) changed: the verifier program rejects it.
    i = len(words) // 2
    words[i] = (words[i] + 1) % P
    with pytest.raises(ExecutionError):
        prove(rec.program, words.tolist(), FAST, key=key)


@pytest.mark.slow
def test_recursion_proof_verified_by_a_recorded_program_is_proven_again() -> None:
    # Two levels: the verifier of a recursion proof, recorded over the recursion AIR's own
    # tables, runs and is proven by the same AIR; the statement travels up as its outputs.
    publics, proof, rec, key = _fibonacci()
    run = prove(rec.program, program_inputs(rec, proof, publics), FAST, key=key)
    outer_publics: list[list[int]] = [[] for _ in key.airs]
    outer_publics[-1] = [int(v) for v in run.outputs.reshape(-1)]
    rec2 = record_program(list(key.airs), run.proof, FAST)
    key2 = program_key(rec2.program)
    run2 = prove(rec2.program, program_inputs(rec2, run.proof, outer_publics), FAST, key=key2)
    assert [int(v) for v in run2.outputs[:, 0]] == outer_publics[-1]
    verify(run2.proof, key2, rec2.program.control_id(), run2.outputs, FAST)
