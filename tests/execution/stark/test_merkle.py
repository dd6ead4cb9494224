"""Merkle trees over matrix rows: openings verify, every tampering is rejected."""

from __future__ import annotations

import numpy as np
import pytest

from execution.stark.merkle import MerkleError, MerkleTree, hash_leaves, verify_batch
from execution.stark.poseidon2 import compress

P = 2013265921


def _tree(log_n: int, w: int, seed: int) -> MerkleTree:
    rng = np.random.default_rng(seed)
    return MerkleTree.build(rng.integers(0, P, size=(1 << log_n, w), dtype=np.uint32))


@pytest.mark.parametrize(("log_n", "w"), [(0, 3), (1, 1), (3, 8), (6, 9), (10, 20)])
def test_openings_verify(log_n: int, w: int) -> None:
    tree = _tree(log_n, w, seed=log_n * 31 + w)
    assert tree.height == log_n
    assert tree.root.shape == (8,)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 1 << log_n, size=17)
    rows, paths = tree.open(idx)
    assert rows.shape == (17, w) and paths.shape == (17, log_n, 8)
    np.testing.assert_array_equal(rows, tree.matrix[idx])
    assert verify_batch(tree.root, log_n, idx, rows, paths)
    assert verify_batch(tree.root, np.int64(log_n), idx, rows, paths)
    assert verify_batch(tree.root, log_n, idx[:0], rows[:0], paths[:0])


def test_root_matches_hand_computation() -> None:
    tree = _tree(2, 5, seed=3)
    leaves = hash_leaves(tree.matrix)
    left = compress(leaves[0:1], leaves[1:2])
    right = compress(leaves[2:3], leaves[3:4])
    np.testing.assert_array_equal(tree.root, compress(left, right)[0])


def test_every_tampered_element_is_rejected() -> None:
    log_n, w = 4, 10
    tree = _tree(log_n, w, seed=8)
    idx = np.array([3, 9, 9, 15])
    rows, paths = tree.open(idx)
    for q in range(len(idx)):
        for j in range(w):
            bad = rows.copy()
            bad[q, j] = (int(bad[q, j]) + 1) % P
            assert not verify_batch(tree.root, log_n, idx, bad, paths)
        for k in range(log_n):
            for j in range(8):
                bad_paths = paths.copy()
                bad_paths[q, k, j] = (int(bad_paths[q, k, j]) + 1) % P
                assert not verify_batch(tree.root, log_n, idx, rows, bad_paths)
        bad_idx = idx.copy()
        bad_idx[q] ^= 1
        assert not verify_batch(tree.root, log_n, bad_idx, rows, paths)
    for j in range(8):
        bad_root = tree.root.copy()
        bad_root[j] = (int(bad_root[j]) + 1) % P
        assert not verify_batch(bad_root, log_n, idx, rows, paths)
    # swapping two queries' rows, or a path from another tree
    assert not verify_batch(tree.root, log_n, idx, rows[[1, 0, 2, 3]], paths)
    other = _tree(log_n, w, seed=9)
    _, other_paths = other.open(idx)
    assert not verify_batch(tree.root, log_n, idx, rows, other_paths)


def test_malformed_openings_are_rejected_not_raised() -> None:
    log_n = 3
    tree = _tree(log_n, 4, seed=4)
    idx = np.array([1, 6])
    rows, paths = tree.open(idx)
    assert not verify_batch(tree.root, log_n + 1, idx, rows, paths)  # wrong height
    assert not verify_batch(tree.root, log_n, idx, rows, paths[:, :-1])  # short path
    assert not verify_batch(tree.root, log_n, idx[:1], rows, paths)  # count mismatch
    assert not verify_batch(tree.root, log_n, np.array([1, 8]), rows, paths)  # out of range
    assert not verify_batch(tree.root, log_n, np.array([1, -2]), rows, paths)
    assert not verify_batch(tree.root[:7], log_n, idx, rows, paths)
    assert not verify_batch(tree.root, log_n, idx, rows.astype(np.float64), paths)
    non_canonical = rows.astype(np.uint64)
    non_canonical[0, 0] += P  # same value mod p, but not canonical
    assert not verify_batch(tree.root, log_n, idx, non_canonical, paths)
    assert not verify_batch(tree.root, -1, idx, rows, paths)
    assert not verify_batch(tree.root, True, idx[:0], rows[:0], paths[:0, :1])


def test_inner_node_cannot_pose_as_leaf() -> None:
    # Leaf and inner domains differ: the two children of a level-1 node, concatenated as a
    # 16-element "row", do not open as a leaf of the tree one level up.
    tree = _tree(3, 8, seed=12)
    children = np.concatenate(tree.levels[0][0:2], axis=0).reshape(1, 16)
    upper_paths = np.stack([tree.levels[k][1] for k in range(1, 3)]).reshape(1, 2, 8)
    assert not verify_batch(tree.root, 2, np.array([0]), children, upper_paths)


def test_build_and_open_errors() -> None:
    with pytest.raises(MerkleError):
        MerkleTree.build(np.zeros((6, 2), np.uint32))
    with pytest.raises(MerkleError):
        MerkleTree.build(np.zeros(8, np.uint32))
    tree = _tree(2, 2, seed=0)
    with pytest.raises(MerkleError):
        tree.open(np.array([4]))
