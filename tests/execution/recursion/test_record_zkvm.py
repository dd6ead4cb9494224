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


@pytest.mark.slow
def test_one_program_verifies_two_guest_programs_of_one_shape() -> None:
    """With the per-guest tables (ROM, RAM image) as instance tables, one recorded program
    verifies task proofs of different guests and exposes which guest each proof is for."""
    runs = []
    for iterations in (20, 21):
        tp = prove(fib_loop_program(iterations), b"some input", "conjectured")
        st = tp.statement
        airs = airs_for(tp.program, tp.input, st.output).as_list()
        runs.append((tp, airs, public_values(st, tp.program, len(tp.input))))
    (tp_a, airs_a, pubs_a), (tp_b, airs_b, pubs_b) = runs
    pairs = enumerate(zip(airs_a, airs_b, strict=True))
    instance = tuple(i for i, (a, b) in pairs if a.digest != b.digest)
    assert 1 in instance  # the ROM table
    params = fri_profile(tp_a.statement.profile)
    rec = record_program(airs_a, tp_a.stark, params, instance_tables=instance)
    outputs = []
    for tp, airs, pubs in runs:
        verdict = run(rec.program, program_inputs(rec, tp.stark, pubs, airs))
        assert verdict.accepted, verdict.reason
        outputs.append(verdict.outputs)
    assert outputs[0] != outputs[1]
    # B's proof presented as guest A's (A's ROM digest and root as inputs) is rejected.
    words_a = program_inputs(rec, tp_a.stark, pubs_a, airs_a)
    words_b = program_inputs(rec, tp_b.stark, pubs_b, airs_b)
    start = sum(len(p) for p in pubs_b)
    end = start + sum(8 + (8 if airs_a[t].preprocessed_width else 0) for t in instance)
    words_b[start:end] = words_a[start:end]
    assert not run(rec.program, words_b).accepted
