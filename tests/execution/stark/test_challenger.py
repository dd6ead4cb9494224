"""Fiat-Shamir challenger: protocol model, determinism, grinding."""

from __future__ import annotations

import numpy as np
import pytest

from execution.stark.challenger import Challenger, ChallengerError
from execution.stark.poseidon2 import SPONGE_DOMAIN_CHALLENGER, permute

P = 2013265921


class ModelChallenger:
    """The duplex protocol from the module docstring, written out plainly."""

    def __init__(self) -> None:
        self.state = [0] * 16
        self.state[9] = SPONGE_DOMAIN_CHALLENGER
        self.inp: list[int] = []
        self.out: list[int] = []

    def duplex(self) -> None:
        self.state[: len(self.inp)] = self.inp
        self.inp = []
        self.state = permute(np.array([self.state], dtype=np.uint32))[0].tolist()
        self.out = self.state[:8]

    def observe(self, v: int) -> None:
        self.out = []
        self.inp.append(v)
        if len(self.inp) == 8:
            self.duplex()

    def sample(self) -> int:
        if self.inp or not self.out:
            self.duplex()
        return self.out.pop()


def test_matches_protocol_model() -> None:
    rng = np.random.default_rng(5)
    ours, model = Challenger(), ModelChallenger()
    for step in range(60):
        if rng.random() < 0.5:
            k = int(rng.integers(1, 12))
            vals = rng.integers(0, P, size=k, dtype=np.uint32)
            ours.observe(vals)
            for v in vals.tolist():
                model.observe(v)
        else:
            assert ours.sample() == model.sample(), step


def test_deterministic_and_sensitive_to_every_observation() -> None:
    def transcript(values: list[int]) -> list[int]:
        ch = Challenger()
        ch.observe(np.array(values, dtype=np.uint32))
        ch.observe_digest(np.arange(8, dtype=np.uint32))
        return [ch.sample() for _ in range(10)] + ch.sample_ext().tolist()

    base = list(range(1, 12))
    assert transcript(base) == transcript(base)
    for i in range(len(base)):
        changed = list(base)
        changed[i] += 1
        assert transcript(changed) != transcript(base)
    assert transcript([*base, 0]) != transcript(base)


def test_samples_and_errors() -> None:
    ch = Challenger()
    ch.observe(7)
    ext = ch.sample_ext()
    assert ext.shape == (4,) and ext.dtype == np.uint32
    for bits in (0, 1, 10, 27):
        assert 0 <= ch.sample_bits(bits) < (1 << bits)
    with pytest.raises(ChallengerError):
        ch.sample_bits(28)
    with pytest.raises(ChallengerError):
        ch.observe(np.array([P], dtype=np.uint64))
    with pytest.raises(ChallengerError):
        ch.observe(np.array([1.5]))
    with pytest.raises(ChallengerError):
        ch.observe_digest(np.zeros(7, np.uint32))
    ch.observe_ext(np.array([1, 2, 3, 4], dtype=np.uint32))
    copy = ch.copy()
    assert copy.sample() == ch.sample()


@pytest.mark.parametrize("pending", [0, 3, 7])
def test_grind_and_check_witness(pending: int) -> None:
    bits = 8
    prover, verifier = Challenger(), Challenger()
    for ch in (prover, verifier):
        ch.observe(np.arange(8 + pending, dtype=np.uint32))
    fresh = verifier.copy()
    witness = prover.grind(bits)
    # grind returns the smallest witness, so every smaller nonce must be rejected
    for wrong in range(witness):
        assert not fresh.copy().check_witness(bits, wrong)
    assert verifier.check_witness(bits, witness)
    # the prover's transcript continues exactly like the verifier's
    assert [prover.sample() for _ in range(5)] == [verifier.sample() for _ in range(5)]
    assert not fresh.copy().check_witness(bits, P)
    assert not fresh.copy().check_witness(bits, -1)


def test_grind_zero_bits_accepts_first_nonce() -> None:
    ch = Challenger()
    assert ch.grind(0) == 0
