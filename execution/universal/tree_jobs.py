"""The jobs of a v1 root's tree, and a lift or join proof as it would travel between nodes
(docs/recursion.md, "Building the tree in parallel": the design this is the first part of).

The tree rule (execution/recursion/join.py) fixes, for n leaves in block order, which spans of
leaves get a proof: each leaf (i, i + 1) a lift, and n − 1 joins, each over two child spans.
`tree_jobs(n)` lists the joins in an order where both children come first. Because pairs are
aligned the same way at every level, the proof of span (lo, hi) is exactly the root of the tree
over leaves lo..hi−1 alone: its program is `root_key` of those leaves' lift keys and its single
output is `commitment` of their lift digests. So any node can check a span's proof from the
span's statements alone, without the rest of the tree (`verify_span`, which returns the
proof as a node a builder can join).

    span proof = magic "IVCSPAN1" ‖ u32 lo ‖ u32 hi ‖ control id (32 bytes) ‖ u32 length ‖ the
                 recursion STARK proof (execution/stark/proof.py bytes)

(little-endian). The output (the span's commitment) is not carried: the verifier recomputes it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from execution.recursion.join import Node, commitment, pair_up, root_key
from execution.recursion.lift import LeafStatement, LiftSpec, lift_digest, lift_key
from execution.recursion.prove import RecursionKey, RecursionProof
from execution.recursion.prove import verify as recursion_verify
from execution.stark.errors import InvalidProof, ProofFormatError
from execution.stark.field import P
from execution.stark.params import FriParams
from execution.stark.proof import Proof
from execution.universal.proof_v0 import MAX_LEAVES, InvalidUniversalProof

__all__ = ["SPAN_MAGIC", "Span", "SpanProof", "tree_jobs", "verify_span"]

SPAN_MAGIC = b"IVCSPAN1"
MAX_SPAN_PROOF_BYTES = 16 << 20
Span = tuple[int, int]  # leaves lo..hi-1


def tree_jobs(n: int) -> list[tuple[Span, Span, Span]]:
    """The joins of a tree over n leaves: (span, left child, right child), children first."""
    if not 1 <= n <= MAX_LEAVES:
        raise ValueError(f"a tree has 1 to {MAX_LEAVES} leaves")
    jobs: list[tuple[Span, Span, Span]] = []

    def job(left: Span, right: Span) -> Span:
        jobs.append(((left[0], right[1]), left, right))
        return jobs[-1][0]

    pair_up([(i, i + 1) for i in range(n)], job)
    return jobs


@dataclass(frozen=True)
class SpanProof:
    span: Span
    control_id: bytes
    proof: Proof

    @classmethod
    def of(cls, span: Span, node: Node) -> SpanProof:
        cid = np.asarray(node.key.control_id, dtype="<u4").tobytes()
        return cls(span, cid, node.proof.proof)

    def encode(self) -> bytes:
        raw = self.proof.to_bytes()
        lo, hi = self.span
        return (
            SPAN_MAGIC
            + struct.pack("<II", lo, hi)
            + self.control_id
            + struct.pack("<I", len(raw))
            + raw
        )

    @classmethod
    def decode(cls, data: bytes) -> SpanProof:
        """Parse untrusted bytes (InvalidUniversalProof names the violated rule)."""
        head = len(SPAN_MAGIC) + 8 + 32 + 4
        if len(data) > MAX_SPAN_PROOF_BYTES:
            raise InvalidUniversalProof("span proof: too large")
        if len(data) < head or data[: len(SPAN_MAGIC)] != SPAN_MAGIC:
            raise InvalidUniversalProof("not a span proof")
        lo, hi = struct.unpack_from("<II", data, len(SPAN_MAGIC))
        if not 0 <= lo < hi <= MAX_LEAVES:
            raise InvalidUniversalProof("span proof: span out of range")
        cid = data[len(SPAN_MAGIC) + 8 : len(SPAN_MAGIC) + 40]
        if any(int(w) >= P for w in np.frombuffer(cid, dtype="<u4")):
            raise InvalidUniversalProof("span proof: control id is not 8 field elements")
        (length,) = struct.unpack_from("<I", data, head - 4)
        if len(data) != head + length:
            raise InvalidUniversalProof("span proof: length does not match")
        try:
            proof = Proof.from_bytes(data[head:])
        except (ProofFormatError, ValueError) as exc:
            raise InvalidUniversalProof(f"span proof: {exc}") from exc
        return cls((lo, hi), cid, proof)


def _span_key_and_outputs(
    span: Span, leaves: Sequence[LeafStatement], specs: Sequence[LiftSpec], params: FriParams
) -> tuple[RecursionKey, np.ndarray]:
    lo, hi = span
    if not 0 <= lo < hi <= len(leaves) or len(specs) != len(leaves):
        raise InvalidUniversalProof(f"span {span} is not within the {len(leaves)} leaves")
    key = root_key([lift_key(s) for s in specs[lo:hi]], params)
    c = commitment([lift_digest(s) for s in leaves[lo:hi]])
    outputs = np.zeros((len(c), 4), dtype=np.uint32)
    outputs[:, 0] = c
    return key, outputs


def verify_span(
    sp: SpanProof,
    leaves: Sequence[LeafStatement],
    specs: Sequence[LiftSpec],
    params: FriParams,
) -> Node:
    """Accept `sp` as the proof of its span of the tree over `leaves` (the block's leaf
    statements and lift specs, in tree order), or raise InvalidUniversalProof; return it as a
    tree node that `join` can take."""
    key, outputs = _span_key_and_outputs(sp.span, leaves, specs, params)
    if np.asarray(key.control_id, dtype="<u4").tobytes() != sp.control_id:
        raise InvalidUniversalProof(f"span {sp.span}: not the span's program (control id)")
    try:
        recursion_verify(sp.proof, key, key.control_id, outputs, params)
    except InvalidProof as exc:
        raise InvalidUniversalProof(f"span {sp.span}: proof rejected: {exc}") from exc
    return Node(RecursionProof(sp.proof, outputs), key)
