"""Expected failures of the STARK prover and verifier."""

from __future__ import annotations

__all__ = ["InvalidProof", "ProofFormatError", "ProvingError"]


class InvalidProof(Exception):
    """A proof does not verify; `reason` names the check that failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProofFormatError(InvalidProof):
    """The proof bytes are malformed (truncated, oversized, non-canonical, bad shape)."""


class ProvingError(ValueError):
    """The prover was given inputs it cannot prove (bad shapes, an unsatisfied constraint)."""
