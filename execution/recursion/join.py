"""`join`: a recursion proof that verifies two recursion proofs and exposes the hash of their
digests, in order; the join tree over a block's lift proofs.

A join program verifies a proof of one given left program and one given right program: their
keys (recursion AIRs at their shapes, with their programs as fixed columns) are constants of the
join program, so the children's control ids are fixed constants it checks (the AIR digests the
transcript observes are derived from them and the fixed-column roots are their programs). The
join program of (left, right) therefore has its own control id, and the set of allowed programs
is closed: lift programs (one per task-proof shape) and joins of allowed programs.

    OUTPUT join_digest = hash_elements(JOIN_TAG ‖ left digest (8) ‖ right digest (8))

Tree rule (the same as Universal Proof v0's): the leaves in block order; each level pairs
neighbours left to right, and an odd last node is promoted to the next level unchanged (no
padding: a tree over n leaves has n − 1 joins, and one leaf is its own root, the lift proof).
The root's program is a function of the leaves' lift programs and their number, which the
verifier recomputes (`root_key`). `pair_up` is the rule, once: the digests, the keys, the
proofs and the jobs of a tree (execution.universal.tree_jobs) all follow it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from execution.recursion import key_store
from execution.recursion.lift import Lifted
from execution.recursion.prove import RecursionKey, RecursionProof, program_key, prove
from execution.recursion.record import (
    Recorder,
    Recording,
    hash_cells,
    program_inputs_for,
    record_verifier,
    template_proof,
)
from execution.stark.params import FriParams
from execution.stark.poseidon2 import hash_elements
from storage.lru_cache import LruCache

__all__ = [
    "JOIN_TAG",
    "Node",
    "build_tree",
    "commitment",
    "join",
    "join_digest",
    "join_key",
    "join_recording",
    "node_publics",
    "pair_up",
    "root_key",
]

U32 = npt.NDArray[np.uint32]

# "join" as four 8-bit words, then a version.
JOIN_TAG = (0x6A, 0x6F, 0x69, 0x6E, 1)
DIGEST_CELLS = 8

Node = Lifted  # a proof and its program's key: a lift or a join


T = TypeVar("T")


def pair_up(leaves: Sequence[T], join: Callable[[T, T], T]) -> T:
    """The root of the tree over `leaves` by the tree rule: each level joins neighbours left
    to right, an odd last node goes up unchanged. `join` runs level by level, left to right,
    so both children of a node are made before it."""
    if not leaves:
        raise ValueError("a tree has at least one leaf")
    level = list(leaves)
    while len(level) > 1:
        nxt = [join(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def join_digest(left: npt.ArrayLike, right: npt.ArrayLike) -> U32:
    words = [*JOIN_TAG, *(int(v) for v in np.asarray(left)), *(int(v) for v in np.asarray(right))]
    return hash_elements(np.array(words, dtype=np.uint32))


def commitment(digests: list[U32]) -> U32:
    """The root digest of the tree over leaf digests (the tree rule above)."""
    return pair_up(digests, join_digest)


def _cid(key: RecursionKey) -> bytes:
    return np.asarray(key.control_id, dtype="<u4").tobytes()


# A tree whose leaves share one lift program needs at most two join programs per level (the
# full pairs and the one over a promoted odd node): 24 covers 4096 leaves.
JOIN_CACHE_SIZE = 24
_RECORDINGS: LruCache[tuple[bytes, bytes, bytes], Recording] = LruCache(JOIN_CACHE_SIZE)
_KEYS: LruCache[tuple[bytes, bytes, bytes], RecursionKey] = LruCache(JOIN_CACHE_SIZE)


def join_recording(left: RecursionKey, right: RecursionKey, params: FriParams) -> Recording:
    """The join program of proofs of `left`'s and `right`'s programs under `params`."""
    k = (_cid(left), _cid(right), params.to_bytes())
    hit = _RECORDINGS.get(k)
    if hit is None:
        rec = Recorder()
        sides = []
        for child in (left, right):
            airs = list(child.airs)
            if child.shape.num_outputs != DIGEST_CELLS:
                raise ValueError("a join's children expose one digest")
            tmpl = template_proof(airs, list(child.shape.all_log_heights()), params)
            v = record_verifier(
                rec, airs, tmpl, params, max_log_n=max(child.shape.all_log_heights())
            )
            sides.append(v)
        # The children's outputs are base cells (digests): limb 0 of each output cell.
        digests = [v.publics[-1][4 * i] for v in sides for i in range(DIGEST_CELLS)]
        out = hash_cells(rec, [rec.base(t) for t in JOIN_TAG] + digests)
        rec.note = "join digest"
        for c in out:
            rec.output(c)
        hit = Recording(rec.program(), (sides[0].slot, sides[1].slot))
        _RECORDINGS.put(k, hit)
    return hit


def join_key(left: RecursionKey, right: RecursionKey, params: FriParams) -> RecursionKey:
    k = (_cid(left), _cid(right), params.to_bytes())
    return key_store.key_for(
        "join", k, _KEYS, lambda: program_key(join_recording(left, right, params).program)
    )


def node_publics(node: Node) -> list[list[int]]:
    pubs: list[list[int]] = [[] for _ in node.key.airs]
    pubs[-1] = [int(v) for v in node.proof.outputs.reshape(-1)]
    return pubs


def join(left: Node, right: Node, params: FriParams) -> Node:
    """Prove the join of two recursion proofs (tracegen.ExecutionError if either does not
    verify: there is no run to prove)."""
    rec = join_recording(left.key, right.key, params)
    words = program_inputs_for(
        rec, [(left.proof.proof, node_publics(left)), (right.proof.proof, node_publics(right))]
    )
    key = join_key(left.key, right.key, params)
    rp: RecursionProof = prove(key.layout.program, words, params, key=key)
    return Node(rp, key)


def build_tree(
    leaves: list[Node],
    params: FriParams,
    memo: dict[tuple[int, int], Node] | None = None,
    on_join: Callable[[tuple[int, int]], None] | None = None,
) -> Node:
    """The root of the join tree over lift proofs in block order.

    `memo` (keyed by the leaf range a node covers) lets trees over prefixes of one leaf list
    share their proven nodes (the benchmark's 1, 2, 7, 16 trees); `on_join(span)` is called
    after each join proven (progress logs).
    """
    proven = {} if memo is None else memo
    Spanned = tuple[tuple[int, int], Node]

    def join_spans(a: Spanned, b: Spanned) -> Spanned:
        span = (a[0][0], b[0][1])
        if span not in proven:
            proven[span] = join(a[1], b[1], params)
            if on_join is not None:
                on_join(span)
        return span, proven[span]

    return pair_up([((i, i + 1), n) for i, n in enumerate(leaves)], join_spans)[1]


def root_key(leaf_keys: list[RecursionKey], params: FriParams) -> RecursionKey:
    """The key of the root program of a tree whose leaves are proofs of `leaf_keys`' programs:
    the only root program a verifier accepts for those leaves."""
    return pair_up(leaf_keys, lambda left, right: join_key(left, right, params))
