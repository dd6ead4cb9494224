"""Merkle trees over the rows of a matrix (one leaf per row), with batched openings.

Layout: leaf i is ``hash_rows(row i, domain=SPONGE_DOMAIN_LEAF)`` (the row-hash sponge with the
leaf tag in its capacity); the parent of nodes 2k and 2k+1 is ``compress(node 2k, node 2k+1)``
(``COMPRESS_DOMAIN_NODE``, tag added after the permutation). The number of rows must be a power of
two; the tree's height is log2(rows) and the root of a one-row tree is that row's leaf digest.

An opening of index i is the row and the log n sibling digests from the leaf level upwards:
``paths[q, k]`` is the sibling of ``i >> k`` at level k. ``verify_batch`` recomputes all queries
all levels of all queries in one kernel call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from execution.stark.field import P
from execution.stark.poseidon2 import (
    COMPRESS_DOMAIN_NODE,
    DIGEST_SIZE,
    SPONGE_DOMAIN_LEAF,
    climb_paths,
    compress_pairs,
    hash_rows,
)


class MerkleError(ValueError):
    """A matrix or opening request that a Merkle tree cannot be built or opened for."""


def hash_leaves(matrix: np.ndarray) -> np.ndarray:
    """Leaf digests of every row: (n, w) -> (n, 8)."""
    return hash_rows(matrix, domain=SPONGE_DOMAIN_LEAF)


@dataclass(frozen=True)
class MerkleTree:
    """A committed matrix and every level of its tree (levels[0] = leaves, levels[-1] = root)."""

    matrix: np.ndarray
    levels: tuple[np.ndarray, ...]

    @classmethod
    def build(cls, matrix: np.ndarray) -> MerkleTree:
        arr = np.asarray(matrix)
        if arr.ndim != 2:
            raise MerkleError(f"expected a 2-D matrix, got shape {arr.shape}")
        n = arr.shape[0]
        if n < 1 or n & (n - 1):
            raise MerkleError(f"row count {n} is not a power of two")
        if arr.dtype != np.uint32:
            arr = arr.astype(np.uint32)
        level = hash_leaves(arr)
        levels = [level]
        while level.shape[0] > 1:
            # Consecutive digests (2k, 2k + 1) are one contiguous 16-element row of the reshape.
            level = compress_pairs(level.reshape(-1, 2 * DIGEST_SIZE), COMPRESS_DOMAIN_NODE)
            levels.append(level)
        return cls(matrix=arr, levels=tuple(levels))

    @property
    def root(self) -> np.ndarray:
        root: np.ndarray = self.levels[-1][0]
        return root

    @property
    def height(self) -> int:
        return len(self.levels) - 1

    @property
    def num_rows(self) -> int:
        return int(self.matrix.shape[0])

    def open(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows (q, w) and authentication paths (q, height, 8) for the given leaf indices."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= self.num_rows):
            raise MerkleError("opening index out of range")
        rows = np.ascontiguousarray(self.matrix[idx])
        paths = np.empty((idx.shape[0], self.height, DIGEST_SIZE), dtype=np.uint32)
        for k in range(self.height):
            paths[:, k, :] = self.levels[k][(idx >> k) ^ 1]
        return rows, paths


def verify_batch(
    root: np.ndarray,
    log_n: int,
    indices: np.ndarray,
    rows: np.ndarray,
    paths: np.ndarray,
) -> bool:
    """True iff every (index, row, path) opens to root in a tree of 2^log_n rows.

    All inputs may come from an untrusted proof: any shape, range or canonicity violation is a
    rejection (False), never an exception.
    """
    try:
        root_a = np.asarray(root)
        idx_raw = np.asarray(indices)
        rows_a = np.asarray(rows)
        paths_a = np.asarray(paths)
    except (TypeError, ValueError):
        return False
    if isinstance(log_n, bool) or not isinstance(log_n, int | np.integer):
        return False
    log_n = int(log_n)
    if not 0 <= log_n <= 32:
        return False
    # Shape rules: one digest root, one row and one full-height path per query.
    if root_a.shape != (DIGEST_SIZE,) or idx_raw.ndim != 1 or rows_a.ndim != 2:
        return False
    q = idx_raw.shape[0]
    if rows_a.shape[0] != q or paths_a.shape != (q, log_n, DIGEST_SIZE):
        return False
    # Integer and canonicity rules: indices within the tree, field elements below p.
    for arr in (idx_raw, rows_a, paths_a, root_a):
        if arr.dtype.kind not in "ui":
            return False
    if q == 0:
        return True
    if int(idx_raw.min()) < 0 or int(idx_raw.max()) >= (1 << log_n):
        return False
    for arr in (rows_a, paths_a, root_a):
        if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= P):
            return False
    node = hash_leaves(rows_a.astype(np.uint32))
    # All levels of all queries in one kernel call (a launch per level dominated verify time).
    node = climb_paths(node, paths_a.astype(np.uint32), idx_raw.astype(np.int64))
    return bool(np.all(node == root_a.astype(np.uint32)[None, :]))
