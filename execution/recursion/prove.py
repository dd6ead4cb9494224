"""Prove and verify one run of a verifier program with the multi-table STARK prover.

A program's verifying key (`program_key`) is the recursion AIRs at a shape (table heights and
number of outputs) with the program's preprocessed columns. The constraints are the same for
every program of a shape; what differs is the preprocessed commitment, which the verifier
recomputes from the program and which binds it. Each table's AIR digest is additionally derived
from the program's control id: the STARK layer caches fixed columns by AIR digest, so two
programs must never share one (a verifier that had seen program B would otherwise check a proof
for program A against B's columns).

The statement of a run is (control id, outputs): `verify` accepts a proof only for the program
whose key it is given, when that key's control id is the one the caller requires, and with the
outputs as the output table's public values (4 per cell).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import cache

import numpy as np
import numpy.typing as npt

from execution.recursion.air import (
    ArithAir,
    BitsAir,
    MemoryInitAir,
    OutputAir,
    Poseidon2TableAir,
    ProgramTableAir,
    SelectAir,
)
from execution.recursion.program import Program
from execution.recursion.tracegen import Layout, Shape, generate, layout
from execution.stark.air.compiled import CompiledAir, compile_air
from execution.stark.errors import InvalidProof
from execution.stark.field import P
from execution.stark.params import FriParams
from execution.stark.proof import Proof
from execution.stark.prover import PhaseTimer
from execution.stark.prover import prove as stark_prove
from execution.stark.verifier import verify as stark_verify

__all__ = [
    "RecursionKey",
    "RecursionProof",
    "key_of_layout",
    "program_key",
    "prove",
    "prove_traces",
    "verify",
]

U32 = npt.NDArray[np.uint32]
_DIGEST_TAG = b"ivcnet-recursion-table-v1"
_TABLE_AIRS: dict[str, type[ProgramTableAir]] = {
    "memory_init": MemoryInitAir,
    "arith": ArithAir,
    "poseidon2": Poseidon2TableAir,
    "bits": BitsAir,
    "select": SelectAir,
}


@dataclass(frozen=True)
class RecursionKey:
    """What proves and verifies runs of one program at one shape."""

    control_id: U32  # (8,) Program.control_id()
    layout: Layout
    airs: tuple[CompiledAir, ...]

    @property
    def shape(self) -> Shape:
        return self.layout.shape


@dataclass(frozen=True)
class RecursionProof:
    """A STARK proof of one run and the cells the program exposed, (num_outputs, 4)."""

    proof: Proof
    outputs: U32


def _instance(table: str, num_outputs: int, prep: U32 | None) -> ProgramTableAir:
    if table == "output":
        return OutputAir(num_outputs, prep)
    return _TABLE_AIRS[table](prep)


@cache
def _base_air(table: str, num_outputs: int) -> CompiledAir:
    """The program-independent constraint description of one table."""
    return compile_air(_instance(table, num_outputs, None))


def bind_air(base: CompiledAir, air: ProgramTableAir, control_id: U32) -> CompiledAir:
    """`base` carrying `air`'s preprocessed columns, its digest derived from the control id."""
    ident = np.asarray(control_id, dtype="<u4").tobytes()
    digest = hashlib.sha256(_DIGEST_TAG + base.digest + ident).digest()
    return replace(base, air=air, digest=digest)


def program_key(program: Program, shape: Shape | None = None) -> RecursionKey:
    """Lay `program` out (at `shape`, or the smallest heights) and build its verifying key."""
    return key_of_layout(layout(program, shape))


def key_of_layout(lay: Layout, control_id: U32 | None = None) -> RecursionKey:
    """The key of a laid-out program (the disk cache, key_store.py, rebuilds keys with it,
    passing the control id it has checked against the program's encoding)."""
    cid = lay.program.control_id() if control_id is None else control_id
    k = lay.shape.num_outputs
    airs = tuple(
        bind_air(_base_air(t, k), _instance(t, k, prep), cid)
        for t, prep in zip(lay.shape.tables(), lay.preps, strict=True)
    )
    return RecursionKey(cid, lay, airs)


def prove_traces(
    key: RecursionKey,
    traces: list[U32],
    publics: list[list[int]],
    params: FriParams,
    *,
    check: bool = True,
    timer: PhaseTimer | None = None,
) -> Proof:
    """Prove given traces against the key's AIRs (the soundness tests feed forged ones)."""
    return stark_prove(list(key.airs), traces, publics, params, check=check, timer=timer)


def prove(
    program: Program,
    inputs: npt.ArrayLike,
    params: FriParams,
    *,
    key: RecursionKey | None = None,
    shape: Shape | None = None,
    timer: PhaseTimer | None = None,
) -> RecursionProof:
    """Run `program` on its input words and prove the run (ExecutionError if it cannot run)."""
    if key is None:
        key = program_key(program, shape)
    elif key.layout.program is not program and not np.array_equal(
        key.control_id, program.control_id()
    ):
        raise ValueError("key was built for another program")
    traces, publics = generate(key.layout, inputs)
    proof = prove_traces(key, traces, publics, params, timer=timer)
    k = key.shape.num_outputs
    outputs = np.array(publics[-1] if k else [], dtype=np.uint32).reshape(k, 4)
    return RecursionProof(proof, outputs)


def verify(
    proof: Proof,
    key: RecursionKey,
    control_id: npt.ArrayLike,
    outputs: npt.ArrayLike,
    params: FriParams,
) -> None:
    """Accept a proof that the program with `control_id` ran and exposed `outputs`, else raise
    InvalidProof. `key` is the verifier's own key of that program (built from the program)."""
    cid = np.asarray(control_id)
    if cid.shape != (8,) or not np.array_equal(cid.astype(np.int64), key.control_id):
        raise InvalidProof("the key is not the required program's (control id differs)")
    k = key.shape.num_outputs
    out = np.asarray(outputs)
    if out.shape != (k, 4) or (out.size and not np.issubdtype(out.dtype, np.integer)):
        raise InvalidProof(f"expected {k} output cells of 4 field elements")
    flat = [int(v) for v in out.reshape(-1)]
    if any(not 0 <= v < P for v in flat):
        raise InvalidProof("outputs must be canonical field elements")
    publics: list[list[int]] = [[] for _ in key.airs]
    if k:
        publics[-1] = flat
    max_log_n = max(key.shape.all_log_heights())
    stark_verify(list(key.airs), publics, proof, params, max_log_n=max_log_n)
