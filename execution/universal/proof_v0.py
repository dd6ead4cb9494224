"""Universal Proof v0: a block's task proofs bound into one tree.

    UniversalProof = rlp([version = 0, block_height, block_hash, [[task_id, prover, task_proof]]])

Each leaf is a zkVM task proof (its statement inside) with the task it answers and the prover
to reward, who must be the prover the task proof binds (as the task id must be its task's). The tree binds them by Poseidon2 digests (the hash a recursive verifier recomputes
cheaply): leaf = H("ivcnet/up/leaf", task_id || prover || statement), inner =
H("ivcnet/up/node", left || right), and the root names the block: H("ivcnet/up/root",
block_height || block_hash || tree root); a block that brings the proof in names it in its
header by (block height, root). Verifying v0 verifies every leaf, so its cost grows
with the number of tasks; Universal Proof v1 replaces the tree by one recursion proof with the
same `verify` contract (task records in, accepted results out), leaving consensus untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from execution.state import Task, TaskStatus
from execution.types.errors import DecodingError, ExecutionError
from execution.types.rlp_fast import check_canonical

if TYPE_CHECKING:
    from execution.zkproof.statement import Statement

VERSION_V0 = 0
MAX_UNIVERSAL_PROOF_BYTES = 64 << 20
MAX_LEAVES = 4096

_LEAF = List([Binary.fixed_length(32), Binary.fixed_length(20), binary], strict=True)
_SEDES = List(
    [big_endian_int, big_endian_int, Binary.fixed_length(32), CountableList(_LEAF)], strict=True
)


class InvalidUniversalProof(ExecutionError):
    """A Universal Proof that must not be accepted; the message names the failed check and
    `leaf` the index of the leaf it failed in, when the failure is in one."""

    def __init__(self, message: str, leaf: int | None = None) -> None:
        self.leaf = leaf
        super().__init__(message)


@dataclass(frozen=True)
class ProofLeaf:
    task_id: bytes
    prover: bytes
    task_proof: bytes


@dataclass(frozen=True)
class TaskResult:
    """What an accepted proof establishes about one task."""

    task_id: bytes
    prover: bytes
    exit_code: int
    output: bytes
    cycles: int


def verify_leaf(
    leaf: ProofLeaf, task: Task | None, block_height: int, profile: str, where: str = "leaf"
) -> Statement:
    """Check one task proof against the state's record of the task it claims to answer and
    return its statement; the rules every leaf of a Universal Proof (and every proof a node
    pools, node/proof_pool.py) must pass.

    The task must exist, be pending and have been submitted in block `block_height`; the
    proof must verify against the task's image id and the chain's proof `profile`, for the
    digest of the task's own input, within its cycle budget, and bind the leaf's prover and
    task id. Raises InvalidUniversalProof
    (its message starts with `where`).
    """
    from execution.zkproof import InvalidTaskProof, verify
    from execution.zkproof.statement import INPUT_DOMAIN

    if task is None or task.task_id != leaf.task_id:
        raise InvalidUniversalProof(f"{where}: no such task")
    if task.submitted_height != block_height:
        raise InvalidUniversalProof(f"{where}: submitted in block {task.submitted_height}")
    if task.status is not TaskStatus.PENDING:
        raise InvalidUniversalProof(f"{where}: task is {task.status.name.lower()}")
    try:
        statement = verify(leaf.task_proof, task.image_id, profile=profile)
    except InvalidTaskProof as exc:
        raise InvalidUniversalProof(f"{where}: {exc}") from exc
    # The task proof binds the prover it was made for: a gossiped proof cannot be claimed by
    # another address.
    if statement.prover != leaf.prover:
        raise InvalidUniversalProof(
            f"{where}: proof was made for prover 0x{statement.prover.hex()}, "
            f"not 0x{leaf.prover.hex()}"
        )
    # ... and the task it was made for: a proof of one task cannot answer another task with the
    # same program and input (which would let a prover take that task without proving it).
    if statement.task_id != leaf.task_id:
        raise InvalidUniversalProof(
            f"{where}: proof was made for task 0x{statement.task_id.hex()[:16]}.."
        )
    if statement.input_digest != _digest(INPUT_DOMAIN, task.input):
        raise InvalidUniversalProof(f"{where}: proof is for another input")
    if statement.cycles > task.max_cycles:
        raise InvalidUniversalProof(
            f"{where}: {statement.cycles} cycles > budget {task.max_cycles}"
        )
    return statement


def _digest(domain: bytes, data: bytes) -> bytes:
    from execution.zkproof.statement import bytes_digest  # numba-backed: import on first use

    return bytes_digest(domain, data)


@dataclass(frozen=True)
class UniversalProof:
    block_height: int
    block_hash: bytes
    leaves: tuple[ProofLeaf, ...]
    version: int = VERSION_V0

    def encode(self) -> bytes:
        return rlp.encode(
            [
                self.version,
                self.block_height,
                self.block_hash,
                [[leaf.task_id, leaf.prover, leaf.task_proof] for leaf in self.leaves],
            ],
            sedes=_SEDES,
        )

    @classmethod
    def decode(cls, data: bytes) -> UniversalProof:
        if len(data) > MAX_UNIVERSAL_PROOF_BYTES:
            raise InvalidUniversalProof(f"{len(data)} bytes exceeds {MAX_UNIVERSAL_PROOF_BYTES}")
        try:
            check_canonical(data, "universal proof")
            version, height, block_hash, leaves = rlp.decode(data, sedes=_SEDES, strict=True)
        except (DecodingError, rlp.DecodingError, rlp.DeserializationError) as exc:
            raise InvalidUniversalProof(f"malformed universal proof: {exc}") from exc
        if version != VERSION_V0:
            raise InvalidUniversalProof(f"unknown universal proof version {version}")
        if not leaves or len(leaves) > MAX_LEAVES:
            raise InvalidUniversalProof(f"a universal proof holds 1 to {MAX_LEAVES} task proofs")
        return cls(height, block_hash, tuple(ProofLeaf(*leaf) for leaf in leaves), version)

    def root(self, statements: Sequence[bytes]) -> bytes:
        """The Poseidon2 root naming the block over the leaves' statements (in leaf order)."""
        level = [
            _digest(b"ivcnet/up/leaf", leaf.task_id + leaf.prover + statement)
            for leaf, statement in zip(self.leaves, statements, strict=True)
        ]
        while len(level) > 1:
            nxt = [
                _digest(b"ivcnet/up/node", level[i] + level[i + 1])
                for i in range(0, len(level) - 1, 2)
            ]
            if len(level) % 2:
                nxt.append(level[-1])
            level = nxt
        return _digest(
            b"ivcnet/up/root", self.block_height.to_bytes(8, "big") + self.block_hash + level[0]
        )

    def verify(self, tasks: Sequence[Task | None], profile: str) -> tuple[bytes, list[TaskResult]]:
        """Check every leaf against the task record it claims to answer; return the root that
        names the block (what the header's reference must equal) and the results.

        `tasks[i]` is the state's record of `leaves[i].task_id` (None if unknown). Each task
        must be pending, submitted in the named block, and answered once; each task proof
        must verify against the task's image id, the chain's proof profile, the digest of the
        task's own input and its cycle budget, and be made for the leaf's prover. Raises
        InvalidUniversalProof otherwise.
        """
        if len(tasks) != len(self.leaves):
            raise InvalidUniversalProof("one task record per leaf is needed")
        seen: set[bytes] = set()
        results: list[TaskResult] = []
        statements: list[bytes] = []
        for i, (leaf, task) in enumerate(zip(self.leaves, tasks, strict=True)):
            where = f"leaf {i} (task {leaf.task_id.hex()[:16]})"
            if leaf.task_id in seen:
                raise InvalidUniversalProof(f"{where}: task answered twice", leaf=i)
            seen.add(leaf.task_id)
            try:
                statement = verify_leaf(leaf, task, self.block_height, profile, where)
            except InvalidUniversalProof as exc:
                raise type(exc)(str(exc), leaf=i) from exc
            statements.append(statement.to_bytes())
            results.append(
                TaskResult(
                    leaf.task_id,
                    leaf.prover,
                    statement.exit_code,
                    statement.output,
                    statement.cycles,
                )
            )
        return self.root(statements), results
