"""A zkVM task proof as a v1 leaf: the lift program (run by the interpreter; proving a
630k-instruction run is the benchmark's business) exposes exactly the digest the outer check
recomputes from the task record and the statement."""

from __future__ import annotations

from dataclasses import replace

import pytest

from execution.recursion.interpret import run
from execution.recursion.lift import lift_digest, lift_inputs, lift_recording
from execution.stark.params import profile as fri_profile
from execution.universal.proof_v0 import InvalidUniversalProof
from execution.universal.zkvm_leaf import zkvm_leaf
from execution.zkproof import prove
from execution.zkproof.prover import airs_for, public_values
from execution.zkproof.samples import fib_loop_program

TASK = bytes(range(32))


@pytest.mark.slow
def test_zkvm_lift_digest_matches_the_outer_check() -> None:
    program = fib_loop_program(20)
    tp = prove(program, b"some input", "conjectured")
    st = tp.statement
    params = fri_profile(st.profile)
    shape = tuple(t.log_n for t in tp.stark.tables)
    leaf, spec = zkvm_leaf(TASK, st, program, tp.input, shape, params)
    airs = airs_for(tp.program, tp.input, st.output).as_list()
    pubs = public_values(st, tp.program, len(tp.input))
    verdict = run(lift_recording(spec).program, lift_inputs(spec, TASK, tp.stark, pubs, airs))
    assert verdict.accepted, verdict.reason
    assert [o[0] for o in verdict.outputs] == lift_digest(leaf).tolist()
    # The outer check's digest moves with the output and with the task; it refuses a statement
    # for another input or another image.
    other, _ = zkvm_leaf(
        TASK, replace(st, output=st.output + b"!"), program, tp.input, shape, params
    )
    assert lift_digest(other).tolist() != lift_digest(leaf).tolist()
    with pytest.raises(InvalidUniversalProof, match="another input"):
        zkvm_leaf(TASK, st, program, b"other input", shape, params)
    with pytest.raises(InvalidUniversalProof, match="image id"):
        zkvm_leaf(TASK, st, fib_loop_program(21), tp.input, shape, params)
    with pytest.raises(InvalidUniversalProof, match="height"):
        zkvm_leaf(TASK, st, program, tp.input, (shape[0], shape[1] + 1, *shape[2:]), params)
