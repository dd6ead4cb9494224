"""Recording a verifier program: `verify_with` run over symbolic cells, and the proof as input.

`record_program(airs, proof, params)` runs the ordinary STARK verifier (execution.stark.verifier.
verify_with) with the symbolic backend of record_backend.py on a proof whose every field element
has been replaced by an INPUT cell. The proof is only a template for its shape: the backend never
reads a value, so any proof of the same shape (AIRs, heights, parameters) gives the same program.
`program_inputs(recording, proof, publics)` turns a concrete proof into the program's inputs.

Programs that verify several proofs (join) are composed from `record_verifier` (one proof's
inputs and checks, appended to a Recorder), `hash_cells` (a recorded Poseidon2 digest) and
`Recorder.output`; `program_inputs_for` lays out their inputs proof after proof.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from execution.recursion.program import Instruction, Op, Program
from execution.stark.air.compiled import CompiledAir
from execution.stark.field import P
from execution.stark.fri import FriProof, final_log_height, fold_schedule
from execution.stark.params import FriParams
from execution.stark.poseidon2 import SPONGE_DOMAIN_HASH
from execution.stark.proof import ARRAY_FIELDS, Proof, TableProof
from execution.stark.protocol import QUOTIENT_ROWS_PER_LEAF, digest_elements, preprocessed_data
from execution.stark.verifier import verify_with

__all__ = [
    "Cell",
    "ProgramInputError",
    "ProofSlot",
    "Recorder",
    "Recording",
    "VerifiedCells",
    "air_structure",
    "hash_cells",
    "program_inputs",
    "program_inputs_for",
    "proof_shape",
    "proof_words",
    "record_program",
    "record_verifier",
    "template_proof",
]

U32 = npt.NDArray[np.uint32]

Limbs = tuple[int, int, int, int]


class ProgramInputError(ValueError):
    """A proof that cannot be a program's input (another shape, a non-field value)."""


class Cell:
    """A symbolic BabyBear^4 value: the address of a program cell.

    Deliberately not an int: verifier code that tried to compute on a proof value directly
    (instead of through the backend) fails loudly while recording instead of baking a
    concrete value into the program.
    """

    __slots__ = ("addr",)

    def __init__(self, addr: int) -> None:
        self.addr = addr

    def __repr__(self) -> str:
        return f"Cell({self.addr})"


