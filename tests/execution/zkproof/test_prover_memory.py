"""The prover releases large LDEs after committing them and recomputes them where a later phase
reads them (quotient, DEEP, query openings), and evaluates the quotient in row chunks: the proof
must be byte-for-byte the one the prover makes keeping every LDE in one pass, and verify."""

from __future__ import annotations

import pytest
from zkproof_cases import INPUT, Honest

from execution.stark import prover as stark_prover
from execution.zkproof import prove, verify


def test_released_ldes_and_quotient_chunks_give_the_same_proof_bytes(
    honest: Honest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session's honest proof keeps these small LDEs; release every one of them here.
    assert stark_prover.RELEASE_LDE_ELEMENTS > 0
    monkeypatch.setattr(stark_prover, "RELEASE_LDE_ELEMENTS", 0)
    # Chunks smaller than most tables' quotient coset (the range table's has 2^17 rows).
    monkeypatch.setattr(stark_prover, "QUOTIENT_CHUNK_ROWS", 1 << 12)
    released = prove(honest.program, INPUT, "conjectured").to_bytes()
    assert released == honest.data
    verify(released, honest.program)
