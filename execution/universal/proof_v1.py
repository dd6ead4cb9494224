"""Universal Proof v1: one recursion proof (the root of a lift/join tree) and the ordered task
statements it commits to.

The root proof exposes one digest, the commitment to the block's task statements in block order
(execution/recursion/join.py: `commitment` over `lift_digest`s). The statements travel in the
proof's bytes (a validator needs the outputs); `leaf_of` turns each into the `LeafStatement` the
lift digested and the `LiftSpec` of its task proof's shape, applying the outer checks (for a
zkVM task, execution/universal/zkvm_leaf.py, against the state's task record). `verify` checks:
  1. the byte format below (every length bounded, canonical words, no trailing bytes);
  2. the root's control id is the one allowed for those leaves: the root program of the tree
     over the leaves' lift programs (`join.root_key`), whose join programs fix their children's
     control ids in turn, so every node of the tree is an allowed program;
  3. the STARK proof of that program's run under the chain's recursion parameters, with the
     commitment recomputed from the statements as its only public output.
Its cost is one recursion proof's verification plus the outer checks and one hash per
statement; the programs and keys are built once per tree shape and cached (`join.root_key`).

Byte layout (little-endian):
    magic        8 bytes  b"IVCUPv1\x00"  (the version tag)
    block_height u64
    block_hash   32 bytes
    num_leaves   u32, 1..MAX_LEAVES
    per leaf:    task_id 32 bytes
                 u8 number of tables (1..MAX_TABLES), then u8 log height per table
                 (the task proof's shape: it selects the leaf's lift program)
                 u32 statement length (at most MAX_STATEMENT_BYTES), the statement bytes
                 (a zkVM task: Statement.to_bytes(); `plain_statement` for plain STARK proofs)
    control_id   32 bytes (8 u32, canonical): the root program's
    proof        u32 length, execution.stark.proof.Proof.to_bytes()
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.recursion.join import Node, build_tree, commitment, root_key
from execution.recursion.lift import LeafStatement, LiftSpec, lift_digest, lift_key
from execution.recursion.prove import verify as recursion_verify
from execution.stark.errors import InvalidProof, ProofFormatError
from execution.stark.field import P
from execution.stark.params import FriParams
from execution.stark.poseidon2 import hash_elements
from execution.stark.proof import Proof
from execution.universal.proof_v0 import MAX_LEAVES, InvalidUniversalProof
from execution.universal.version import MAGIC_V1

__all__ = [
    "MAGIC_V1",
    "VERSION_V1",
    "LeafOf",
    "UniversalProofV1",
    "V1Leaf",
    "plain_publics",
    "plain_statement",
    "prove_v1",
]

VERSION_V1 = 1
MAX_V1_BYTES = 16 << 20
MAX_TABLES = 64
MAX_LOG_HEIGHT = 30
U32 = npt.NDArray[np.uint32]

MAX_STATEMENT_BYTES = 2 << 20


@dataclass(frozen=True)
class V1Leaf:
    """One task as the v1 bytes carry it."""

    task_id: bytes
    shape: tuple[int, ...]
    statement: bytes


# leaf_of(index, leaf) -> what its lift digested and its lift spec; raises InvalidUniversalProof
LeafOf = Callable[[int, V1Leaf], tuple[LeafStatement, LiftSpec]]


@dataclass(frozen=True)
class UniversalProofV1:
    block_height: int
    block_hash: bytes
    leaves: tuple[V1Leaf, ...]
    control_id: bytes
    proof: Proof

    def encode(self) -> bytes:
        out = bytearray(MAGIC_V1)
        out += struct.pack("<Q", self.block_height) + self.block_hash
        out += struct.pack("<I", len(self.leaves))
        for leaf in self.leaves:
            out += leaf.task_id + struct.pack(f"<B{len(leaf.shape)}B", len(leaf.shape), *leaf.shape)
            out += struct.pack("<I", len(leaf.statement)) + leaf.statement
        pb = self.proof.to_bytes()
        out += self.control_id + struct.pack("<I", len(pb)) + pb
        return bytes(out)

    @classmethod
    def decode(cls, data: bytes) -> UniversalProofV1:
        """Parse untrusted bytes; InvalidUniversalProof names the first violated rule."""
        if not isinstance(data, bytes | bytearray):
            raise InvalidUniversalProof("a universal proof is bytes")
        if len(data) > MAX_V1_BYTES:
            raise InvalidUniversalProof(f"{len(data)} bytes exceeds {MAX_V1_BYTES}")
        r = _Reader(bytes(data))
        if r.take(8) != MAGIC_V1:
            raise InvalidUniversalProof("not a version 1 universal proof (magic)")
        (height,) = struct.unpack("<Q", r.take(8))
        block_hash = r.take(32)
        (n,) = struct.unpack("<I", r.take(4))
        if not 1 <= n <= MAX_LEAVES:
            raise InvalidUniversalProof(f"a universal proof holds 1 to {MAX_LEAVES} task proofs")
        leaves = []
        for _ in range(n):
            task_id = r.take(32)
            k = r.take(1)[0]
            if not 1 <= k <= MAX_TABLES:
                raise InvalidUniversalProof(f"a task proof has 1 to {MAX_TABLES} tables")
            logs = tuple(r.take(k))
            if any(not 1 <= v <= MAX_LOG_HEIGHT for v in logs):
                raise InvalidUniversalProof("a table log height is out of range")
            (slen,) = struct.unpack("<I", r.take(4))
            if slen > MAX_STATEMENT_BYTES:
                raise InvalidUniversalProof("a statement is too long")
            leaves.append(V1Leaf(task_id, logs, r.take(slen)))
        control_id = r.take(32)
        if any(int(w) >= P for w in np.frombuffer(control_id, dtype="<u4")):
            raise InvalidUniversalProof("control id is not 8 canonical field elements")
        (plen,) = struct.unpack("<I", r.take(4))
        raw = r.take(plen)
        if r.pos != len(r.data):
            raise InvalidUniversalProof("trailing bytes after the root proof")
        try:
            proof = Proof.from_bytes(raw)
        except (ProofFormatError, ValueError) as exc:
            raise InvalidUniversalProof(f"malformed root proof: {exc}") from exc
        return cls(height, block_hash, tuple(leaves), control_id, proof)

    def root(self, statements: Sequence[LeafStatement]) -> bytes:
        """The 32-byte digest naming the block and its statements (what a header references)."""
        c = commitment([lift_digest(s) for s in statements])
        words = [*(int(v) for v in c), self.block_height & 0xFFFF, self.block_height >> 16 & 0xFFFF]
        words += [self.block_height >> 32 & 0xFFFF, self.block_height >> 48]
        words += [int(v) for v in np.frombuffer(self.block_hash, dtype="<u2")]
        return hash_elements(np.array(words, dtype=np.uint32)).astype("<u4").tobytes()

    def verify(self, leaf_of: LeafOf, params: FriParams) -> tuple[bytes, list[LeafStatement]]:
        """Accept the root for exactly the carried statements, in order, or raise
        InvalidUniversalProof; return `root(statements)` and the statements.

        `params` are the chain's recursion FRI parameters.
        """
        if len({leaf.task_id for leaf in self.leaves}) != len(self.leaves):
            raise InvalidUniversalProof("a task is answered twice")
        statements: list[LeafStatement] = []
        specs: list[LiftSpec] = []
        for i, leaf in enumerate(self.leaves):
            st, spec = leaf_of(i, leaf)
            if st.task_id != leaf.task_id or spec.log_ns != leaf.shape:
                raise InvalidUniversalProof(f"leaf {i}: statement for another task or shape")
            # The lift digests the public values flat: only the AIRs' counts give them their
            # tables, so a statement that moves values between tables must not pass.
            if len(st.publics) != len(spec.airs) or any(
                len(pub) != air.num_public_values
                for pub, air in zip(st.publics, spec.airs, strict=False)
            ):
                raise InvalidUniversalProof(f"leaf {i}: public values do not fit the proof's AIRs")
            statements.append(st)
            specs.append(spec)
        try:
            key = root_key([lift_key(spec) for spec in specs], params)
        except (ValueError, InvalidProof) as exc:
            raise InvalidUniversalProof(f"no allowed root program for these leaves: {exc}") from exc
        want = np.asarray(key.control_id, dtype="<u4").tobytes()
        if self.control_id != want:
            raise InvalidUniversalProof("the root's control id is not the allowed root program's")
        try:
            c = commitment([lift_digest(s) for s in statements])
        except ValueError as exc:
            raise InvalidUniversalProof(f"bad statement: {exc}") from exc
        outputs = np.zeros((len(c), 4), dtype=np.uint32)
        outputs[:, 0] = c
        try:
            recursion_verify(self.proof, key, key.control_id, outputs, params)
        except InvalidProof as exc:
            raise InvalidUniversalProof(f"root proof rejected: {exc}") from exc
        return self.root(statements), statements


def prove_v1(
    block_height: int,
    block_hash: bytes,
    leaves: Sequence[V1Leaf],
    lifts: Sequence[Node],
    params: FriParams,
    memo: dict[tuple[int, int], Node] | None = None,
    on_join: Callable[[tuple[int, int]], None] | None = None,
) -> UniversalProofV1:
    """Join lift proofs (block order) into a root and wrap it with the statements
    (tracegen.ExecutionError if a proof in the tree does not verify)."""
    if len(leaves) != len(lifts):
        raise ValueError("one lift proof per leaf")
    root = build_tree(list(lifts), params, memo, on_join)
    cid = np.asarray(root.key.control_id, dtype="<u4").tobytes()
    return UniversalProofV1(block_height, block_hash, tuple(leaves), cid, root.proof.proof)


def plain_statement(publics: Sequence[Sequence[int]]) -> bytes:
    """Statement bytes of a plain STARK proof (tests, benchmarks): u16 number of tables, per
    table u16 count and the u32 public values."""
    out = bytearray(struct.pack("<H", len(publics)))
    for pub in publics:
        out += struct.pack(f"<H{len(pub)}I", len(pub), *pub)
    return bytes(out)


def plain_publics(data: bytes) -> tuple[tuple[int, ...], ...]:
    """Parse `plain_statement` bytes (InvalidUniversalProof if malformed or non-canonical)."""
    r = _Reader(data)
    (k,) = struct.unpack("<H", r.take(2))
    tables = []
    for _ in range(k):
        (m,) = struct.unpack("<H", r.take(2))
        words = struct.unpack(f"<{m}I", r.take(4 * m))
        if any(w >= P for w in words):
            raise InvalidUniversalProof("statement: public value is not a field element")
        tables.append(tuple(words))
    if r.pos != len(data):
        raise InvalidUniversalProof("statement: trailing bytes")
    return tuple(tables)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InvalidUniversalProof("universal proof: truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out
