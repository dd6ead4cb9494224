"""Committed trees keep no leaf level: openings rehash the queried leaves' siblings from the LDE;
a released LDE is recomputed one block of n rows at a time (DEEP sums, openings).

The opening must equal MerkleTree.open of the full tree (rows and paths, one and two rows per
leaf, LDE kept or released), and whole proofs must be byte-for-byte those of a prover that keeps
the leaf level and every LDE.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from stark_cases import FAST, statement

from execution.stark import prover as stark_prover
from execution.stark.merkle import MerkleTree
from execution.stark.params import CONJECTURED
from execution.stark.prover import PhaseTimer, _lde_commit


@pytest.mark.parametrize("release", [False, True])
@pytest.mark.parametrize("rows_per_leaf", [1, 2])
def test_opening_without_the_leaf_level_equals_the_full_trees(
    rows_per_leaf: int, release: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if release:
        monkeypatch.setattr(stark_prover, "RELEASE_LDE_ELEMENTS", 0)
    rng = np.random.default_rng(3)
    on_h = rng.integers(0, 2013265921, (64, 5), dtype=np.uint64).astype(np.uint32)
    com = _lde_commit(on_h, 2, PhaseTimer(), rows_per_leaf)
    assert com.leaves_dropped
    assert (com.kept_lde is None) == release
    lde = com.lde()
    blocks = list(com.lde_blocks())
    assert len(blocks) == (4 if release else 1)
    assert np.array_equal(np.concatenate([b for _, b in blocks]), lde)
    full = MerkleTree.build(np.ascontiguousarray(lde).reshape(lde.shape[0] // rows_per_leaf, -1))
    assert len(com.tree.levels) == len(full.levels) - 1
    assert np.array_equal(com.tree.root, full.root)
    idx = rng.integers(0, full.num_rows, 20).astype(np.int64)
    rows, paths = com.open(idx)
    want_rows, want_paths = full.open(idx)
    assert np.array_equal(rows, want_rows)
    assert np.array_equal(paths, want_paths)


@pytest.mark.parametrize(("example", "params"), [("logup", FAST), ("fibonacci", CONJECTURED)])
def test_proof_bytes_do_not_depend_on_keeping_the_leaf_level(
    example: str, params: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = statement(example, 6)
    kept = st.prove(params).to_bytes()  # type: ignore[arg-type]
    monkeypatch.setattr(stark_prover, "RELEASE_LDE_ELEMENTS", 0)
    released = st.prove(params).to_bytes()  # type: ignore[arg-type]
    monkeypatch.setattr(stark_prover, "DROP_LEAF_LEVEL", False)
    monkeypatch.setattr(stark_prover, "RELEASE_LDE_ELEMENTS", 1 << 40)
    full = st.prove(params).to_bytes()  # type: ignore[arg-type]
    assert kept == released == full
