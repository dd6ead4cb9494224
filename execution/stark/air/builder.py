"""What an AIR author writes against: the `Air` base class and the `AirBuilder` it fills.

An AIR describes a table: its main width, optional preprocessed (fixed) columns, the number of
public values, polynomial constraints, and LogUp bus interactions (`send` / `receive`). It never
sees the prover or verifier; `compile_air` turns the description into a `CompiledAir`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.stark.air.expr import Expr, ExprLike, Op, lift

__all__ = ["Air", "AirBuilder", "AirError", "Interaction"]


class AirError(ValueError):
    """An AIR description is malformed (degree too high, bad column, bad interaction)."""


@dataclass(frozen=True)
class Interaction:
    """One LogUp bus term: each row contributes multiplicity / (gamma - fingerprint(values)).

    Senders use a positive multiplicity and receivers a negative one, so a balanced bus sums
    to zero over all tables.
    """

    bus: int
    values: tuple[Expr, ...]
    multiplicity: Expr


class AirBuilder:
    """Collects the constraints and interactions of one AIR."""

    def __init__(self, width: int, preprocessed_width: int, num_public_values: int) -> None:
        self.local = [Expr(Op.MAIN, index=i) for i in range(width)]
        self.next = [Expr(Op.MAIN, index=i, next_row=True) for i in range(width)]
        self.prep_local = [Expr(Op.PREP, index=i) for i in range(preprocessed_width)]
        self.prep_next = [Expr(Op.PREP, index=i, next_row=True) for i in range(preprocessed_width)]
        self.public = [Expr(Op.PUBLIC, index=i) for i in range(num_public_values)]
        self.is_first_row = Expr(Op.IS_FIRST_ROW)
        self.is_last_row = Expr(Op.IS_LAST_ROW)
        self.is_transition = Expr(Op.IS_TRANSITION)
        self.constraints: list[Expr] = []
        self.interactions: list[Interaction] = []

    def assert_zero(self, e: ExprLike) -> None:
        e = lift(e)
        if e.is_ext:
            raise AirError("AIR constraints are over base-field columns")
        self.constraints.append(e)

    def assert_eq(self, a: ExprLike, b: ExprLike) -> None:
        self.assert_zero(lift(a) - lift(b))

    def assert_bool(self, a: ExprLike) -> None:
        a = lift(a)
        self.assert_zero(a * (a - 1))

    def when_first_row(self, e: ExprLike) -> None:
        self.assert_zero(self.is_first_row * lift(e))

    def when_last_row(self, e: ExprLike) -> None:
        self.assert_zero(self.is_last_row * lift(e))

    def when_transition(self, e: ExprLike) -> None:
        self.assert_zero(self.is_transition * lift(e))

    def send(self, bus: int, values: list[ExprLike], multiplicity: ExprLike = 1) -> None:
        self._interact(bus, values, lift(multiplicity))

    def receive(self, bus: int, values: list[ExprLike], multiplicity: ExprLike = 1) -> None:
        self._interact(bus, values, -lift(multiplicity))

    def _interact(self, bus: int, values: list[ExprLike], mult: Expr) -> None:
        vals = tuple(lift(v) for v in values)
        if not vals:
            raise AirError("an interaction needs at least one value")
        if not 0 <= bus < 1 << 16:
            raise AirError("bus ids are 0..65535")
        for v in (*vals, mult):
            if v.is_ext or _uses_next_row(v) or _uses_selector(v):
                raise AirError("interaction values and multiplicity read the current row only")
        self.interactions.append(Interaction(bus, vals, mult))


def _walk(e: Expr) -> list[Expr]:
    seen: set[int] = set()
    out: list[Expr] = []
    stack = [e]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        out.append(n)
        stack.extend(n.args)
    return out


def _uses_next_row(e: Expr) -> bool:
    return any(n.next_row for n in _walk(e))


def _uses_selector(e: Expr) -> bool:
    sel = (Op.IS_FIRST_ROW, Op.IS_LAST_ROW, Op.IS_TRANSITION)
    return any(n.op in sel for n in _walk(e))


class Air(ABC):
    """A table's constraints. Subclasses set the class attributes and implement `eval`."""

    name: str = "air"
    width: int = 0
    preprocessed_width: int = 0
    num_public_values: int = 0

    @abstractmethod
    def eval(self, b: AirBuilder) -> None:
        """Add this AIR's constraints and interactions to `b`."""

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32] | None:
        """The fixed columns at height 2^log_n (None when preprocessed_width is 0)."""
        return None
