"""Soundness by attack: tampered bytes, public values, traces, multiplicities, AIRs."""

from __future__ import annotations

import os
import sys
from collections import defaultdict

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import itertools

from stark_cases import FAST, Statement, compiled, statement

from execution.stark.air import perturb_constraint
from execution.stark.errors import InvalidProof, ProvingError
from execution.stark.proof import Proof
from execution.stark.verifier import verify


def _rejects(st: Statement, proof_bytes: bytes) -> None:
    with pytest.raises(InvalidProof):
        verify(st.airs, st.publics, Proof.from_bytes(proof_bytes), FAST)


@pytest.mark.parametrize(("example", "log_n"), [("fibonacci", 4), ("logup", 8)])
def test_flipping_a_byte_of_any_field_is_rejected(example: str, log_n: int) -> None:
    st = statement(example, log_n)
    proof = st.prove(FAST)
    data = proof.to_bytes()
    spans = proof.layout()
    assert spans[-1][2] == len(data) and all(a[2] == b[1] for a, b in itertools.pairwise(spans))
    names = {name for name, _, _ in spans}
    # Every table field and every FRI field of the format is present, so each one is hit below.
    assert "table0.main_paths" in names and "fri.pow_nonce" in names and "fri.final_poly" in names
    rng = np.random.default_rng(11)
    hit: dict[str, int] = defaultdict(int)
    for name, start, end in spans:
        for pos in sorted({int(p) for p in rng.integers(start, end, 2)}):
            bad = bytearray(data)
            bad[pos] ^= int(rng.integers(1, 256))
            _rejects(st, bytes(bad))
            hit[name] += 1
    assert set(hit) == names


@pytest.mark.parametrize("example", ["fibonacci", "logup"])
def test_changing_any_public_value_is_rejected(example: str) -> None:
    st = statement(example, 4 if example == "fibonacci" else 8)
    data = st.prove(FAST).to_bytes()
    for t, pub in enumerate(st.publics):
        for i in range(len(pub)):
            forged = [list(p) for p in st.publics]
            forged[t][i] = (forged[t][i] + 1) % 2013265921
            with pytest.raises(InvalidProof):
                verify(st.airs, forged, Proof.from_bytes(data), FAST)
            aliased = [list(p) for p in st.publics]
            aliased[t][i] += 2013265921  # same residue, different statement bytes
            with pytest.raises(InvalidProof, match="canonical"):
                verify(st.airs, aliased, Proof.from_bytes(data), FAST)


def _constraint_cases() -> list[tuple[str, int, int]]:
    cases = []
    for example, log_n in (("fibonacci", 3), ("logup", 8)):
        st = statement(example, log_n)
        for t, air in enumerate(st.airs):
            cases += [(example, t, i) for i in range(len(air.constraints))]
    rng = np.random.default_rng(3)
    p2 = len(compiled("poseidon2").constraints)
    cases += [("poseidon2", 0, int(i)) for i in rng.choice(p2, 6, replace=False)]
    return cases


@pytest.mark.parametrize(("example", "table", "which"), _constraint_cases())
def test_trace_violating_one_constraint_is_rejected(example: str, table: int, which: int) -> None:
    """The honest trace against an AIR whose one constraint is shifted by 1 violates exactly it."""
    st = statement(example, 8 if example == "logup" else 2)
    st.airs[table] = perturb_constraint(st.airs[table], which)
    proof = st.prove(FAST, check=False)
    _rejects(st, proof.to_bytes())


@pytest.mark.slow
def test_every_poseidon2_constraint_mutated_in_turn_is_rejected() -> None:
    base = statement("poseidon2", 1)
    for which in range(len(base.airs[0].constraints)):
        st = statement("poseidon2", 1)
        st.airs[0] = perturb_constraint(st.airs[0], which)
        _rejects(st, st.prove(FAST, check=False).to_bytes())


@pytest.mark.parametrize("example", ["fibonacci", "poseidon2", "logup"])
def test_single_mutated_trace_cell_is_rejected(example: str) -> None:
    st = statement(example, 8 if example == "logup" else 3)
    rng = np.random.default_rng(5)
    for _ in range(3):
        t = st.traces[0].copy()
        r = int(rng.integers(0, t.shape[0]))
        c = int(rng.integers(0, t.shape[1]))
        t[r, c] = (int(t[r, c]) + 1) % 2013265921
        forged = Statement(st.airs, [t, *st.traces[1:]], st.publics)
        _rejects(forged, forged.prove(FAST, check=False).to_bytes())


