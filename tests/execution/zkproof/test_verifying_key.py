"""The verifier's cached and precomputed parts: fixed-table roots, program keys, and the batched
arithmetic and hashing that replaced per-level and per-matrix calls (same values as before)."""

from __future__ import annotations

import numpy as np
import pytest
from zkproof_cases import Honest

from execution.stark import lanes as L
from execution.stark import protocol
from execution.stark.air.compiled import compile_air
from execution.stark.merkle import MerkleTree, verify_batch
from execution.stark.poseidon2 import climb_paths, compress
from execution.stark.protocol import combine_ext_columns, preprocessed_root
from execution.zkproof import InvalidTaskProof, verify, vkey
from execution.zkproof.air import RangeAir
from execution.zkproof.samples import fib_loop_program
from storage.lru_cache import LruCache


def test_fixed_roots_are_the_committed_roots_of_todays_tables() -> None:
    # A stale seed would make every honest proof fail: the seeds must equal a fresh commitment.
    assert vkey.fixed_roots_now() == vkey.FIXED_ROOTS


def test_a_wrong_seeded_root_is_what_the_verifier_checks_against(honest: Honest) -> None:
    # Shows the seed is really used (and why the test above matters): a wrong range-table root
    # rejects the honest proof; the right one accepts it again.
    rng = compile_air(RangeAir())
    key = (rng.digest, RangeAir.log_height, 2)
    right = preprocessed_root(rng, RangeAir.log_height, 2)
    assert right is not None
    wrong = right.copy()
    wrong[0] = (int(wrong[0]) + 1) % L.P
    try:
        protocol.seed_preprocessed_root(*key, wrong)
        with pytest.raises(InvalidTaskProof):
            verify(honest.data, honest.program)
    finally:
        protocol.seed_preprocessed_root(*key, right)
    verify(honest.data, honest.program)


def test_seed_rejects_a_malformed_root() -> None:
    with pytest.raises(ValueError):
        protocol.seed_preprocessed_root(b"x" * 32, 5, 2, np.zeros(7, dtype=np.uint32))
    with pytest.raises(ValueError):
        protocol.seed_preprocessed_root(b"x" * 32, 5, 2, np.full(8, L.P, dtype=np.uint32))


def test_the_verifier_keeps_roots_only_and_its_caches_are_bounded() -> None:
    rng = compile_air(RangeAir())
    before = dict(protocol._PREP_CACHE)
    protocol._ROOT_CACHE.pop((rng.digest, RangeAir.log_height, 1), None)
    root = preprocessed_root(rng, RangeAir.log_height, 1)  # a height/blowup never seeded
    assert root is not None and root.shape == (8,)
    assert dict(protocol._PREP_CACHE).keys() == before.keys()  # no LDE or tree kept
    for i in range(protocol._ROOT_CACHE_SIZE + 5):
        protocol.seed_preprocessed_root(i.to_bytes(32, "little"), 1, 2, root)
    assert len(protocol._ROOT_CACHE) == protocol._ROOT_CACHE_SIZE
    vkey.seed_fixed_roots()


def test_program_keys_are_cached_by_image_id_and_bounded(
    honest: Honest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An empty cache of two: other tests in this worker may have keyed these programs already.
    monkeypatch.setattr(vkey, "_KEYS", LruCache(2))
    a, b = fib_loop_program(3), fib_loop_program(4)
    ka = vkey.program_key(a)
    assert vkey.program_key(fib_loop_program(3)) is ka  # an equal program: the same key
    kb = vkey.program_key(b)
    assert kb.image_id != ka.image_id and kb.program.digest != ka.program.digest
    kc = vkey.program_key(fib_loop_program(5))  # a miss past the bound drops the oldest
    assert len(vkey._KEYS) == 2
    assert vkey.program_key(fib_loop_program(5)) is kc and vkey.program_key(b) is kb
    assert vkey.program_key(a) is not ka  # it was the least recent: rebuilt
    # After eviction the honest proof's key is rebuilt and still verifies.
    verify(honest.data, honest.program)
    assert len(vkey._KEYS) == 2


def test_climb_paths_equals_compressing_level_by_level() -> None:
    gen = np.random.default_rng(7)
    for q, h in ((1, 0), (3, 1), (43, 18), (300, 9)):
        leaves = gen.integers(0, L.P, (q, 8), dtype=np.uint32)
        paths = gen.integers(0, L.P, (q, h, 8), dtype=np.uint32)
        idx = gen.integers(0, 1 << h, q)
        node = leaves
        for k in range(h):
            right = ((idx >> k) & 1).astype(bool)[:, None]
            sib = paths[:, k]
            node = compress(np.where(right, sib, node), np.where(right, node, sib))
        assert np.array_equal(climb_paths(leaves, paths, idx), node)


def test_verify_batch_rejects_one_changed_sibling_at_every_level() -> None:
    gen = np.random.default_rng(8)
    tree = MerkleTree.build(gen.integers(0, L.P, (64, 5), dtype=np.uint32))
    idx = gen.integers(0, 64, 9)
    rows, paths = tree.open(idx)
    assert verify_batch(tree.root, 6, idx, rows, paths)
    for k in range(6):
        bad = paths.copy()
        bad[4, k, 3] = (int(bad[4, k, 3]) + 1) % L.P
        assert not verify_batch(tree.root, 6, idx, rows, bad)


def _pow_by_products(x: L.U64, e: int) -> L.U64:
    out = np.array([1, 0, 0, 0], dtype=np.uint64)
    for _ in range(e):
        out = L.e_mul(out[None], x[None])[0]
    return out


def test_scalar_powers_equal_repeated_products() -> None:
    x = np.random.default_rng(9).integers(0, L.P, 4).astype(np.uint64)
    for e in (0, 1, 2, 3, 7, 64, 100):
        assert np.array_equal(L.e_pow(x, e), _pow_by_products(x, e))
    for n in (0, 1, 2, 3, 5, 17, 64):
        pw = L.e_powers(x, n)
        assert pw.shape == (n, 4)
        for i in range(n):
            assert np.array_equal(pw[i], _pow_by_products(x, i))


def test_combined_extension_columns_equal_the_basis_sum() -> None:
    v = np.random.default_rng(10).integers(0, L.P, (12, 4)).astype(np.uint64)
    basis = np.eye(4, dtype=np.uint64)
    want = np.zeros((3, 4), dtype=np.uint64)
    for j in range(3):
        for c in range(4):
            want[j] = L.e_add(want[j], L.e_mul(v[4 * j + c], basis[c]))
    assert np.array_equal(combine_ext_columns(v), want)
    assert combine_ext_columns(np.zeros((0, 4), dtype=np.uint64)).shape == (0, 4)
