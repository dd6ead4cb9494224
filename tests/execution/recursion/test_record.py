"""Recorded verifier programs against the concrete verifier: same verdicts, same program."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from functools import cache

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST, Statement, statement

from execution.recursion.interpret import run
from execution.recursion.program import Op
from execution.recursion.record import (
    ProgramInputError,
    Recording,
    program_inputs,
    record_program,
    template_proof,
)
from execution.stark.errors import InvalidProof
from execution.stark.field import P
from execution.stark.proof import ARRAY_FIELDS, Proof
from execution.stark.verifier import verify

# Fibonacci at 2^6 under FAST has two FRI rounds (at 2^4, none: the final polynomial is all).
CASES = [("fibonacci", 6), ("logup", 8)]


@cache
def _case(example: str, log_n: int, seed: int = 1) -> tuple[Statement, Proof, Recording]:
    st = statement(example, log_n, seed)
    proof = st.prove(FAST)
    return st, proof, record_program(st.airs, proof, FAST)


def _concrete_accepts(st: Statement, publics: list[list[int]], proof: Proof) -> bool:
    try:
        verify(st.airs, publics, proof, FAST)
    except InvalidProof:
        return False
    return True


def _program_accepts(rec: Recording, publics: list[list[int]], proof: Proof) -> bool:
    return run(rec.program, program_inputs(rec, proof, publics)).accepted


@pytest.mark.parametrize(("example", "log_n"), CASES)
def test_honest_proof_is_accepted_and_statement_exposed(example: str, log_n: int) -> None:
    st, proof, rec = _case(example, log_n)
    rec.program.check()
    verdict = run(rec.program, program_inputs(rec, proof, st.publics))
    assert verdict.accepted, verdict.reason
    assert verdict.outputs == [(v, 0, 0, 0) for pub in st.publics for v in pub]


@pytest.mark.parametrize(("example", "log_n"), CASES)
def test_same_shape_gives_the_same_program(example: str, log_n: int) -> None:
    st, _, rec = _case(example, log_n)
    st2, proof2, rec2 = _case(example, log_n, seed=7)
    assert st2.publics != st.publics
    assert (rec.program.control_id() == rec2.program.control_id()).all()
    assert rec.program.encode().tobytes() == rec2.program.encode().tobytes()
    # The first program verifies the second statement's proof: it depends on the shape only.
    assert run(rec.program, program_inputs(rec, proof2, st2.publics)).accepted


def test_other_height_gives_another_program_and_refuses_the_proof() -> None:
    _, _, rec = _case("fibonacci", 6)
    st5, proof5, rec5 = _case("fibonacci", 7)
    assert (rec.program.control_id() != rec5.program.control_id()).any()
    with pytest.raises(ProgramInputError):
        program_inputs(rec, proof5, st5.publics)


def _tampered(proof: Proof, rng: np.random.Generator) -> tuple[str, Proof]:
    """One proof word changed to another field element (a copy; the rest shared)."""
    fields = [
        (t, f) for t, tp in enumerate(proof.tables) for f in ARRAY_FIELDS if getattr(tp, f).size
    ]
    fields += [("fri", "final_poly"), ("fri", "pow_nonce")]
    fields += [("fri", "commit_roots")] if proof.fri.commit_roots else []
    fields += [("fri", f"rows{r}") for r in range(len(proof.fri.query_rows))]
    fields += [("fri", f"paths{r}") for r in range(len(proof.fri.query_paths))]
    where, name = fields[int(rng.integers(len(fields)))]
    delta = int(rng.integers(1, P))
    fri = proof.fri
    if where == "fri" and name == "pow_nonce":
        return "pow_nonce", replace(proof, fri=replace(fri, pow_nonce=(fri.pow_nonce + delta) % P))
    if where == "fri":
        if name == "commit_roots":
            arrays = [a.copy() for a in fri.commit_roots]
            r = int(rng.integers(len(arrays)))
            target = arrays[r]
            new_fri = replace(fri, commit_roots=arrays)
        elif name == "final_poly":
            target = fri.final_poly.copy()
            new_fri = replace(fri, final_poly=target)
        else:
            kind, r = name[:-1], int(name[-1])
            lst = [a.copy() for a in (fri.query_rows if kind == "rows" else fri.query_paths)]
            target = lst[r]
            new_fri = replace(fri, **{"query_rows" if kind == "rows" else "query_paths": lst})
        flat = target.reshape(-1)
        k = int(rng.integers(flat.size))
        flat[k] = (int(flat[k]) + delta) % P
        return f"fri.{name}", replace(proof, fri=new_fri)
    assert isinstance(where, int)
    tp = proof.tables[where]
    arr = getattr(tp, name).copy()
    flat = arr.reshape(-1)
    k = int(rng.integers(flat.size))
    flat[k] = (int(flat[k]) + delta) % P
    tables = list(proof.tables)
    tables[where] = replace(tp, **{name: arr})
    return f"table{where}.{name}", replace(proof, tables=tables)


@pytest.mark.parametrize(("example", "log_n"), CASES)
def test_tampered_proofs_get_the_concrete_verifiers_verdict(example: str, log_n: int) -> None:
    st, proof, rec = _case(example, log_n)
    rng = np.random.default_rng(2024)
    seen = set()
    for _ in range(60):
        name, bad = _tampered(proof, rng)
        seen.add(name.split(".")[-1])
        concrete = _concrete_accepts(st, st.publics, bad)
        assert _program_accepts(rec, st.publics, bad) == concrete, name
        assert not concrete, name
    assert {"main_paths", "quotient_rows", "final_poly", "pow_nonce"} <= seen


@pytest.mark.parametrize(("example", "log_n"), CASES)
def test_wrong_public_value_is_rejected_by_the_program(example: str, log_n: int) -> None:
    st, proof, rec = _case(example, log_n)
    for t, pub in enumerate(st.publics):
        for i in range(len(pub)):
            forged = [list(p) for p in st.publics]
            forged[t][i] = (forged[t][i] + 1) % P
            assert not _concrete_accepts(st, forged, proof)
            verdict = run(rec.program, program_inputs(rec, proof, forged))
            assert not verdict.accepted
            assert verdict.failed_at is not None


def test_rejection_names_the_failed_check() -> None:
    st, proof, rec = _case("fibonacci", 6)
    bad = replace(proof, fri=replace(proof.fri, final_poly=(proof.fri.final_poly + 1) % P))
    verdict = run(rec.program, program_inputs(rec, bad, st.publics))
    assert not verdict.accepted
    assert rec.program.instructions[verdict.failed_at or 0].op in (Op.ASSERT_EQ, Op.INV)
    assert verdict.reason


def test_inputs_that_are_not_field_elements_are_refused() -> None:
    st, proof, rec = _case("fibonacci", 6)
    with pytest.raises(ProgramInputError):
        program_inputs(rec, replace(proof, fri=replace(proof.fri, pow_nonce=P)), st.publics)
    inputs = program_inputs(rec, proof, st.publics)
    inputs[-1] = P
    assert not run(rec.program, inputs).accepted
    assert not run(rec.program, inputs[:-1]).accepted


@pytest.mark.parametrize(("example", "log_n"), CASES)
def test_program_recorded_from_the_shape_alone_is_the_same(example: str, log_n: int) -> None:
    st, proof, rec = _case(example, log_n)
    template = template_proof(st.airs, [tp.log_n for tp in proof.tables], FAST)
    from_shape = record_program(st.airs, template, FAST)
    assert from_shape.shape == rec.shape
    assert from_shape.program.encode().tobytes() == rec.program.encode().tobytes()


def test_flipped_proof_bytes_that_still_parse_are_rejected_by_the_program() -> None:
    """Header fields (AIR digest, heights, parameters, array sizes) are the program's shape, not
    inputs: a proof whose shape changed is refused before it can be run."""
    st, proof, rec = _case("fibonacci", 6)
    data = proof.to_bytes()
    rng = np.random.default_rng(5)
    parsed = 0
    for name, start, end in proof.layout() * 3:
        pos = int(rng.integers(start, end))
        bad = bytearray(data)
        bad[pos] ^= int(rng.integers(1, 256))
        try:
            forged = Proof.from_bytes(bytes(bad))
        except InvalidProof:
            continue
        parsed += 1
        assert not _concrete_accepts(st, st.publics, forged), name
        try:
            inputs = program_inputs(rec, forged, st.publics)
        except ProgramInputError:
            continue
        assert not run(rec.program, inputs).accepted, name
    assert parsed > 20
