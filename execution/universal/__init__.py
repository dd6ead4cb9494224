"""The Universal Proof: one proof per block of all its task proofs (v0: a Poseidon2 tree)."""

from execution.universal.proof_v0 import (
    VERSION_V0,
    InvalidUniversalProof,
    ProofLeaf,
    TaskResult,
    UniversalProof,
    verify_leaf,
)

__all__ = [
    "VERSION_V0",
    "InvalidUniversalProof",
    "ProofLeaf",
    "TaskResult",
    "UniversalProof",
    "verify_leaf",
]
