"""The verifier program of a zkVM task proof (15 tables on LogUp buses): same verdicts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from execution.recursion.interpret import run
from execution.recursion.record import program_inputs, record_program
from execution.stark.field import P
from execution.stark.params import profile as fri_profile
from execution.zkproof import prove
from execution.zkproof.prover import airs_for, public_values
from execution.zkproof.samples import fib_loop_program


@pytest.mark.slow
def test_zkvm_task_proof_program_accepts_honest_and_rejects_tampered() -> None:
    program = fib_loop_program(20)
    tp = prove(program, b"some input", "conjectured")
    st = tp.statement
    airs = airs_for(tp.program, tp.input, st.output).as_list()
    pubs = public_values(st, tp.program, len(tp.input))
    params = fri_profile(st.profile)
    rec = record_program(airs, tp.stark, params)
    verdict = run(rec.program, program_inputs(rec, tp.stark, pubs))
    assert verdict.accepted, verdict.reason
    assert [o[0] for o in verdict.outputs] == [v for pub in pubs for v in pub]
    # One opened word of the CPU table's main trace changed.
    stark = tp.stark
    cpu = stark.tables[0]
    rows = cpu.main_rows.copy()
    rows[3, 5] = (int(rows[3, 5]) + 1) % P
    bad = replace(stark, tables=[replace(cpu, main_rows=rows), *stark.tables[1:]])
    verdict = run(rec.program, program_inputs(rec, bad, pubs))
    assert not verdict.accepted
    assert "zkvm_cpu_v1: main Merkle" in verdict.reason