def _mul_limbs(a: Limbs, b: Limbs) -> Limbs:
    a0, a1, a2, a3 = a
    b0, b1, b2, b3 = b
    return (
        (a0 * b0 + 11 * (a1 * b3 + a2 * b2 + a3 * b1)) % P,
        (a0 * b1 + a1 * b0 + 11 * (a2 * b3 + a3 * b2)) % P,
        (a0 * b2 + a1 * b1 + a2 * b0 + 11 * a3 * b3) % P,
        (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P,
    )


class Recorder:
    """Appends instructions; cells are numbered in the order they are written.

    Constants are emitted once each, and arithmetic on constants is folded (x*1, x+0 and
    const op const emit nothing): the program is smaller and still the same for every proof,
    since what is constant depends only on the shape.
    """

    def __init__(self) -> None:
        self.instructions: list[Instruction] = []
        self.num_cells = 0
        self.num_inputs = 0
        self.note = ""
        self._const_cells: dict[Limbs, Cell] = {}
        self._const_of: dict[int, Limbs] = {}

    def _emit(
        self, op: Op, n_out: int, ins: tuple[Cell, ...], imm: tuple[int, ...] = ()
    ) -> list[Cell]:
        outs = tuple(range(self.num_cells, self.num_cells + n_out))
        self.num_cells += n_out
        self.instructions.append(Instruction(op, outs, tuple(c.addr for c in ins), imm, self.note))
        return [Cell(a) for a in outs]

    def const(self, limbs: Any) -> Cell:
        key: Limbs = tuple(int(v) % P for v in limbs)  # type: ignore[assignment]
        if len(key) != 4:
            raise ValueError("a constant has 4 limbs")
        hit = self._const_cells.get(key)
        if hit is None:
            hit = self._emit(Op.CONST, 1, (), key)[0]
            self._const_cells[key] = hit
            self._const_of[hit.addr] = key
        return hit

    def base(self, v: int) -> Cell:
        return self.const((v, 0, 0, 0))

    def const_value(self, c: Cell) -> Limbs | None:
        return self._const_of.get(c.addr)

    def input(self) -> Cell:
        k = self.num_inputs
        self.num_inputs += 1
        return self._emit(Op.INPUT, 1, (), (k,))[0]

    def add(self, a: Cell, b: Cell) -> Cell:
        ka, kb = self.const_value(a), self.const_value(b)
        if ka is not None and kb is not None:
            return self.const(tuple((x + y) % P for x, y in zip(ka, kb, strict=True)))
        if ka == (0, 0, 0, 0):
            return b
        if kb == (0, 0, 0, 0):
            return a
        return self._emit(Op.ADD, 1, (a, b))[0]

    def sub(self, a: Cell, b: Cell) -> Cell:
        ka, kb = self.const_value(a), self.const_value(b)
        if ka is not None and kb is not None:
            return self.const(tuple((x - y) % P for x, y in zip(ka, kb, strict=True)))
        if kb == (0, 0, 0, 0):
            return a
        return self._emit(Op.SUB, 1, (a, b))[0]

    def mul(self, a: Cell, b: Cell) -> Cell:
        ka, kb = self.const_value(a), self.const_value(b)
        if ka is not None and kb is not None:
            return self.const(_mul_limbs(ka, kb))
        if ka == (1, 0, 0, 0):
            return b
        if kb == (1, 0, 0, 0):
            return a
        if ka == (0, 0, 0, 0) or kb == (0, 0, 0, 0):
            return self.base(0)
        return self._emit(Op.MUL, 1, (a, b))[0]

    def inv(self, a: Cell) -> Cell:
        return self._emit(Op.INV, 1, (a,))[0]

    def assert_eq(self, a: Cell, b: Cell) -> None:
        self._emit(Op.ASSERT_EQ, 0, (a, b))

    def poseidon2(self, state: list[Cell]) -> list[Cell]:
        return self._emit(Op.POSEIDON2, 16, tuple(state))

    def bits(self, a: Cell, n: int) -> list[Cell]:
        return self._emit(Op.BITS, n, (a,), (n,))

    def select(self, c: Cell | int, a: Cell, b: Cell) -> Cell:
        """a if c else b; a constant c (a known bit of an index) emits nothing."""
        if isinstance(c, int):
            return a if c else b
        if a.addr == b.addr:
            return a
        return self._emit(Op.SELECT, 1, (c, a, b))[0]

    def output(self, a: Cell) -> None:
        self._emit(Op.OUTPUT, 0, (a,))

    def program(self) -> Program:
        prog = Program(self.num_inputs, self.num_cells, list(self.instructions))
        prog.check()
        return prog


def _shape_of(a: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in np.shape(a))


def proof_shape(proof: Proof, instance_tables: tuple[int, ...] = ()) -> tuple[object, ...]:
    """Everything about a proof that the program depends on (and nothing it reads as input).

    The AIR digest of an instance table is an input, so it is not part of the shape.
    """
    tables = tuple(
        (
            None if t in instance_tables else tp.air_digest,
            tp.log_n,
            tuple(_shape_of(getattr(tp, f)) for f in ARRAY_FIELDS),
        )
        for t, tp in enumerate(proof.tables)
    )
    f = proof.fri
    fri = (
        len(f.commit_roots),
        _shape_of(f.final_poly),
        tuple(
            (_shape_of(r), _shape_of(p)) for r, p in zip(f.query_rows, f.query_paths, strict=True)
        ),
    )
    return (proof.params.to_bytes(), tables, fri)


@dataclass(frozen=True)
class ProofSlot:
    """One proof a program verifies: its shape and its tables' numbers of public values.

    instance_tables: tables whose AIR digest and preprocessed root are inputs (so that one
    program verifies every instance of an AIR family: the zkVM's ROM, RAM-image and IO tables
    differ per guest program only in name and fixed columns); `structures` fingerprints their
    constraint systems, which the program does fix.
    """

    shape: tuple[object, ...]
    num_publics: tuple[int, ...]
    instance_tables: tuple[int, ...] = ()
    structures: tuple[bytes, ...] = ()


def air_structure(air: CompiledAir) -> bytes:
    """A fingerprint of everything in an AIR but its name and fixed-column content."""
    desc = (
        air.width,
        air.preprocessed_width,
        air.num_public_values,
        air.nodes,
        air.constraints,
        air.interactions,
        air.logup_groups,
        air.log_quotient_degree,
    )
    return hashlib.sha256(repr(desc).encode()).digest()


@dataclass
class Recording:
    """A recorded program and, in input order, the proofs it verifies."""

    program: Program
    slots: tuple[ProofSlot, ...]

    @property
    def shape(self) -> tuple[object, ...]:
        return self.slots[0].shape

    @property
    def num_publics(self) -> tuple[int, ...]:
        return self.slots[0].num_publics


@dataclass
class VerifiedCells:
    """What record_verifier leaves for the rest of a program: the verified statement's cells
    (public values per table; per instance table its 8 digest cells, then its 8 root cells
    if it has fixed columns)."""

    publics: list[list[Cell]]
    slot: ProofSlot
    instance: list[Cell]


def _input_array(rec: Recorder, shape: tuple[int, ...]) -> npt.NDArray[np.object_]:
    out = np.empty(shape, dtype=object)
    flat = out.reshape(-1)
    for i in range(flat.size):
        flat[i] = rec.input()
    return out


def template_proof(airs: list[CompiledAir], log_ns: list[int], params: FriParams) -> Proof:
    """An all-zero proof of the shape the verifier expects for `airs` at heights 2^log_ns.

    Recording needs only a shape; this lets a program be recorded before any proof exists.
    """
    lb, q = params.log_blowup, params.num_queries
    tables = []
    for air, log_n in zip(airs, log_ns, strict=True):
        k = 1 if air.num_interactions else 0
        widths = {
            "prep": air.preprocessed_width,
            "main": air.width,
            "perm": 4 * air.perm_width,
            "quotient": 4 * air.quotient_degree,
        }
        arrays: dict[str, U32] = {
            "main_root": _zeros(1, 8),
            "perm_root": _zeros(k, 8),
            "quotient_root": _zeros(1, 8),
            "final_sum": _zeros(k, 4),
        }
        for name, width in widths.items():
            if name != "quotient":
                arrays[f"{name}_local"] = _zeros(width, 4)
                arrays[f"{name}_next"] = _zeros(width, 4)
            per_leaf = QUOTIENT_ROWS_PER_LEAF if name == "quotient" else 1
            if width:
                arrays[f"{name}_rows"] = _zeros(q, width * per_leaf)
                arrays[f"{name}_paths"] = _zeros(q, log_n + lb - (per_leaf.bit_length() - 1), 8)
            else:
                arrays[f"{name}_rows"] = _zeros(0, 0)
                arrays[f"{name}_paths"] = _zeros(0, 0, 8)
        arrays["quotient"] = _zeros(widths["quotient"], 4)
        tables.append(TableProof(air_digest=air.digest, log_n=log_n, **arrays))
    heights = {n + lb for n in log_ns}
    h = max(heights)
    final_h = final_log_height(h, heights, params)
    rows, paths = [], []
    arities = fold_schedule(heights, params)
    for a in arities:
        rows.append(_zeros(q, (1 << a) * 4))
        paths.append(_zeros(q, h - a, 8))
        h -= a
    fri = FriProof(
        commit_roots=[_zeros(8) for _ in arities],
        final_poly=_zeros(1 << (final_h - lb) if final_h > lb else 1, 4),
        pow_nonce=0,
        query_rows=rows,
        query_paths=paths,
    )
    return Proof(params=params, tables=tables, fri=fri)


def _zeros(*shape: int) -> U32:
    return np.zeros(shape, dtype=np.uint32)


def record_verifier(
    rec: Recorder,
    airs: list[CompiledAir],
    proof: Proof,
    params: FriParams,
    *,
    max_log_n: int = 24,
    instance_tables: tuple[int, ...] = (),
) -> VerifiedCells:
    """Append to `rec` the verification of one proof of `proof`'s shape (its input words are
    the next INPUT cells: public values, then each instance table's AIR digest and
    preprocessed root, then the proof's words). The caller decides what the program exposes;
    this is the building block of programs that verify several proofs.

    Raises InvalidProof if the template's shape is one the verifier rejects outright.
    """
    from execution.recursion.record_backend import SymbolicBackend

    rec.note = "inputs"
    publics = [[rec.input() for _ in range(a.num_public_values)] for a in airs]
    instance: dict[int, tuple[npt.NDArray[np.object_], npt.NDArray[np.object_] | None]] = {}
    exposed: list[Cell] = []
    for t in instance_tables:
        digest = _input_array(rec, (8,))
        root = _input_array(rec, (8,)) if airs[t].preprocessed_width else None
        instance[t] = (digest, root)
        exposed += list(digest) + ([] if root is None else list(root))
    tables = []
    for tp in proof.tables:
        arrays = {f: _input_array(rec, _shape_of(getattr(tp, f))) for f in ARRAY_FIELDS}
        tables.append(TableProof(air_digest=tp.air_digest, log_n=tp.log_n, **arrays))  # type: ignore[arg-type]
    f = proof.fri
    roots = _input_array(rec, (len(f.commit_roots), 8))
    final_poly = _input_array(rec, _shape_of(f.final_poly))
    nonce = rec.input()
    rows, paths = [], []
    for r, p in zip(f.query_rows, f.query_paths, strict=True):
        rows.append(_input_array(rec, _shape_of(r)))
        paths.append(_input_array(rec, _shape_of(p)))
    sym_fri = FriProof(
        commit_roots=list(roots),
        final_poly=final_poly,  # type: ignore[arg-type]
        pow_nonce=nonce,  # type: ignore[arg-type]
        query_rows=rows,  # type: ignore[arg-type]
        query_paths=paths,  # type: ignore[arg-type]
    )
    sym = Proof(params=proof.params, tables=tables, fri=sym_fri)
    backend = SymbolicBackend(rec, instance)
    verify_with(backend, airs, publics, sym, params, max_log_n=max_log_n)
    slot = ProofSlot(
        proof_shape(proof, instance_tables),
        tuple(len(p) for p in publics),
        instance_tables,
        tuple(air_structure(airs[t]) for t in instance_tables),
    )
    return VerifiedCells(publics, slot, exposed)


def hash_cells(rec: Recorder, cells: list[Cell]) -> list[Cell]:
    """poseidon2.hash_elements of base-valued cells, recorded (8 digest cells)."""
    from execution.recursion.record_backend import SymbolicBackend

    rec.note = "statement digest"
    return SymbolicBackend(rec).sponge(cells, SPONGE_DOMAIN_HASH)


def record_program(
    airs: list[CompiledAir],
    proof: Proof,
    params: FriParams,
    *,
    max_log_n: int = 24,
    instance_tables: tuple[int, ...] = (),
) -> Recording:
    """The verifier program for proofs of `proof`'s shape over `airs` under `params`; it
    exposes the verified public values, table by table, then the instance tables' AIR digests
    and preprocessed roots (see ProofSlot).

    Raises InvalidProof if the template's shape is one the verifier rejects outright.
    """
    rec = Recorder()
    v = record_verifier(
        rec, airs, proof, params, max_log_n=max_log_n, instance_tables=instance_tables
    )
    rec.note = "statement"
    for c in [c for pub in v.publics for c in pub] + v.instance:
        rec.output(c)
    return Recording(rec.program(), (v.slot,))


def program_inputs(
    recording: Recording,
    proof: Proof,
    publics: list[list[int]],
    airs: list[CompiledAir] | None = None,
) -> list[int]:
    """The input words of a one-proof program for a concrete proof and statement (`airs`: the
    statement's AIRs, needed only if the program has instance tables).

    Raises ProgramInputError if the proof has another shape than the program was recorded for
    or holds a value that is not a field element (the concrete verifier rejects those too).
    """
    return program_inputs_for(recording, [(proof, publics)], None if airs is None else [airs])


def program_inputs_for(
    recording: Recording,
    items: list[tuple[Proof, list[list[int]]]],
    airs: list[list[CompiledAir]] | None = None,
) -> list[int]:
    """The input words of a program that verifies len(items) proofs, in its slots' order."""
    if len(items) != len(recording.slots):
        raise ProgramInputError(f"the program verifies {len(recording.slots)} proofs")
    words: list[int] = []
    for k, (slot, (proof, publics)) in enumerate(zip(recording.slots, items, strict=True)):
        words.extend(_proof_words(slot, proof, publics, None if airs is None else airs[k]))
    if len(words) != recording.program.num_inputs:
        raise ProgramInputError("input length does not match the program")
    return words


def proof_words(
    slot: ProofSlot, proof: Proof, publics: list[list[int]], airs: list[CompiledAir] | None
) -> list[int]:
    """One slot's input words (programs with inputs of their own beside the proofs: lift)."""
    return _proof_words(slot, proof, publics, airs)


def _instance_words(slot: ProofSlot, proof: Proof, airs: list[CompiledAir] | None) -> list[int]:
    if not slot.instance_tables:
        return []
    if airs is None or len(airs) != len(proof.tables):
        raise ProgramInputError("the program's instance tables need the statement's AIRs")
    words: list[int] = []
    for t, structure in zip(slot.instance_tables, slot.structures, strict=True):
        air, tp = airs[t], proof.tables[t]
        # The program fixes the constraints; only the name and fixed columns may differ.
        if air_structure(air) != structure:
            raise ProgramInputError(f"{air.name}: another constraint system than the program's")
        if tp.air_digest != air.digest:
            raise ProgramInputError(f"proof is for another AIR than {air.name}")
        words.extend(int(v) for v in digest_elements(air.digest))
        pd = preprocessed_data(air, tp.log_n, proof.params.log_blowup)
        if pd is not None:
            words.extend(int(v) for v in pd.tree.root)
    return words


def _proof_words(
    slot: ProofSlot, proof: Proof, publics: list[list[int]], airs: list[CompiledAir] | None
) -> list[int]:
    if proof_shape(proof, slot.instance_tables) != slot.shape:
        raise ProgramInputError("proof has another shape than the program was recorded for")
    if tuple(len(p) for p in publics) != slot.num_publics:
        raise ProgramInputError("wrong number of public values")
    words: list[int] = [int(v) for pub in publics for v in pub]
    words.extend(_instance_words(slot, proof, airs))
    for tp in proof.tables:
        for f in ARRAY_FIELDS:
            words.extend(int(v) for v in np.asarray(getattr(tp, f)).reshape(-1))
    fri = proof.fri
    for r in fri.commit_roots:
        words.extend(int(v) for v in np.asarray(r).reshape(-1))
    words.extend(int(v) for v in np.asarray(fri.final_poly).reshape(-1))
    words.append(int(fri.pow_nonce))
    for r, p in zip(fri.query_rows, fri.query_paths, strict=True):
        words.extend(int(v) for v in np.asarray(r).reshape(-1))
        words.extend(int(v) for v in np.asarray(p).reshape(-1))
    if any(not 0 <= v < P for v in words):
        raise ProgramInputError("proof or statement holds a value that is not a field element")
    return words
