"""Accepting a Universal Proof v1 into a block: the consensus rules around `UniversalProofV1`.

`check_v1` is what `accept_universal_proofs` runs on a version 1 chain, cheapest check first,
so that a crafted proof is refused before a validator records or keys any recursion program:
  1. the byte format (`UniversalProofV1.decode`);
  2. block binding: the proof names a block of this chain (height below the block that brings
     it, the chain's hash at that height); no task is answered twice; every leaf's task is
     pending and was submitted in that block;
  3. lift shapes: every leaf's shape is in the genesis allow-list
     (`universal_proof_lift_shapes`) and all leaves of one proof share one shape. The single
     shape bounds the programs a verifier may have to build for one proof: a tree over one lift
     program needs at most two join programs per level (full pairs, and the join with a
     promoted odd node), 1 + 2·12 programs for 4096 leaves, where mixed shapes could need a
     distinct join program for each of the n − 1 joins;
  4. per leaf, the statement: made for this task (the statement's task id), within the task's
     cycle budget, and `zkvm_leaf`'s outer checks against the task's program and input;
  5. the root (`UniversalProofV1.verify`): the allowed root program for those leaves and the
     STARK proof of its run, exposing the commitment to the statements.

Block binding is "any pending subset of the named block's tasks, in the order the proof
lists them", the rule v0 follows: a block's tasks are proven by different provers at different
times and some never are (they expire), so requiring all of a block's tasks would hold every
result of the block back until its slowest task; and tasks of several shapes need one proof per
shape (rule 3). A task is answered once because an accepted task is no longer pending.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from execution.recursion.lift import LeafStatement, LiftSpec
from execution.stark.params import FriParams
from execution.state import Program as ProgramRecord
from execution.state import State, Task, TaskStatus
from execution.types.hashing import keccak256
from execution.universal.proof_v0 import InvalidUniversalProof, TaskResult
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf
from execution.universal.zkvm_leaf import zkvm_leaf
from execution.zkproof.errors import InvalidTaskProof, ZkProofError
from execution.zkproof.statement import Statement
from execution.zkvm.elf_loader import load_elf
from execution.zkvm.errors import ZkvmError
from execution.zkvm.program import Program
from storage.lru_cache import LruCache

__all__ = ["ElfOf", "ProgramOf", "check_v1", "verify_v1_leaves"]

# elf_of(record) -> the ELF bytes of a deployed program (from its deploy transaction), or None
ElfOf = Callable[[ProgramRecord], bytes | None]

# program_of(index, leaf, task) -> the task's deployed program; raises InvalidUniversalProof
ProgramOf = Callable[[int, V1Leaf, Task], Program]

_PROGRAMS: LruCache[bytes, Program] = LruCache(16)


def _where(i: int, leaf: V1Leaf) -> str:
    return f"leaf {i} (task {leaf.task_id.hex()[:16]})"


def _program(record: ProgramRecord, elf_of: ElfOf, where: str) -> Program:
    hit = _PROGRAMS.get(record.elf_hash)
    if hit is not None:
        return hit
    elf = elf_of(record)
    if elf is None or keccak256(elf) != record.elf_hash:
        raise InvalidUniversalProof(f"{where}: the task's program is not available")
    try:
        program = load_elf(elf)
    except ZkvmError as exc:  # a deployed ELF loaded once already; this keeps a bug typed
        raise InvalidUniversalProof(f"{where}: the task's program does not load: {exc}") from exc
    _PROGRAMS.put(record.elf_hash, program)
    return program


def check_v1(
    state: State,
    raw: bytes,
    height: int,
    lift_shapes: Collection[tuple[int, ...]],
    fri: FriParams,
    block_hash_at: Callable[[int], bytes | None],
    elf_of: ElfOf,
) -> tuple[UniversalProofV1, bytes, list[tuple[Task, TaskResult]]]:
    """Check a v1 proof brought by the block at `height` (rules in the module docstring);
    return it, the root its header reference must name, and each task with its result.

    `fri` are the chain's proof parameters (task proofs and recursion proofs alike). Raises
    InvalidUniversalProof; a message about one task starts with "leaf <i> (task ..)"."""
    up = UniversalProofV1.decode(raw)
    # Rule: the proof names an earlier block of this chain.
    if not 1 <= up.block_height < height:
        raise InvalidUniversalProof(f"names block {up.block_height}")
    if block_hash_at(up.block_height) != up.block_hash:
        raise InvalidUniversalProof("names a block hash that is not the chain's")
    # Rule: each task once, pending, and submitted in the named block.
    if len({leaf.task_id for leaf in up.leaves}) != len(up.leaves):
        raise InvalidUniversalProof("a task is answered twice")
    tasks: list[Task] = []
    for i, leaf in enumerate(up.leaves):
        task = state.task(leaf.task_id)
        if task is None:
            raise InvalidUniversalProof(f"{_where(i, leaf)}: no such task")
        if task.submitted_height != up.block_height:
            raise InvalidUniversalProof(
                f"{_where(i, leaf)}: submitted in block {task.submitted_height}"
            )
        if task.status is not TaskStatus.PENDING:
            raise InvalidUniversalProof(f"{_where(i, leaf)}: task is {task.status.name.lower()}")
        tasks.append(task)

    def program_of(i: int, leaf: V1Leaf, task: Task) -> Program:
        record = state.program(task.image_id)
        if record is None:
            raise InvalidUniversalProof(f"{_where(i, leaf)}: the task's program is not deployed")
        return _program(record, elf_of, _where(i, leaf))

    root, results = verify_v1_leaves(up, tasks, lift_shapes, fri, program_of)
    return up, root, results


def verify_v1_leaves(
    up: UniversalProofV1,
    tasks: Sequence[Task],
    lift_shapes: Collection[tuple[int, ...]],
    fri: FriParams,
    program_of: ProgramOf,
) -> tuple[bytes, list[tuple[Task, TaskResult]]]:
    """Rules 3 to 5 for a proof whose block binding holds: `tasks[i]` is the (pending) record
    of `up.leaves[i].task_id`. Returns the block-naming root and each task's result. Shared by
    consensus (`check_v1`) and `ivcnet verify-block`, which reads the records over JSON-RPC."""
    # Rule: one allowed lift shape per proof, checked before any program is built.
    allowed = set(lift_shapes)
    for i, leaf in enumerate(up.leaves):
        if leaf.shape not in allowed:
            raise InvalidUniversalProof(
                f"{_where(i, leaf)}: lift shape {list(leaf.shape)} is not allowed"
            )
    if len({leaf.shape for leaf in up.leaves}) != 1:
        raise InvalidUniversalProof("the leaves of one proof have one lift shape")

    statements: list[Statement] = []

    def leaf_of(i: int, leaf: V1Leaf) -> tuple[LeafStatement, LiftSpec]:
        where = _where(i, leaf)
        task = tasks[i]
        if task.task_id != leaf.task_id:
            raise InvalidUniversalProof(f"{where}: the record of another task")
        try:
            st = Statement.from_bytes(leaf.statement)
        except InvalidTaskProof as exc:
            raise InvalidUniversalProof(f"{where}: {exc}") from exc
        # The lift digests the leaf's task id and the statement's (a CPU public value) apart;
        # a proof made for another task with the same program and input must not answer this
        # one (the v0 rule).
        if st.task_id != leaf.task_id:
            raise InvalidUniversalProof(f"{where}: statement was made for another task")
        if st.cycles > task.max_cycles:
            raise InvalidUniversalProof(f"{where}: {st.cycles} cycles > budget {task.max_cycles}")
        program = program_of(i, leaf, task)
        try:
            out = zkvm_leaf(leaf.task_id, st, program, task.input, leaf.shape, fri)
        except (InvalidUniversalProof, ZkProofError, ZkvmError, ValueError) as exc:
            raise InvalidUniversalProof(f"{where}: {exc}") from exc
        statements.append(st)
        return out

    if len(tasks) != len(up.leaves):
        raise InvalidUniversalProof("one task record per leaf")
    root, _ = up.verify(leaf_of, fri)
    results = [
        (task, TaskResult(task.task_id, st.prover, st.exit_code, st.output, st.cycles))
        for task, st in zip(tasks, statements, strict=True)
    ]
    return root, results
