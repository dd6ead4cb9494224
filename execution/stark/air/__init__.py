"""The symbolic AIR framework: constraints written once, evaluated by prover and verifier."""

from __future__ import annotations

from execution.stark.air.builder import Air, AirBuilder, AirError, Interaction
from execution.stark.air.compiled import CompiledAir, Node, compile_air, perturb_constraint
from execution.stark.air.evaluate import (
    DomainInputs,
    ExtOps,
    NumpyExtOps,
    PointInputs,
    eval_base_nodes,
    evaluate_on_domain,
    fold_at_point,
    fold_on_domain,
)
from execution.stark.air.expr import Expr, Op, const

__all__ = [
    "Air",
    "AirBuilder",
    "AirError",
    "CompiledAir",
    "DomainInputs",
    "Expr",
    "ExtOps",
    "Interaction",
    "Node",
    "NumpyExtOps",
    "Op",
    "PointInputs",
    "compile_air",
    "const",
    "eval_base_nodes",
    "evaluate_on_domain",
    "fold_at_point",
    "fold_on_domain",
    "perturb_constraint",
]
