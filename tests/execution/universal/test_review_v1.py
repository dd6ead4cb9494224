"""Review findings on Universal Proof v1 statement binding (issue 8 attack review)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST
from v1_cases import leaf_of, tree

from execution.universal.proof_v0 import InvalidUniversalProof
from execution.universal.proof_v1 import plain_publics, plain_statement


def test_statement_split_over_other_tables_is_rejected() -> None:
    """The lift digests the public values flat, so a statement that moves values between tables
    has the same digest: without a shape check the root verifies for a statement that reads
    differently (the Fibonacci result as a second table's value)."""
    up = tree([1])
    (v,) = up.leaves
    (pub,) = plain_publics(v.statement)
    resplit = replace(v, statement=plain_statement([pub[:-1], pub[-1:]]))
    with pytest.raises(InvalidUniversalProof, match="public values"):
        replace(up, leaves=(resplit,)).verify(leaf_of, FAST)
    up.verify(leaf_of, FAST)
