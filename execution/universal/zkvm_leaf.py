"""A zkVM task as a Universal Proof v1 leaf: its lift spec and the statement its lift digests.

One lift program per zkVM proof shape (15 table heights under the chain's profile): the
guest-specific tables (ROM, RAM image, IO table: TABLE_ORDER's "program", "ram_image",
"io_table") are instance tables, so their AIR digests and fixed-column roots are program inputs
that the lift hashes into its digest. The outer check (this module, run by the v1 verifier per
task) rebuilds those tables from the task's program, the task's input and the statement's
output (`airs_for`) and recomputes their digests and roots: that is what ties the exposed
identity to the image id. It also applies the rules zkproof.verify applies outside the STARK
verifier (image id of the program, input digest, profile, cycle and table-height bounds),
because the lift program only runs the STARK verifier.
"""

from __future__ import annotations

from collections.abc import Callable

from execution.recursion.lift import LeafStatement, LiftSpec
from execution.stark.air.compiled import CompiledAir
from execution.stark.params import FriParams
from execution.stark.protocol import digest_elements, preprocessed_data
from execution.universal.proof_v0 import InvalidUniversalProof
from execution.universal.proof_v1 import LeafOf, V1Leaf
from execution.zkproof.errors import InvalidTaskProof
from execution.zkproof.prover import NUM_TABLES, airs_for, public_values
from execution.zkproof.statement import INPUT_DOMAIN, Statement, bytes_digest
from execution.zkproof.tracegen import MAX_LOG_CYCLES, TABLE_ORDER
from execution.zkvm.image import image_id
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program

__all__ = ["ZKVM_INSTANCE_TABLES", "zkvm_leaf", "zkvm_leaf_of", "zkvm_spec"]

ZKVM_INSTANCE_TABLES = tuple(TABLE_ORDER.index(n) for n in ("program", "ram_image", "io_table"))


def _fixed_log(air: CompiledAir) -> int | None:
    h = getattr(air.air, "log_height", None)
    return int(h) if h is not None else None


def check_shape(airs: list[CompiledAir], shape: tuple[int, ...], cycles: int) -> None:
    """The table-height rules of zkproof.verify (which the STARK verifier does not apply)."""
    if len(shape) != NUM_TABLES or len(airs) != NUM_TABLES:
        raise InvalidUniversalProof(f"a zkVM proof has {NUM_TABLES} tables")
    for air, log_n in zip(airs, shape, strict=True):
        want = _fixed_log(air)
        if want is not None and log_n != want:
            raise InvalidUniversalProof(f"{air.name}: a fixed table has the wrong height")
    cpu = shape[0]
    if not 1 <= cpu <= MAX_LOG_CYCLES or not 1 <= cycles <= 1 << cpu:
        raise InvalidUniversalProof("CPU table height or cycle count out of range")
    ix = TABLE_ORDER.index
    for name in ("lt", "mem", "bitwise", "shift", "div"):
        if not 1 <= shape[ix(name)] <= cpu:
            raise InvalidUniversalProof(f"{name} chip height out of range")
    if not 1 <= shape[ix("mul")] <= cpu + 1:
        raise InvalidUniversalProof("multiplication chip height out of range")
    for name in ("boundary", "io"):
        if not 1 <= shape[ix(name)] <= MAX_LOG_CYCLES + 2:
            raise InvalidUniversalProof(f"{name} table height out of range")


def zkvm_spec(airs: list[CompiledAir], shape: tuple[int, ...], params: FriParams) -> LiftSpec:
    return LiftSpec(tuple(airs), tuple(shape), params, ZKVM_INSTANCE_TABLES)


def zkvm_leaf(
    task_id: bytes,
    statement: Statement,
    program: Program,
    task_input: bytes,
    shape: tuple[int, ...],
    params: FriParams,
) -> tuple[LeafStatement, LiftSpec]:
    """The leaf a task's lift must digest and the lift spec its proof shape selects.

    `program` and `task_input` come from the state (the deployed program of the task's image
    id, the task's input); `statement` and `shape` from the block's v1 proof. Raises
    InvalidUniversalProof where zkproof.verify would reject.
    """
    if statement.profile != params.name:
        raise InvalidUniversalProof(
            f"proof profile {statement.profile!r}, required {params.name!r}"
        )
    if image_id(program).astype("<u4").tobytes() != statement.image_id:
        raise InvalidUniversalProof("the statement is for another image id")
    if program.layout != DEFAULT_LAYOUT:
        raise InvalidUniversalProof("the prover supports the default memory layout only")
    if bytes_digest(INPUT_DOMAIN, task_input) != statement.input_digest:
        raise InvalidUniversalProof("the statement is for another input")
    if statement.exit_code >= 1 << 32:
        raise InvalidUniversalProof("exit code out of range")
    airs = airs_for(program, task_input, statement.output).as_list()
    check_shape(airs, shape, statement.cycles)
    identity: list[int] = []
    for t in ZKVM_INSTANCE_TABLES:
        identity += [int(v) for v in digest_elements(airs[t].digest)]
        pd = preprocessed_data(airs[t], shape[t], params.log_blowup)
        if pd is not None:
            identity += [int(v) for v in pd.tree.root]
    publics = public_values(statement, program, len(task_input))
    leaf = LeafStatement(task_id, tuple(tuple(p) for p in publics), tuple(identity))
    return leaf, zkvm_spec(airs, shape, params)


def zkvm_leaf_of(
    lookup: Callable[[bytes], tuple[Program, bytes] | None], params: FriParams
) -> LeafOf:
    """The v1 verifier's `leaf_of` for zkVM tasks: `lookup(task_id)` gives the task's program
    and input from the state (None: no such task); the statement bytes are Statement's."""

    def leaf_of(i: int, leaf: V1Leaf) -> tuple[LeafStatement, LiftSpec]:
        found = lookup(leaf.task_id)
        if found is None:
            raise InvalidUniversalProof(f"leaf {i}: no such task")
        try:
            st = Statement.from_bytes(leaf.statement)
        except InvalidTaskProof as exc:
            raise InvalidUniversalProof(f"leaf {i}: {exc}") from exc
        program, task_input = found
        return zkvm_leaf(leaf.task_id, st, program, task_input, leaf.shape, params)

    return leaf_of
