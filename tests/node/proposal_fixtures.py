"""Blocks with v0 Universal Proofs for the proposal transport tests (random proof bytes: the
transport never verifies a proof; consensus does)."""

from __future__ import annotations

import random

from consensus import Proposal, ProposalBundle
from execution.types.block import Block, Header, UniversalProofRef, evidence_root, transactions_root
from execution.types.hashing import keccak256
from execution.universal import ProofLeaf, UniversalProof


def leaf(rng: random.Random, size: int, task: int = 1, prover: int = 7) -> ProofLeaf:
    return ProofLeaf(bytes([task]) * 32, bytes([prover]) * 20, rng.randbytes(size))


def block_with(
    leaves: list[ProofLeaf], height: int = 5, txs: tuple[bytes, ...] = (), extra: bytes = b""
) -> Block:
    """A block of `height` bringing one v0 Universal Proof of `leaves` (none if empty) and, if
    given, `extra` as a second, inline-only body."""
    bodies: list[bytes] = []
    if leaves:
        bodies.append(UniversalProof(3, b"\x33" * 32, tuple(leaves)).encode())
    if extra:
        bodies.append(extra)
    header = Header(
        chain_id=1,
        height=height,
        time_ms=1_000 + height,
        parent_hash=b"\x01" * 32,
        proposer=b"\x02" * 20,
        state_root=b"\x03" * 32,
        transactions_root=transactions_root(txs),
        receipts_root=b"\x04" * 32,
        last_commit_hash=keccak256(b""),
        evidence_root=evidence_root(()),
        gas_used=0,
        universal_proofs=tuple(UniversalProofRef(3, b"\x44" * 32, keccak256(b)) for b in bodies),
    )
    return Block(header, txs, b"", (), tuple(bodies))


def bundle_of(block: Block, round_: int = 0) -> ProposalBundle:
    proposal = Proposal(1, block.height, round_, block.hash, -1, 0)
    return ProposalBundle(proposal, block.encode())


def lookup_of(leaves: list[ProofLeaf]):  # type: ignore[no-untyped-def]
    held = {lf.task_id: lf for lf in leaves}
    return held.get
