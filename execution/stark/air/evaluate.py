"""The two evaluators derived from one compiled constraint DAG.

- `fold_on_domain` (prover): every node over whole columns of the quotient domain at once
  (numpy uint64 lanes; base-field nodes stay base field, extension nodes are (N, 4)), folding the
  constraints with powers of alpha as they are produced and freeing each intermediate after its
  last use, so peak memory is a few columns beyond the inputs.
- `fold_at_point` (verifier): the same DAG with every value an extension element (the openings
  at the out-of-domain point). It uses only add/sub/mul/neg through an `ExtOps` object, so that
  a recursive verifier can later run it over symbolic values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, cast

import numpy as np

from execution.stark import lanes as L
from execution.stark.air.compiled import CompiledAir
from execution.stark.air.expr import Op

__all__ = [
    "DomainInputs",
    "ExtOps",
    "IntExtOps",
    "NumpyExtOps",
    "PointInputs",
    "RolledColumns",
    "eval_base_nodes",
    "evaluate_on_domain",
    "fold_at_point",
    "fold_on_domain",
]


class RolledColumns:
    """Columns read one trace row ahead, materialized one column at a time when asked for.

    On the quotient coset the next trace row of point k is point k + shift; rolling the whole
    matrix up front would double the memory of the largest array of the prover.
    """

    def __init__(self, cols: L.U64, shift: int) -> None:
        self.cols = cols
        self.shift = shift

    def __getitem__(self, i: int) -> L.U64:
        return np.roll(self.cols[i], -self.shift, axis=0)

    def __len__(self) -> int:
        return len(self.cols)


Columns = L.U64 | RolledColumns


@dataclass
class DomainInputs:
    """Column values over the N points of the quotient domain (natural order).

    main/prep: (w, N) uint64, their `*_next` the same columns shifted by one trace row.
    perm/perm_next: (k, N, 4) uint64. Selectors: (N,) uint64.
    """

    main: Columns
    main_next: Columns
    prep: Columns
    prep_next: Columns
    perm: Columns
    perm_next: Columns
    publics: L.U64  # (num_public,)
    challenges: L.U64  # (c, 4)
    final_sum: L.U64  # (4,)
    is_first_row: L.U64
    is_last_row: L.U64
    is_transition: L.U64


def _leaf_domain(op: Op, index: int, nxt: bool, d: DomainInputs) -> tuple[object, bool]:
    if op == Op.CONST:
        return np.uint64(index), False
    if op == Op.MAIN:
        return (d.main_next if nxt else d.main)[index], False
    if op == Op.PREP:
        return (d.prep_next if nxt else d.prep)[index], False
    if op == Op.PERM:
        return (d.perm_next if nxt else d.perm)[index], True
    if op == Op.PUBLIC:
        return d.publics[index], False
    if op == Op.CHALLENGE:
        return d.challenges[index], True
    if op == Op.FINAL_SUM:
        return d.final_sum, True
    if op == Op.IS_FIRST_ROW:
        return d.is_first_row, False
    if op == Op.IS_LAST_ROW:
        return d.is_last_row, False
    return d.is_transition, False


def _binop(op: Op, a: object, ae: bool, b: object, be: bool) -> object:
    if op == Op.ADD:
        if not ae and not be:
            return L.b_add(a, b)  # type: ignore[arg-type]
        return L.e_add(*_promote(a, ae, b, be))
    if op == Op.SUB:
        if not ae and not be:
            return L.b_sub(a, b)  # type: ignore[arg-type]
        return L.e_sub(*_promote(a, ae, b, be))
    # MUL
    if not ae and not be:
        return L.b_mul(a, b)  # type: ignore[arg-type]
    if ae and be:
        return L.e_mul(a, b)  # type: ignore[arg-type]
    if ae:
        return L.e_mul_base(a, b)  # type: ignore[arg-type]
    return L.e_mul_base(b, a)  # type: ignore[arg-type]


def _promote(a: object, ae: bool, b: object, be: bool) -> tuple[L.U64, L.U64]:
    a2 = a if ae else L.e_from_base(a)  # type: ignore[arg-type]
    b2 = b if be else L.e_from_base(b)  # type: ignore[arg-type]
    return a2, b2  # type: ignore[return-value]


def evaluate_on_domain(
    c: CompiledAir, d: DomainInputs, n: int, on_constraint: Callable[[int, object, bool], None]
) -> None:
    """Evaluate the DAG once over the domain; call on_constraint(i, value, is_ext) per constraint.

    Intermediates are freed after their last use, so peak memory stays a few columns above the
    inputs however large the DAG.
    """
    uses = [0] * len(c.nodes)
    for node in c.nodes:
        for a in node.args:
            uses[a] += 1
    roots: dict[int, list[int]] = {}
    for i, r in enumerate(c.constraints):
        roots.setdefault(r, []).append(i)
    values: dict[int, object] = {}
    for idx, node in enumerate(c.nodes):
        if node.op == Op.NEG:
            v = values[node.args[0]]
            val: object = L.b_neg(v)  # type: ignore[arg-type]
        elif node.args:
            a, b = node.args
            val = _binop(node.op, values[a], c.nodes[a].is_ext, values[b], c.nodes[b].is_ext)
        else:
            val, _ = _leaf_domain(node.op, node.index, node.next_row, d)
        for a in set(node.args):
            uses[a] -= node.args.count(a)
            if uses[a] == 0:
                del values[a]
        for ci in roots.get(idx, ()):
            on_constraint(ci, val, node.is_ext)
        if uses[idx] > 0:
            values[idx] = val


_FOLD_BATCH = 32


def fold_on_domain(c: CompiledAir, d: DomainInputs, alpha_powers: L.U64, n: int) -> L.U64:
    """sum_i alpha^i * C_i(x) over the domain, shape (n, 4).

    Base-field constraint values are gathered in batches and folded by one matrix-times-vector
    kernel, which is much cheaper than an extension multiply per constraint.
    """
    acc = [np.zeros((n, 4), dtype=np.uint64)]
    # Each base constraint value is narrowed into this uint32 batch as it arrives, so its
    # uint64 array is freed at once instead of living until the batch is folded.
    m = np.empty((n, _FOLD_BATCH), dtype=np.uint32, order="F")
    batch_idx: list[int] = []

    def flush() -> None:
        if batch_idx:
            k = len(batch_idx)
            acc[0] = L.e_add(acc[0], L.mat_dot_ext(m[:, :k], alpha_powers[batch_idx]))
            batch_idx.clear()

    def fold(ci: int, val: object, is_ext: bool) -> None:
        if is_ext:
            term = L.e_mul(np.broadcast_to(cast(L.U64, val), (n, 4)), alpha_powers[ci])
            acc[0] = L.e_add(acc[0], term)
            return
        m[:, len(batch_idx)] = np.broadcast_to(cast(L.U64, val), (n,))
        batch_idx.append(ci)
        if len(batch_idx) == _FOLD_BATCH:
            flush()

    evaluate_on_domain(c, d, n, fold)
    flush()
    return acc[0]


def eval_base_nodes(
    c: CompiledAir,
    wanted: list[int],
    main: L.U64,
    prep: L.U64 | None,
    publics: list[int],
    n: int,
) -> dict[int, L.U64]:
    """Values over the n trace rows of base-field nodes that read only the current row."""
    need: set[int] = set()
    stack = list(wanted)
    while stack:
        i = stack.pop()
        if i not in need:
            need.add(i)
            stack.extend(c.nodes[i].args)
    vals: dict[int, L.U64] = {}
    for i in sorted(need):
        node = c.nodes[i]
        if node.op == Op.CONST:
            v = np.full(n, node.index, dtype=np.uint64)
        elif node.op == Op.MAIN:
            v = main[node.index]
        elif node.op == Op.PREP and prep is not None:
            v = prep[node.index]
        elif node.op == Op.PUBLIC:
            v = np.full(n, publics[node.index] % L.P, dtype=np.uint64)
        elif node.op == Op.NEG:
            v = L.b_neg(vals[node.args[0]])
        elif node.op in (Op.ADD, Op.SUB, Op.MUL):
            v = _binop(node.op, vals[node.args[0]], False, vals[node.args[1]], False)  # type: ignore[assignment]
        else:
            raise ValueError(f"{c.name}: interaction uses {node.op.name}, not allowed")
        vals[i] = v
    return vals


T = TypeVar("T")


class ExtOps(Protocol[T]):
    """The arithmetic the verifier's evaluator needs; a symbolic version drives recursion."""

    def add(self, a: T, b: T) -> T: ...
    def sub(self, a: T, b: T) -> T: ...
    def mul(self, a: T, b: T) -> T: ...
    def neg(self, a: T) -> T: ...
    def from_base(self, v: int) -> T: ...


