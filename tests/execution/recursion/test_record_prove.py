"""End to end: a recorded verifier program, run on a STARK proof, proven by the recursion AIR."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST, statement

from execution.recursion import prove as rp
from execution.recursion.interpret import run
from execution.recursion.record import program_inputs, record_program
from execution.recursion.tracegen import ExecutionError, execute
from execution.stark.errors import InvalidProof
from execution.stark.field import P


def test_recursion_proof_of_a_fibonacci_verification() -> None:
    st = statement("fibonacci", 6)
    proof = st.prove(FAST)
    rec = record_program(st.airs, proof, FAST)
    key = rp.program_key(rec.program)
    rproof = rp.prove(rec.program, program_inputs(rec, proof, st.publics), FAST, key=key)
    # The recursion proof exposes the statement the inner proof was verified against.
    assert rproof.outputs[:, 0].tolist() == st.publics[0]
    assert not rproof.outputs[:, 1:].any()
    rp.verify(rproof.proof, key, rec.program.control_id(), rproof.outputs, FAST)
    forged = rproof.outputs.copy()
    forged[2, 0] = (int(forged[2, 0]) + 1) % P
    with pytest.raises(InvalidProof):
        rp.verify(rproof.proof, key, rec.program.control_id(), forged, FAST)
    # A tampered inner proof has no run to prove.
    bad = replace(proof, fri=replace(proof.fri, final_poly=(proof.fri.final_poly + 1) % P))
    with pytest.raises(ExecutionError):
        rp.prove(rec.program, program_inputs(rec, bad, st.publics), FAST, key=key)


def test_interpreter_and_recursion_prover_run_agree() -> None:
    """The native interpreter and the trace generator's run compute the same cells' outputs."""
    st = statement("logup", 8)
    proof = st.prove(FAST)
    rec = record_program(st.airs, proof, FAST)
    inputs = program_inputs(rec, proof, st.publics)
    cells = execute(rec.program, inputs)
    verdict = run(rec.program, inputs)
    assert verdict.accepted
    assert [tuple(int(v) for v in cells[a]) for a in rec.program.outputs()] == verdict.outputs
