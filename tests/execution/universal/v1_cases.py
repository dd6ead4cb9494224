"""Shared builders for the Universal Proof v1 tests: Fibonacci task proofs (the zkVM is not the
point here), their lift proofs, cached per process."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST, statement

from execution.recursion.join import Node
from execution.recursion.lift import LeafStatement, LiftSpec, lift
from execution.stark.proof import Proof
from execution.universal.proof_v1 import UniversalProofV1, prove_v1

LOG_N = 6
BLOCK_HASH = bytes(range(32))
_LIFTS: dict[int, tuple[LeafStatement, Node, Proof]] = {}


def spec_of(_i: int, shape: tuple[int, ...]) -> LiftSpec:
    return LiftSpec((statement("fibonacci", LOG_N).airs[0],), shape, FAST)


def task_id(seed: int) -> bytes:
    return bytes([seed, 0x5A]) * 16


def leaf(seed: int) -> tuple[LeafStatement, Node, Proof]:
    """Task `seed`: its statement, its lift proof and its task proof."""
    hit = _LIFTS.get(seed)
    if hit is None:
        st = statement("fibonacci", LOG_N, seed=seed)
        proof = st.prove(FAST)
        node = lift(spec_of(0, (LOG_N,)), task_id(seed), proof, st.publics)
        ls = LeafStatement(task_id(seed), tuple(tuple(p) for p in st.publics))
        hit = (ls, node, proof)
        _LIFTS[seed] = hit
    return hit


def tree(seeds: list[int]) -> tuple[list[LeafStatement], UniversalProofV1]:
    leaves = [leaf(s) for s in seeds]
    up = prove_v1(7, BLOCK_HASH, [n for _, n, _ in leaves], FAST, [(LOG_N,)] * len(seeds))
    return [s for s, _, _ in leaves], up
