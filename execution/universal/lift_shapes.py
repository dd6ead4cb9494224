"""The genesis allow-list of lift shapes, applied where a task proof enters a node.

On a version 1 chain a task proof answers its task only through a root whose leaves all have a
shape in `universal_proof_lift_shapes` (execution/universal/accept_v1.py, rule 3). A task proof
of any other shape is valid (it verifies, its prover is not slashable) but useless: pooled first
for its task, it would keep the pool's one slot and the exchange from fetching a usable proof
until the task expired. So the pool, the exchange and the prover service refuse it on entry with
`LiftShapeNotAllowed`, cheapest check first (a parse, before any verification), and the exchange
keeps looking for another proof of that task.

A shape is the task proof's table log heights (`TaskProof.stark.tables[i].log_n`), in table
order; on a version 0 chain the allow-list is empty and nothing is checked.
"""

from __future__ import annotations

from collections.abc import Collection

from execution.universal.proof_v0 import InvalidUniversalProof

__all__ = ["LiftShapeNotAllowed", "check_lift_shape", "run_shape", "task_proof_shape"]

Shape = tuple[int, ...]


class LiftShapeNotAllowed(InvalidUniversalProof):
    """A valid task proof of a shape the chain's v1 roots cannot take (not evidence)."""


def task_proof_shape(task_proof: bytes) -> Shape | None:
    """A task proof's table log heights (None if it does not parse)."""
    from execution.zkproof.errors import ZkProofError
    from execution.zkproof.task import TaskProof

    try:
        return tuple(t.log_n for t in TaskProof.from_bytes(task_proof).stark.tables)
    except (ZkProofError, ValueError):
        return None


def check_lift_shape(task_proof: bytes, allowed: Collection[Shape], where: str) -> None:
    """Raise LiftShapeNotAllowed unless `allowed` is empty (a v0 chain) or holds the proof's
    shape. A proof that does not parse passes: the verification that follows refuses it as an
    invalid proof (evidence), which this check must not turn into a mere refusal."""
    if not allowed:
        return
    shape = task_proof_shape(task_proof)
    if shape is not None and shape not in allowed:
        raise LiftShapeNotAllowed(
            f"{where}: lift shape {list(shape)} is not in the chain's universal_proof_lift_shapes"
        )


def run_shape(elf: bytes, task_input: bytes) -> Shape:
    """The shape of an honest task proof of `elf` on `task_input`, from an execution and the
    trace tables alone (no STARK proof: what a genesis allow-list is made from). Raises
    ZkvmError / ZkProofError where proving would."""
    import math

    from execution.zkproof.prover import traces_for_run
    from execution.zkproof.tracegen import TABLE_ORDER
    from execution.zkvm import load_elf

    _, _, traces, airs = traces_for_run(load_elf(elf), task_input)
    # The IO table's height is the statement's, fitted by the prover (prove_traces).
    heights = [
        airs.io_table_air.log_height if name == "io_table" else int(math.log2(len(table)))
        for name, table in zip(TABLE_ORDER, traces.as_list(), strict=True)
    ]
    return tuple(heights)