class NumpyExtOps:
    """ExtOps over (4,) uint64 arrays."""

    def add(self, a: L.U64, b: L.U64) -> L.U64:
        return L.e_add(a, b)

    def sub(self, a: L.U64, b: L.U64) -> L.U64:
        return L.e_sub(a, b)

    def mul(self, a: L.U64, b: L.U64) -> L.U64:
        return L.e_mul(a, b)

    def neg(self, a: L.U64) -> L.U64:
        return L.e_neg(a)

    def from_base(self, v: int) -> L.U64:
        out = np.zeros(4, dtype=np.uint64)
        out[0] = v % L.P
        return out


ExtInt = tuple[int, int, int, int]


class IntExtOps:
    """ExtOps over tuples of four Python ints: the verifier's fast path (a few µs per op)."""

    def add(self, a: ExtInt, b: ExtInt) -> ExtInt:
        return ((a[0] + b[0]) % L.P, (a[1] + b[1]) % L.P, (a[2] + b[2]) % L.P, (a[3] + b[3]) % L.P)

    def sub(self, a: ExtInt, b: ExtInt) -> ExtInt:
        return ((a[0] - b[0]) % L.P, (a[1] - b[1]) % L.P, (a[2] - b[2]) % L.P, (a[3] - b[3]) % L.P)

    def mul(self, a: ExtInt, b: ExtInt) -> ExtInt:
        a0, a1, a2, a3 = a
        b0, b1, b2, b3 = b
        w = L.W
        return (
            (a0 * b0 + w * (a1 * b3 + a2 * b2 + a3 * b1)) % L.P,
            (a0 * b1 + a1 * b0 + w * (a2 * b3 + a3 * b2)) % L.P,
            (a0 * b2 + a1 * b1 + a2 * b0 + w * a3 * b3) % L.P,
            (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % L.P,
        )

    def neg(self, a: ExtInt) -> ExtInt:
        return ((-a[0]) % L.P, (-a[1]) % L.P, (-a[2]) % L.P, (-a[3]) % L.P)

    def from_base(self, v: int) -> ExtInt:
        return (int(v) % L.P, 0, 0, 0)

    @staticmethod
    def wrap(a: L.U64) -> ExtInt:
        return (int(a[0]), int(a[1]), int(a[2]), int(a[3]))

    @staticmethod
    def unwrap(a: ExtInt) -> L.U64:
        return np.array(a, dtype=np.uint64)


@dataclass
class PointInputs(Generic[T]):
    """Openings at zeta (and zeta * g for the *_next lists), all extension elements."""

    main: list[T]
    main_next: list[T]
    prep: list[T]
    prep_next: list[T]
    perm: list[T]
    perm_next: list[T]
    publics: list[T]
    challenges: list[T]
    final_sum: T
    is_first_row: T
    is_last_row: T
    is_transition: T


def fold_at_point(c: CompiledAir, p: PointInputs[T], alpha: T, ops: ExtOps[T]) -> T:
    """sum_i alpha^i * C_i(zeta), evaluated as Horner's rule in reverse constraint order."""
    vals: list[T] = []
    for node in c.nodes:
        op = node.op
        if op == Op.CONST:
            v = ops.from_base(node.index)
        elif op == Op.MAIN:
            v = (p.main_next if node.next_row else p.main)[node.index]
        elif op == Op.PREP:
            v = (p.prep_next if node.next_row else p.prep)[node.index]
        elif op == Op.PERM:
            v = (p.perm_next if node.next_row else p.perm)[node.index]
        elif op == Op.PUBLIC:
            v = p.publics[node.index]
        elif op == Op.CHALLENGE:
            v = p.challenges[node.index]
        elif op == Op.FINAL_SUM:
            v = p.final_sum
        elif op == Op.IS_FIRST_ROW:
            v = p.is_first_row
        elif op == Op.IS_LAST_ROW:
            v = p.is_last_row
        elif op == Op.IS_TRANSITION:
            v = p.is_transition
        elif op == Op.ADD:
            v = ops.add(vals[node.args[0]], vals[node.args[1]])
        elif op == Op.SUB:
            v = ops.sub(vals[node.args[0]], vals[node.args[1]])
        elif op == Op.MUL:
            v = ops.mul(vals[node.args[0]], vals[node.args[1]])
        else:
            v = ops.neg(vals[node.args[0]])
        vals.append(v)
    acc = ops.from_base(0)
    for r in reversed(c.constraints):
        acc = ops.add(ops.mul(acc, alpha), vals[r])
    return acc
