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
from execution.universal.proof_v1 import (
    UniversalProofV1,
    V1Leaf,
    plain_publics,
    plain_statement,
    prove_v1,
)

LOG_N = 6
BLOCK_HASH = bytes(range(32))
_LIFTS: dict[int, tuple[V1Leaf, Node, Proof]] = {}


def spec_of(shape: tuple[int, ...]) -> LiftSpec:
    return LiftSpec((statement("fibonacci", LOG_N).airs[0],), shape, FAST)


def leaf_of(_i: int, leaf: V1Leaf) -> tuple[LeafStatement, LiftSpec]:
    """The verifier's reading of a plain leaf (no state to check it against)."""
    return LeafStatement(leaf.task_id, plain_publics(leaf.statement)), spec_of(leaf.shape)


def task_id(seed: int) -> bytes:
    return bytes([seed, 0x5A]) * 16


def leaf(seed: int) -> tuple[V1Leaf, Node, Proof]:
    """Task `seed`: its v1 leaf, its lift proof and its task proof."""
    hit = _LIFTS.get(seed)
    if hit is None:
        st = statement("fibonacci", LOG_N, seed=seed)
        proof = st.prove(FAST)
        node = lift(spec_of((LOG_N,)), task_id(seed), proof, st.publics)
        hit = (V1Leaf(task_id(seed), (LOG_N,), plain_statement(st.publics)), node, proof)
        _LIFTS[seed] = hit
    return hit


def tree(seeds: list[int], memo: dict[tuple[int, int], Node] | None = None) -> UniversalProofV1:
    leaves = [leaf(s) for s in seeds]
    return prove_v1(7, BLOCK_HASH, [v for v, _, _ in leaves], [n for _, n, _ in leaves], FAST, memo)


def with_output(v: V1Leaf, delta: int = 1) -> V1Leaf:
    """The leaf with its Fibonacci result (the task's output) changed."""
    pubs = [list(p) for p in plain_publics(v.statement)]
    pubs[0][-1] = (pubs[0][-1] + delta) % 2013265921
    return V1Leaf(v.task_id, v.shape, plain_statement(pubs))
