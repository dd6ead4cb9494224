"""The prover releases large LDEs after committing them and recomputes them where a later phase
reads them (quotient, DEEP, query openings): the proof must be byte-for-byte the one the
prover makes when it keeps every LDE, and must verify."""

from __future__ import annotations

import pytest
from zkproof_cases import INPUT, Honest

from execution.stark import prover as stark_prover
from execution.zkproof import prove, verify


def test_released_ldes_give_the_same_proof_bytes(
    honest: Honest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session's honest proof keeps these small LDEs; release every one of them here.
    assert stark_prover.RELEASE_LDE_ELEMENTS > 0
    monkeypatch.setattr(stark_prover, "RELEASE_LDE_ELEMENTS", 0)
    released = prove(honest.program, INPUT, "conjectured").to_bytes()
    assert released == honest.data
    verify(released, honest.program)
