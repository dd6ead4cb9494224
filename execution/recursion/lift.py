"""`lift`: a recursion proof that verifies one task proof and exposes its statement digest.

The lift program of a `LiftSpec` (the inner proof's AIRs, table heights, FRI parameters and
instance tables: one program per proof shape, not per guest) is

    INPUT task id (16 limbs of 16 bits), then record_verifier(inner proof)
    OUTPUT lift_digest = hash_elements(LIFT_TAG ‖ task id limbs ‖ public values of every table
                                       ‖ each instance table's AIR digest and fixed root)

What the lift binds: the inner STARK proof verifies against exactly those public values (for a
zkVM task proof: entry point, exit code, cycles, image id, input digest, output digest, prover;
the profile is the program's FRI parameters, a constant of the program) and those instance
tables (the zkVM's ROM, RAM-image and IO tables, whose fixed columns are the guest program and
the run's input and output bytes). What it leaves to the outer check (the Universal Proof v1
verifier, which recomputes every lift digest from the block's statements): that the task id
names a task of the block, that the image id is the task's, and that the instance tables'
digests and roots are the ones that image and the task's input and the statement's output
give (`zkvm_leaf`). The task id is carried, not checked, by the program: binding it in the
digest is what stops one proof from answering two tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.recursion import key_store
from execution.recursion.prove import RecursionKey, RecursionProof, program_key, prove
from execution.recursion.record import (
    ProgramInputError,
    Recorder,
    Recording,
    hash_cells,
    proof_words,
    record_verifier,
    template_proof,
)
from execution.stark.air.compiled import CompiledAir
from execution.stark.params import FriParams
from execution.stark.poseidon2 import hash_elements
from execution.stark.proof import Proof
from storage.lru_cache import LruCache

__all__ = [
    "LIFT_TAG",
    "TASK_ID_LIMBS",
    "LeafStatement",
    "LiftSpec",
    "Lifted",
    "lift",
    "lift_digest",
    "lift_key",
    "lift_recording",
]

U32 = npt.NDArray[np.uint32]

# "lift" as four 8-bit words, then a version: keeps a lift digest apart from a join's.
LIFT_TAG = (0x6C, 0x69, 0x66, 0x74, 1)
TASK_ID_BYTES = 32
TASK_ID_LIMBS = TASK_ID_BYTES // 2


@dataclass(frozen=True)
class LiftSpec:
    """The shape of the task proofs one lift program verifies."""

    airs: tuple[CompiledAir, ...]
    log_ns: tuple[int, ...]
    params: FriParams
    instance_tables: tuple[int, ...] = ()

    def key(self) -> tuple[object, ...]:
        """What the lift program depends on (instance tables: only their constraint system)."""
        from execution.recursion.record import air_structure

        airs = tuple(
            air_structure(a) if t in self.instance_tables else a.digest
            for t, a in enumerate(self.airs)
        )
        return (airs, self.log_ns, self.params.to_bytes(), self.instance_tables)


@dataclass(frozen=True)
class LeafStatement:
    """One task's statement as the lift digests it: what the Universal Proof v1 verifier
    recomputes from the block (see `zkvm_leaf` for a zkVM task)."""

    task_id: bytes
    publics: tuple[tuple[int, ...], ...]
    identity: tuple[int, ...] = ()  # instance tables' AIR digests and fixed roots


@dataclass(frozen=True)
class Lifted:
    """A lift proof and the key of its program."""

    proof: RecursionProof
    key: RecursionKey


def task_id_limbs(task_id: bytes) -> list[int]:
    if len(task_id) != TASK_ID_BYTES:
        raise ProgramInputError(f"a task id is {TASK_ID_BYTES} bytes")
    return [int(v) for v in np.frombuffer(task_id, dtype="<u2")]


def lift_digest(leaf: LeafStatement) -> U32:
    """The digest a lift proof of `leaf` exposes (8 field elements)."""
    words = [*LIFT_TAG, *task_id_limbs(leaf.task_id)]
    words += [int(v) for pub in leaf.publics for v in pub]
    words += [int(v) for v in leaf.identity]
    return hash_elements(np.array(words, dtype=np.uint32))


# One lift program per allowed task-proof shape (a genesis list of a few shapes); each zkVM lift
# program and key is hundreds of MB, so only a few are kept.
LIFT_CACHE_SIZE = 4
_RECORDINGS: LruCache[tuple[object, ...], Recording] = LruCache(LIFT_CACHE_SIZE)
_KEYS: LruCache[tuple[object, ...], RecursionKey] = LruCache(LIFT_CACHE_SIZE)


def lift_recording(spec: LiftSpec) -> Recording:
    """The lift program of `spec` (recorded once per process and spec)."""
    k = spec.key()
    hit = _RECORDINGS.get(k)
    if hit is None:
        airs = list(spec.airs)
        rec = Recorder()
        rec.note = "task id"
        task = [rec.input() for _ in range(TASK_ID_LIMBS)]
        v = record_verifier(
            rec,
            airs,
            template_proof(airs, list(spec.log_ns), spec.params),
            spec.params,
            instance_tables=spec.instance_tables,
        )
        tag = [rec.base(t) for t in LIFT_TAG]
        digest = hash_cells(rec, tag + task + [c for pub in v.publics for c in pub] + v.instance)
        rec.note = "statement digest"
        for c in digest:
            rec.output(c)
        hit = Recording(rec.program(), (v.slot,))
        _RECORDINGS.put(k, hit)
    return hit


def lift_key(spec: LiftSpec) -> RecursionKey:
    """The verifying key of `spec`'s lift program (built once per process and spec)."""
    return key_store.key_for(
        "lift", spec.key(), _KEYS, lambda: program_key(lift_recording(spec).program)
    )


def lift_inputs(
    spec: LiftSpec, task_id: bytes, proof: Proof, publics: list[list[int]], airs: list[CompiledAir]
) -> list[int]:
    """The lift program's input words for one task proof (ProgramInputError on another shape)."""
    rec = lift_recording(spec)
    words = task_id_limbs(task_id) + proof_words(
        rec.slots[0], proof, publics, airs if spec.instance_tables else None
    )
    if len(words) != rec.program.num_inputs:
        raise ProgramInputError("input length does not match the lift program")
    return words


def lift(
    spec: LiftSpec,
    task_id: bytes,
    proof: Proof,
    publics: list[list[int]],
    airs: list[CompiledAir] | None = None,
    recursion_params: FriParams | None = None,
) -> Lifted:
    """Prove that `proof` verifies for `publics`; the proof exposes the lift digest.

    Raises ProgramInputError (another shape) or tracegen.ExecutionError (the proof does not
    verify: there is no run to prove).
    """
    words = lift_inputs(spec, task_id, proof, publics, list(airs or spec.airs))
    key = lift_key(spec)
    rp = prove(key.layout.program, words, recursion_params or spec.params, key=key)
    return Lifted(rp, key)
