"""The jobs of a v1 tree and span proofs (execution/universal/tree_jobs.py): the jobs follow the
tree rule (folding their digests gives `commitment`), and a lift proof travelling as a span
proof is accepted for its own span only: another leaf's statement, another control id, another
span, or damaged bytes are refused. Fibonacci 2^6 task proofs under test-fast."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from v1_cases import leaf, leaf_of, spec_of

from execution.recursion.join import commitment, join_digest, pair_up
from execution.recursion.lift import LeafStatement, LiftSpec, lift_digest
from execution.stark.params import FriParams
from execution.universal.proof_v0 import InvalidUniversalProof
from execution.universal.tree_jobs import SpanProof, tree_jobs, verify_span

FAST: FriParams = spec_of((6,)).params


@pytest.mark.parametrize(
    ("leaves", "root"),
    [
        ("a", "a"),
        ("ab", "(ab)"),
        ("abc", "((ab)c)"),
        ("abcde", "(((ab)(cd))e)"),
        ("abcdef", "(((ab)(cd))(ef))"),
        ("abcdefg", "(((ab)(cd))((ef)g))"),
    ],
)
def test_the_tree_rule_pairs_neighbours_and_promotes_an_odd_last_node(
    leaves: str, root: str
) -> None:
    # Known answers, independent of the digests, keys and jobs that all follow pair_up.
    order: list[str] = []

    def join(left: str, right: str) -> str:
        order.append(f"({left}{right})")
        return order[-1]

    assert pair_up(list(leaves), join) == root
    assert len(order) == len(leaves) - 1
    for i, node in enumerate(order):  # children joined before their parent
        assert all(order.index(sub) < i for sub in order if sub != node and sub in node)
    with pytest.raises(ValueError):
        pair_up([], join)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 16, 17])
def test_tree_jobs_follow_the_tree_rule(n: int) -> None:
    jobs = tree_jobs(n)
    assert len(jobs) == n - 1
    rng = np.random.default_rng(n)
    digests = [rng.integers(0, 2013265921, 8, dtype=np.uint32) for _ in range(n)]
    done = {(i, i + 1): digests[i] for i in range(n)}
    for span, left, right in jobs:
        assert left in done and right in done  # children first
        assert (left[0], right[1]) == span and left[1] == right[0]
        done[span] = join_digest(done[left], done[right])
    assert np.array_equal(done[(0, n)], commitment(digests))
    with pytest.raises(ValueError):
        tree_jobs(0)


def _statements(seeds: list[int]) -> tuple[list[LeafStatement], list[LiftSpec]]:
    pairs = [leaf_of(i, leaf(s)[0]) for i, s in enumerate(seeds)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def test_a_lift_span_proof_verifies_for_its_own_span_only() -> None:
    _, node, _ = leaf(1)
    sp = SpanProof.of((0, 1), node)
    raw = sp.encode()
    back = SpanProof.decode(raw)
    assert (back.span, back.control_id, back.encode()) == (sp.span, sp.control_id, raw)
    leaves, specs = _statements([1, 2])
    got = verify_span(SpanProof.decode(raw), leaves, specs, FAST)
    assert np.array_equal(got.proof.outputs[:, 0], lift_digest(leaves[0]))

    # Leaf 2's place: its statement's digest is not what the proof exposes.
    with pytest.raises(InvalidUniversalProof, match="proof rejected"):
        verify_span(replace(sp, span=(1, 2)), leaves, specs, FAST)
    # Another statement for the same task (one public value changed).
    pubs = [list(p) for p in leaves[0].publics]
    pubs[0][-1] = (pubs[0][-1] + 1) % 2013265921
    forged = [replace(leaves[0], publics=tuple(tuple(p) for p in pubs)), leaves[1]]
    with pytest.raises(InvalidUniversalProof, match="proof rejected"):
        verify_span(sp, forged, specs, FAST)
    # The span of both leaves has a join program: a lift proof is not it.
    with pytest.raises(InvalidUniversalProof, match="control id"):
        verify_span(replace(sp, span=(0, 2)), leaves, specs, FAST)
    with pytest.raises(InvalidUniversalProof, match="not within"):
        verify_span(replace(sp, span=(1, 3)), leaves, specs, FAST)


def test_damaged_span_proof_bytes_are_refused() -> None:
    _, node, _ = leaf(1)
    raw = SpanProof.of((0, 1), node).encode()
    leaves, specs = _statements([1])
    bad = [
        raw[:-1],
        raw + b"\x00",
        b"IVCSPAN0" + raw[8:],
        raw[:8] + (5).to_bytes(4, "little") + (2).to_bytes(4, "little") + raw[16:],
        raw[:16] + b"\xff" * 4 + raw[20:],  # a control id word past the field
    ]
    for data in bad:
        with pytest.raises(InvalidUniversalProof):
            SpanProof.decode(data)
    rng = np.random.default_rng(7)
    refused = 0
    for pos in rng.integers(60, len(raw), 12):
        flipped = bytearray(raw)
        flipped[int(pos)] ^= 1 << int(rng.integers(0, 8))
        try:
            verify_span(SpanProof.decode(bytes(flipped)), leaves, specs, FAST)
        except InvalidUniversalProof:
            refused += 1
    assert refused == 12
