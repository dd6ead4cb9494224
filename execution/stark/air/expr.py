"""Symbolic expressions over AIR columns: the one description constraints are written in.

An `Expr` is a node of a DAG. Leaves name a column (main, preprocessed or LogUp/permutation;
on the current or the next row), a public value, a challenge, a LogUp final sum, a constant,
or one of the row selectors. Inner nodes are add, sub, mul and neg. Python operators build
nodes, so `b.next[0] - (b.local[0] + b.local[1])` is a constraint.

Each node knows at construction its degree (columns and selectors count 1, constants, public
values and challenges 0) and whether its value lies in the extension field (permutation
columns, challenges and final sums do; everything else is base field). Evaluators never look
at Python objects beyond this module's fields, so the DAG can be compiled, hashed, printed,
or (later) run over symbolic values to derive a recursive verifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from execution.stark.lanes import P

__all__ = ["Expr", "ExprLike", "Op", "const", "lift"]


class Op(IntEnum):
    CONST = 0
    MAIN = 1
    PREP = 2
    PERM = 3
    PUBLIC = 4
    CHALLENGE = 5
    FINAL_SUM = 6
    IS_FIRST_ROW = 7
    IS_LAST_ROW = 8
    IS_TRANSITION = 9
    ADD = 10
    SUB = 11
    MUL = 12
    NEG = 13


LEAF_OPS = frozenset(
    {
        Op.CONST,
        Op.MAIN,
        Op.PREP,
        Op.PERM,
        Op.PUBLIC,
        Op.CHALLENGE,
        Op.FINAL_SUM,
        Op.IS_FIRST_ROW,
        Op.IS_LAST_ROW,
        Op.IS_TRANSITION,
    }
)
_EXT_LEAVES = frozenset({Op.PERM, Op.CHALLENGE, Op.FINAL_SUM})
_DEGREE_ONE = frozenset(
    {Op.MAIN, Op.PREP, Op.PERM, Op.IS_FIRST_ROW, Op.IS_LAST_ROW, Op.IS_TRANSITION}
)


@dataclass(frozen=True, eq=False)
class Expr:
    """One DAG node. `index` is the column/public/challenge index or the constant's value."""

    op: Op
    args: tuple[Expr, ...] = ()
    index: int = 0
    next_row: bool = False
    degree: int = field(init=False)
    is_ext: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.op in LEAF_OPS:
            deg = 1 if self.op in _DEGREE_ONE else 0
            ext = self.op in _EXT_LEAVES
        elif self.op == Op.MUL:
            deg = self.args[0].degree + self.args[1].degree
            ext = self.args[0].is_ext or self.args[1].is_ext
        else:
            deg = max(a.degree for a in self.args)
            ext = any(a.is_ext for a in self.args)
        object.__setattr__(self, "degree", deg)
        object.__setattr__(self, "is_ext", ext)

    def __add__(self, other: ExprLike) -> Expr:
        return Expr(Op.ADD, (self, lift(other)))

    def __radd__(self, other: ExprLike) -> Expr:
        return Expr(Op.ADD, (lift(other), self))

    def __sub__(self, other: ExprLike) -> Expr:
        return Expr(Op.SUB, (self, lift(other)))

    def __rsub__(self, other: ExprLike) -> Expr:
        return Expr(Op.SUB, (lift(other), self))

    def __mul__(self, other: ExprLike) -> Expr:
        return Expr(Op.MUL, (self, lift(other)))

    def __rmul__(self, other: ExprLike) -> Expr:
        return Expr(Op.MUL, (lift(other), self))

    def __neg__(self) -> Expr:
        return Expr(Op.NEG, (self,))

    def __pow__(self, e: int) -> Expr:
        if not isinstance(e, int) or e < 1:
            raise ValueError("Expr powers take a positive integer exponent")
        # Square-and-multiply keeps the DAG small; degree is e * degree either way.
        result: Expr | None = None
        base = self
        while e:
            if e & 1:
                result = base if result is None else result * base
            e >>= 1
            if e:
                base = base * base
        if result is None:  # unreachable for e >= 1; keeps the type checker exact
            raise ValueError("empty power")
        return result

    def __repr__(self) -> str:
        names = {
            Op.MAIN: "main",
            Op.PREP: "prep",
            Op.PERM: "perm",
            Op.PUBLIC: "pub",
            Op.CHALLENGE: "chal",
            Op.FINAL_SUM: "final_sum",
        }
        if self.op == Op.CONST:
            return str(self.index)
        if self.op in names:
            suffix = "'" if self.next_row else ""
            return f"{names[self.op]}[{self.index}]{suffix}"
        if self.op in (Op.IS_FIRST_ROW, Op.IS_LAST_ROW, Op.IS_TRANSITION):
            return self.op.name.lower()
        if self.op == Op.NEG:
            return f"-({self.args[0]!r})"
        sym = {Op.ADD: "+", Op.SUB: "-", Op.MUL: "*"}[self.op]
        return f"({self.args[0]!r} {sym} {self.args[1]!r})"


ExprLike = Expr | int


def const(value: int) -> Expr:
    return Expr(Op.CONST, index=value % P)


def lift(x: ExprLike) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, int):
        return const(x)
    raise TypeError(f"cannot use {type(x).__name__} in an AIR expression")
