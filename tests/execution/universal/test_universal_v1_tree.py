"""Join trees over 2 and 7 task proofs (slow: each join proves a ~150k-instruction run, about a
minute on this machine; the 16-leaf tree is measured by bench/bench_recursion.py)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST
from v1_cases import leaf_of, tree, with_output

from execution.recursion.join import Node
from execution.universal.proof_v0 import InvalidUniversalProof
from execution.universal.proof_v1 import UniversalProofV1


@pytest.mark.slow
def test_trees_over_2_and_7_tasks_verify_and_bind_every_statement_in_order() -> None:
    memo: dict[tuple[int, int], Node] = {}
    for n in (2, 7):
        up = tree(list(range(1, n + 1)), memo)
        back = UniversalProofV1.decode(up.encode())
        root, statements = back.verify(leaf_of, FAST)
        assert root == up.root(statements)
        # One output changed, two statements swapped, one left out: rejected.
        leaves = list(up.leaves)
        changed = [*leaves[:-1], with_output(leaves[-1])]
        with pytest.raises(InvalidUniversalProof, match="root proof rejected"):
            replace(back, leaves=tuple(changed)).verify(leaf_of, FAST)
        swapped = [leaves[1], leaves[0], *leaves[2:]]
        with pytest.raises(InvalidUniversalProof, match="root proof rejected"):
            replace(back, leaves=tuple(swapped)).verify(leaf_of, FAST)
        with pytest.raises(InvalidUniversalProof):
            replace(back, leaves=tuple(leaves[:-1])).verify(leaf_of, FAST)
    # The 2-tree's root is not an allowed root for 7 leaves (another control id).
    two = memo[(0, 2)]
    forged = replace(
        up, control_id=two.key.control_id.astype("<u4").tobytes(), proof=two.proof.proof
    )
    with pytest.raises(InvalidUniversalProof, match="control id"):
        forged.verify(leaf_of, FAST)
