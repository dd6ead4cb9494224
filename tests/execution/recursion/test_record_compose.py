"""A program composed of two verifications and a digest of both statements (join's pattern)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST, statement

from execution.recursion.interpret import run
from execution.recursion.record import (
    ProgramInputError,
    Recorder,
    Recording,
    hash_cells,
    program_inputs_for,
    record_verifier,
)
from execution.stark.field import P
from execution.stark.poseidon2 import hash_elements


def test_two_verifications_and_a_digest_of_both_statements() -> None:
    left, right = statement("fibonacci", 6, seed=1), statement("fibonacci", 7, seed=2)
    lp, rp = left.prove(FAST), right.prove(FAST)
    rec = Recorder()
    a = record_verifier(rec, left.airs, lp, FAST)
    b = record_verifier(rec, right.airs, rp, FAST)
    digest = hash_cells(rec, [c for pub in a.publics + b.publics for c in pub])
    for c in digest:
        rec.output(c)
    recording = Recording(rec.program(), (a.slot, b.slot))

    words = program_inputs_for(recording, [(lp, left.publics), (rp, right.publics)])
    verdict = run(recording.program, words)
    assert verdict.accepted, verdict.reason
    want = hash_elements(np.array(left.publics[0] + right.publics[0], dtype=np.uint32))
    assert [o[0] for o in verdict.outputs] == want.tolist()

    # Either proof tampered, the whole program rejects.
    bad = replace(rp, fri=replace(rp.fri, final_poly=(rp.fri.final_poly + 1) % P))
    words = program_inputs_for(recording, [(lp, left.publics), (bad, right.publics)])
    assert not run(recording.program, words).accepted
    forged = [[(left.publics[0][0] + 1) % P, *left.publics[0][1:]]]
    words = program_inputs_for(recording, [(lp, forged), (rp, right.publics)])
    assert not run(recording.program, words).accepted
    # The slots are ordered: proofs in the other order do not fit the program.
    with pytest.raises(ProgramInputError):
        program_inputs_for(recording, [(rp, right.publics), (lp, left.publics)])
    with pytest.raises(ProgramInputError):
        program_inputs_for(recording, [(lp, left.publics)])