def test_wrong_logup_multiplicity_is_rejected() -> None:
    st = statement("logup", 8)
    for delta_row in (0, 17, 255):
        counts = st.traces[1].copy()
        counts[delta_row, 0] += 1
        forged = Statement(st.airs, [st.traces[0], counts], st.publics)
        _rejects(forged, forged.prove(FAST, check=False).to_bytes())


def test_proof_for_a_different_air_is_rejected() -> None:
    st = statement("fibonacci", 3)
    proof = st.prove(FAST)
    other = perturb_constraint(st.airs[0], 0, delta=0)  # same shapes, different description
    other_st = Statement([other], st.traces, st.publics)
    with pytest.raises(InvalidProof, match="another AIR"):
        verify(other_st.airs, st.publics, proof, FAST)
    # Relabelling the proof does not help: the transcript starts from the AIR digest.
    proof.tables[0].air_digest = other.digest
    with pytest.raises(InvalidProof):
        verify(other_st.airs, st.publics, proof, FAST)
    logup = statement("logup", 8)
    with pytest.raises(InvalidProof):
        verify(logup.airs, logup.publics, proof, FAST)


def test_forged_table_height_is_rejected_cleanly() -> None:
    """A height the fixed (preprocessed) table does not exist at is an InvalidProof."""
    st = statement("logup", 8)
    proof = st.prove(FAST)
    t = proof.tables[1]
    t.log_n = 9
    for name in ("prep_paths", "main_paths", "perm_paths", "quotient_paths"):
        old = getattr(t, name)
        setattr(t, name, np.concatenate([old, np.zeros_like(old[:, :1])], axis=1))
    with pytest.raises(InvalidProof):
        verify(st.airs, st.publics, proof, FAST)


def test_proof_under_other_parameters_is_rejected() -> None:
    st = statement("fibonacci", 3)
    proof = st.prove(FAST)
    from execution.stark.params import CONJECTURED

    with pytest.raises(InvalidProof, match="parameters"):
        verify(st.airs, st.publics, proof, CONJECTURED)


def test_random_corruptions_only_ever_raise_invalid_proof() -> None:
    """Seeded fuzzing: splices, deletions, insertions and multi-byte flips anywhere."""
    st = statement("logup", 8)
    data = st.prove(FAST).to_bytes()
    rng = np.random.default_rng(99)
    for _ in range(120):
        bad = bytearray(data)
        kind = int(rng.integers(0, 4))
        pos = int(rng.integers(0, len(bad)))
        if kind == 0:
            for p in rng.integers(0, len(bad), int(rng.integers(2, 9))):
                bad[int(p)] ^= int(rng.integers(1, 256))
        elif kind == 1:
            del bad[pos : pos + int(rng.integers(1, 64))]
        elif kind == 2:
            bad[pos:pos] = bytes(rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8))
        else:
            bad[pos : pos + 4] = bytes(rng.integers(0, 256, 4, dtype=np.uint8))
        if bytes(bad) == data:
            continue
        _rejects(st, bytes(bad))


def test_value_outside_the_lookup_table_is_rejected() -> None:
    """A consistent byte-sum trace with one value 256: no row of the range table cancels it."""
    st = statement("logup", 8)
    main = st.traces[0].astype(np.uint64)
    old = int(main[5, 0])
    main[5, 0] = 256
    main[:, 1] = np.cumsum(main[:, 0]) % 2013265921
    counts = st.traces[1].copy()
    counts[old, 0] -= 1  # keep the multiplicities summing to the number of sends
    forged = Statement(st.airs, [main.astype(np.uint32), counts], [[int(main[-1, 1])], []])
    with pytest.raises(ProvingError, match="balance"):
        forged.prove(FAST)
    _rejects(forged, forged.prove(FAST, check=False).to_bytes())


def test_claimed_height_above_the_callers_bound_is_rejected() -> None:
    st = statement("fibonacci", 4)
    proof = st.prove(FAST)
    verify(st.airs, st.publics, proof, FAST, max_log_n=4)
    with pytest.raises(InvalidProof, match="height"):
        verify(st.airs, st.publics, proof, FAST, max_log_n=3)
