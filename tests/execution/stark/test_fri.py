from __future__ import annotations

import numpy as np
import pytest

from execution.stark import lanes as L
from execution.stark.challenger import Challenger
from execution.stark.errors import InvalidProof
from execution.stark.fri import (
    FriProof,
    fold_schedule,
    fri_commit,
    fri_open,
    fri_verify,
    sample_queries,
)
from execution.stark.ntt import coset_lde
from execution.stark.params import FriParams

PARAMS = FriParams(
    name="fri-test",
    log_blowup=2,
    num_queries=12,
    pow_bits=3,
    log_final_poly_len=3,
    max_log_arity=3,
)


def _codeword(log_deg: int, seed: int, log_blowup: int = 2) -> L.U64:
    """A random extension polynomial of degree < 2^log_deg on the LDE coset (bit-reversed)."""
    rng = np.random.default_rng(seed)
    evals = rng.integers(0, L.P, (1 << log_deg, 4), dtype=np.uint64).astype(np.uint32)
    return L.to64(coset_lde(evals, log_blowup))


def _run(inputs: dict[int, L.U64], params: FriParams = PARAMS) -> tuple[FriProof, list[int]]:
    ch = Challenger()
    com, roots = fri_commit(inputs, params, ch)
    nonce = int(ch.grind(params.pow_bits))
    log_max = max(inputs)
    idx = sample_queries(ch, params, log_max)
    rows, paths = fri_open(com, set(inputs), params, np.array(idx, dtype=np.int64))
    return FriProof(roots, com.final_poly, nonce, rows, paths), idx


def _verify(proof: FriProof, inputs: dict[int, L.U64], params: FriParams = PARAMS) -> None:
    ch = Challenger()
    betas = []
    for r in proof.commit_roots:
        ch.observe_digest(r)
        betas.append(L.to64(ch.sample_ext()))
    ch.observe(proof.final_poly.reshape(-1))
    if not ch.check_witness(params.pow_bits, proof.pow_nonce):
        raise InvalidProof("pow")
    log_max = max(inputs)
    idx = np.array(sample_queries(ch, params, log_max), dtype=np.int64)
    initial = {h: cw[idx >> (log_max - h)] for h, cw in inputs.items()}
    fri_verify(proof, params, betas, idx, initial)


def test_schedule_hits_every_input_height() -> None:
    assert fold_schedule({12}, PARAMS) == [3, 3, 1]  # 12 -> 9 -> 6 -> 5 (final 2^3 coeffs)
    assert fold_schedule({12, 8}, PARAMS) == [3, 1, 3]  # 12 -> 9 -> 8 -> 5
    assert fold_schedule({4}, PARAMS) == []  # already small: polynomial sent whole
    assert fold_schedule({10, 4}, PARAMS) == [3, 3]  # stops at the smallest input
    wide = FriParams(name="x", log_blowup=2, num_queries=1, pow_bits=0)
    assert fold_schedule({22}, wide) == [4, 4, 4, 3]  # defaults: arity <= 16, 32 coefficients


@pytest.mark.parametrize("log_deg", [1, 3, 6, 9])
def test_low_degree_codeword_is_accepted(log_deg: int) -> None:
    inputs = {log_deg + 2: _codeword(log_deg, log_deg)}
    proof, _ = _run(inputs)
    _verify(proof, inputs)


def test_inputs_of_several_heights_are_rolled_in() -> None:
    inputs = {10: _codeword(8, 1), 8: _codeword(6, 2), 5: _codeword(3, 3)}
    proof, _ = _run(inputs)
    _verify(proof, inputs)


def test_too_high_degree_is_rejected() -> None:
    # Degree 2^8 where the rate allows 2^7: the folded values cannot fit the final polynomial.
    high = _codeword(8, 5)[: 1 << 9]
    inputs = {9: high}
    proof, _ = _run(inputs)
    with pytest.raises(InvalidProof):
        _verify(proof, inputs)


def test_tampered_openings_are_rejected() -> None:
    inputs = {9: _codeword(7, 9)}
    proof, _ = _run(inputs)
    proof.query_rows[0] = proof.query_rows[0].copy()
    proof.query_rows[0][0, 0] ^= 1
    with pytest.raises(InvalidProof):
        _verify(proof, inputs)
    proof2, _ = _run(inputs)
    other = dict(inputs)
    other[9] = inputs[9].copy()
    other[9][:, 0] = (other[9][:, 0] + 1) % L.P  # verifier's claimed values differ
    with pytest.raises(InvalidProof):
        _verify(proof2, other)
