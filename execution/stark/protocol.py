"""Pieces of the protocol that the prover and the verifier must compute identically."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.air.compiled import CompiledAir
from execution.stark.challenger import Challenger
from execution.stark.field import GENERATOR
from execution.stark.merkle import MerkleTree
from execution.stark.ntt import coset_lde
from execution.stark.params import FriParams
from execution.stark.poseidon2 import hash_elements

__all__ = [
    "DOMAIN_TAG",
    "OPENING_FIELDS",
    "QUOTIENT_ROWS_PER_LEAF",
    "PreprocessedData",
    "combine_ext_columns",
    "digest_elements",
    "ext_basis",
    "opening_digest",
    "preprocessed_data",
    "preprocessed_root",
    "seed_preprocessed_root",
    "start_transcript",
]

# "IVCSTARK" as two field elements: separates this transcript from any other Poseidon2 use.
DOMAIN_TAG = np.array([0x49564353, 0x5441524B], dtype=np.uint32) % np.uint32(L.P)
U32 = npt.NDArray[np.uint32]
_V = TypeVar("_V")
# The quotient tree's leaves hold 2 adjacent LDE rows (the points x and -x): the quotient is only
# 4 * 2^q base columns wide, so its tree would otherwise cost as many inner-node hashes as the
# main trace's for a fraction of the data.
QUOTIENT_ROWS_PER_LEAF = 2


def digest_elements(digest: bytes) -> U32:
    words = np.frombuffer(digest, dtype="<u4").astype(np.uint64)
    return (words % np.uint64(L.P)).astype(np.uint32)


def start_transcript(
    params: FriParams,
    airs: list[CompiledAir],
    log_ns: list[int],
    publics: list[list[Any]],
    ch: Any = None,
    air_ids: list[Any] | None = None,
) -> Any:
    """Bind the statement: protocol tag, parameters, each AIR, its height and public values.

    `ch` is a fresh transcript to drive (a Challenger by default; the recursion recorder passes
    its symbolic one, and then the public values are symbolic cells, observed as they are).
    `air_ids` replaces each AIR's digest elements (the recorder passes cells for AIRs whose
    identity is a program input).
    """
    if ch is None:
        ch = Challenger()
    ch.observe(DOMAIN_TAG)
    ch.observe(np.frombuffer(params.to_bytes(), dtype=np.uint8).astype(np.uint32))
    ch.observe(np.array([len(airs)], dtype=np.uint32))
    ids = air_ids if air_ids is not None else [digest_elements(a.digest) for a in airs]
    for air_id, log_n, pub in zip(ids, log_ns, publics, strict=True):
        ch.observe(air_id)
        ch.observe(np.array([log_n, len(pub)], dtype=np.uint32))
        if pub and isinstance(pub[0], int | np.integer):
            ch.observe(np.array([v % L.P for v in pub], dtype=np.uint32))
        elif pub:
            ch.observe(np.array(pub, dtype=object))
    return ch


OPENING_FIELDS = (
    "prep_local",
    "prep_next",
    "main_local",
    "main_next",
    "perm_local",
    "perm_next",
    "quotient",
)


def opening_digest(arrays: list[U32]) -> U32:
    """One digest of a table's out-of-domain openings, in OPENING_FIELDS order.

    Observing the digest instead of every value costs one sponge call instead of a duplexing per
    eight values, and binds the same data.
    """
    flat = np.concatenate([np.asarray(a, dtype=np.uint32).reshape(-1) for a in arrays])
    return hash_elements(flat)


def ext_basis() -> L.U64:
    """The four extension elements 1, X, X^2, X^3."""
    return np.eye(4, dtype=np.uint64)


def _x_power_map() -> L.U64:
    """M with sum_(c, d) v[c, d] M[c, d] = sum_c v[c] X^c: coefficient d of v[c] lands on X^(c+d),
    and X^(c+d) = W X^(c+d-4) past degree 3."""
    m = np.zeros((4, 4, 4), dtype=np.uint64)
    for c in range(4):
        for d in range(4):
            e = c + d
            m[c, d, e % 4] = 1 if e < 4 else L.W
    return m.reshape(16, 4)


_X_POWERS = _x_power_map()


def combine_ext_columns(values: L.U64) -> L.U64:
    """Openings of 4k base columns that flatten k extension columns -> k extension values."""
    k = values.shape[0] // 4
    v = np.asarray(values, dtype=np.uint64)[: 4 * k].reshape(k, 16)
    # One small integer product: 16 terms below p * W each stay far below 2^64.
    return (v @ _X_POWERS) % np.uint64(L.P)  # type: ignore[no-any-return]


@dataclass
class PreprocessedData:
    trace: U32  # (n, w) on the trace domain
    lde: U32  # (n * blowup, w), bit-reversed coset order
    tree: MerkleTree


# The prover's fixed columns with their LDE and tree (it opens them at the queries). Bounded by
# count, least recently used first out: tables named after one proof's data (an IO table) must
# not pile up, and the range table's entry (about 25 MB) is worth keeping across proofs.
_PREP_CACHE: OrderedDict[tuple[bytes, int, int], PreprocessedData] = OrderedDict()
_PREP_CACHE_SIZE = 8
# The verifier needs only each fixed table's Merkle root: its verifying key. Roots are 32 bytes,
# so many programs' keys fit; built once per (AIR digest, height, blowup).
_ROOT_CACHE: OrderedDict[tuple[bytes, int, int], U32] = OrderedDict()
_ROOT_CACHE_SIZE = 1024


# A node verifies in several threads at once (the proof exchange's and block execution's): a
# lookup and its move to the end, or an insert and its evictions, must not interleave with
# another thread's eviction (move_to_end of an entry evicted in between raises KeyError).
_CACHE_LOCK = threading.Lock()


def _lru_get(
    cache: OrderedDict[tuple[bytes, int, int], _V], key: tuple[bytes, int, int]
) -> _V | None:
    with _CACHE_LOCK:
        hit = cache.get(key)
        if hit is not None:
            cache.move_to_end(key)
        return hit


def _lru_put(
    cache: OrderedDict[tuple[bytes, int, int], _V],
    key: tuple[bytes, int, int],
    value: _V,
    size: int,
) -> None:
    with _CACHE_LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)


def _commit_preprocessed(air: CompiledAir, log_n: int, log_blowup: int) -> PreprocessedData:
    trace = air.air.preprocessed_trace(log_n)
    if trace is None or trace.shape != (1 << log_n, air.preprocessed_width):
        raise ValueError(f"{air.name}: preprocessed_trace({log_n}) has the wrong shape")
    trace = np.ascontiguousarray(trace, dtype=np.uint32)
    lde = coset_lde(trace, log_blowup, GENERATOR)
    return PreprocessedData(trace, lde, MerkleTree.build(lde))


def preprocessed_data(air: CompiledAir, log_n: int, log_blowup: int) -> PreprocessedData | None:
    """The committed fixed columns of `air` at height 2^log_n, with LDE and tree (the prover's)."""
    if air.preprocessed_width == 0:
        return None
    key = (air.digest, log_n, log_blowup)
    hit = _lru_get(_PREP_CACHE, key)
    if hit is not None:
        return hit
    data = _commit_preprocessed(air, log_n, log_blowup)
    _lru_put(_PREP_CACHE, key, data, _PREP_CACHE_SIZE)
    _lru_put(_ROOT_CACHE, key, data.tree.root, _ROOT_CACHE_SIZE)
    return data


def preprocessed_root(air: CompiledAir, log_n: int, log_blowup: int) -> U32 | None:
    """The Merkle root of `air`'s fixed columns at height 2^log_n: the verifying key's part.

    Cached by (AIR digest, height, blowup); a miss commits the columns once and keeps only the
    root (the verifier checks openings against it and never needs the LDE or the tree).
    """
    if air.preprocessed_width == 0:
        return None
    key = (air.digest, log_n, log_blowup)
    root = _lru_get(_ROOT_CACHE, key)
    if root is None:
        data = _lru_get(_PREP_CACHE, key)
        root = (data or _commit_preprocessed(air, log_n, log_blowup)).tree.root.copy()
        _lru_put(_ROOT_CACHE, key, root, _ROOT_CACHE_SIZE)
    return root


def seed_preprocessed_root(digest: bytes, log_n: int, log_blowup: int, root: U32) -> None:
    """Give the root cache a precomputed root (a verifying key shipped with the code), so that
    preprocessed_root does not commit that table. The caller vouches for the root: a wrong one
    makes every honest proof of that AIR fail to verify (its tests recompute each seed)."""
    arr = np.asarray(root, dtype=np.uint32)
    if arr.shape != (8,) or int(arr.max()) >= L.P:
        raise ValueError("a root is 8 canonical field elements")
    _lru_put(_ROOT_CACHE, (bytes(digest), log_n, log_blowup), arr.copy(), _ROOT_CACHE_SIZE)
