"""Compile an `Air` into a flat, hashable constraint DAG with LogUp columns added.

`compile_air` runs the AIR's `eval`, appends the LogUp constraints for its interactions, merges
structurally equal sub-expressions, orders the nodes so that arguments come first, computes each
constraint's degree and checks it against the quotient degree the FRI blowup allows, and hashes
the whole description into a digest that every proof's transcript starts from (a proof for one
AIR therefore cannot verify for another).

LogUp (Haböck 2022): with challenges gamma, beta (extension field), interaction k of a row adds
    h_k = m_k / (gamma - fp_k),   fp_k = bus_k + beta * v_k0 + beta^2 * v_k1 + ...
Extension-field permutation columns hold h_0..h_{K-1} and the running sum S (column K):
    h_k * (gamma - fp_k) - m_k = 0                  on every row
    is_first_row * (S - sum_k h_k) = 0
    is_transition * (S' - S - sum_k h_k') = 0
    is_last_row * (S - final_sum) = 0
The prover publishes final_sum; the verifier checks that the final sums of all tables add to 0.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from execution.stark.air.builder import Air, AirBuilder, AirError, Interaction
from execution.stark.air.expr import LEAF_OPS, Expr, Op

__all__ = ["CompiledAir", "Node", "compile_air", "perturb_constraint"]

NUM_LOGUP_CHALLENGES = 2


@dataclass(frozen=True)
class Node:
    """A flattened DAG node; args are indices of earlier nodes."""

    op: Op
    args: tuple[int, ...]
    index: int
    next_row: bool
    degree: int
    is_ext: bool


@dataclass(frozen=True)
class CompiledAir:
    air: Air
    name: str
    width: int
    preprocessed_width: int
    num_public_values: int
    num_interactions: int
    nodes: tuple[Node, ...]
    constraints: tuple[int, ...]
    constraint_labels: tuple[str, ...]
    interactions: tuple[tuple[int, tuple[int, ...], int], ...]  # (bus, value nodes, mult node)
    logup_groups: tuple[tuple[int, ...], ...]  # interactions sharing one helper column
    max_degree: int
    log_quotient_degree: int
    digest: bytes

    @property
    def perm_width(self) -> int:
        """Extension-field permutation columns: one per interaction group plus the running sum."""
        return len(self.logup_groups) + 1 if self.logup_groups else 0

    @property
    def num_challenges(self) -> int:
        return NUM_LOGUP_CHALLENGES if self.num_interactions else 0

    @property
    def quotient_degree(self) -> int:
        return 1 << self.log_quotient_degree

    def describe(self) -> str:
        lines = [f"AIR {self.name}: width {self.width}, max degree {self.max_degree}"]
        for label, root in zip(self.constraint_labels, self.constraints, strict=True):
            lines.append(f"  {label}: degree {self.nodes[root].degree}")
        return "\n".join(lines)


class _Flattener:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.by_key: dict[tuple[object, ...], int] = {}
        self.by_obj: dict[int, int] = {}
        # Holding every visited Expr keeps the id() keys of by_obj unique for our lifetime.
        self.keep: list[Expr] = []

    def add(self, root: Expr) -> int:
        # Iterative post-order walk: deep constraint chains must not hit the recursion limit.
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            e, expanded = stack.pop()
            if id(e) in self.by_obj:
                continue
            if expanded or e.op in LEAF_OPS:
                args = tuple(self.by_obj[id(a)] for a in e.args)
                key = (int(e.op), args, e.index, e.next_row)
                idx = self.by_key.get(key)
                if idx is None:
                    idx = len(self.nodes)
                    self.nodes.append(Node(e.op, args, e.index, e.next_row, e.degree, e.is_ext))
                    self.by_key[key] = idx
                self.by_obj[id(e)] = idx
                self.keep.append(e)
            else:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args)
        return self.by_obj[id(root)]


def _fingerprint(it: Interaction, beta: Expr) -> Expr:
    fp: Expr = Expr(Op.CONST, index=it.bus)
    power = beta
    for v in it.values:
        fp = fp + power * v
        power = power * beta
    return fp


def _group_interactions(interactions: list[Interaction], budget: int) -> list[tuple[int, ...]]:
    """Pair consecutive interactions into one helper column when the pair's constraint
    h * (g - f1) * (g - f2) - m1 * (g - f2) - m2 * (g - f1) stays within the degree budget."""
    fdeg = [max(v.degree for v in it.values) for it in interactions]
    mdeg = [it.multiplicity.degree for it in interactions]
    groups: list[tuple[int, ...]] = []
    i = 0
    while i < len(interactions):
        j = i + 1
        if j < len(interactions):
            pair = max(1 + fdeg[i] + fdeg[j], mdeg[i] + fdeg[j], mdeg[j] + fdeg[i])
            if pair <= budget:
                groups.append((i, j))
                i += 2
                continue
        groups.append((i,))
        i += 1
    return groups


def _logup_constraints(
    interactions: list[Interaction], groups: list[tuple[int, ...]]
) -> list[tuple[str, Expr]]:
    gamma = Expr(Op.CHALLENGE, index=0)
    beta = Expr(Op.CHALLENGE, index=1)
    k = len(groups)
    h = [Expr(Op.PERM, index=i) for i in range(k)]
    h_next = [Expr(Op.PERM, index=i, next_row=True) for i in range(k)]
    s = Expr(Op.PERM, index=k)
    s_next = Expr(Op.PERM, index=k, next_row=True)
    out: list[tuple[str, Expr]] = []
    for g, members in enumerate(groups):
        dens = [gamma - _fingerprint(interactions[i], beta) for i in members]
        if len(members) == 1:
            term = h[g] * dens[0] - interactions[members[0]].multiplicity
        else:
            m1 = interactions[members[0]].multiplicity
            m2 = interactions[members[1]].multiplicity
            term = h[g] * dens[0] * dens[1] - (m1 * dens[1] + m2 * dens[0])
        out.append((f"logup_term_{g}", term))
    row_sum = h[0]
    row_sum_next = h_next[0]
    for i in range(1, k):
        row_sum = row_sum + h[i]
        row_sum_next = row_sum_next + h_next[i]
    first = Expr(Op.IS_FIRST_ROW)
    last = Expr(Op.IS_LAST_ROW)
    trans = Expr(Op.IS_TRANSITION)
    out.append(("logup_first_row", first * (s - row_sum)))
    out.append(("logup_transition", trans * (s_next - s - row_sum_next)))
    out.append(("logup_last_row", last * (s - Expr(Op.FINAL_SUM))))
    return out


def _check_leaf(air: Air, n: Node, perm_width: int) -> None:
    limits = {
        Op.MAIN: air.width,
        Op.PREP: air.preprocessed_width,
        Op.PERM: perm_width,
        Op.PUBLIC: air.num_public_values,
        Op.CHALLENGE: NUM_LOGUP_CHALLENGES,
    }
    if n.op in limits and not 0 <= n.index < limits[n.op]:
        raise AirError(f"{air.name}: {n.op.name} index {n.index} out of range")


def _digest(
    air: Air,
    nodes: list[Node],
    constraints: list[int],
    inter: list[tuple[int, tuple[int, ...], int]],
    groups: list[tuple[int, ...]],
) -> bytes:
    h = hashlib.sha256(b"ivcnet-stark-air-v1")
    name = air.name.encode()
    h.update(struct.pack("<I", len(name)) + name)
    h.update(
        struct.pack("<IIII", air.width, air.preprocessed_width, air.num_public_values, len(nodes))
    )
    for n in nodes:
        h.update(struct.pack("<BBIB", int(n.op), int(n.next_row), n.index, len(n.args)))
        h.update(struct.pack(f"<{len(n.args)}I", *n.args))
    h.update(struct.pack(f"<I{len(constraints)}I", len(constraints), *constraints))
    h.update(struct.pack("<I", len(inter)))
    for bus, vals, mult in inter:
        h.update(struct.pack(f"<III{len(vals)}I", bus, mult, len(vals), *vals))
    h.update(struct.pack("<I", len(groups)))
    for g in groups:
        h.update(struct.pack(f"<I{len(g)}I", len(g), *g))
    return h.digest()


def compile_air(air: Air, max_log_quotient_degree: int = 2) -> CompiledAir:
    """Build the constraint DAG of `air`; raise AirError if a constraint's degree is too high.

    The quotient polynomial of constraints of degree d has degree below (d - 1) * n, so it is
    split into 2^ceil(log2(d - 1)) chunks, which must not exceed the LDE blowup.
    """
    if air.width < 1:
        raise AirError(f"{air.name}: an AIR needs at least one main column")
    b = AirBuilder(air.width, air.preprocessed_width, air.num_public_values)
    air.eval(b)
    labelled = [(f"constraint_{i}", c) for i, c in enumerate(b.constraints)]
    groups: list[tuple[int, ...]] = []
    if b.interactions:
        # Pairing never raises the AIR's degree above what its own constraints (or 3) need.
        user_degree = max((c.degree for c in b.constraints), default=0)
        groups = _group_interactions(b.interactions, max(user_degree, 3))
        labelled += _logup_constraints(b.interactions, groups)
    if not labelled:
        raise AirError(f"{air.name}: an AIR needs at least one constraint")
    perm_width = len(groups) + 1 if groups else 0

    flat = _Flattener()
    roots = [flat.add(c) for _, c in labelled]
    inter = [
        (it.bus, tuple(flat.add(v) for v in it.values), flat.add(it.multiplicity))
        for it in b.interactions
    ]
    for n in flat.nodes:
        _check_leaf(air, n, perm_width)
    max_degree = max(flat.nodes[r].degree for r in roots)
    log_qd = 0
    while (1 << log_qd) < max_degree - 1:
        log_qd += 1
    if log_qd > max_log_quotient_degree:
        worst = max(range(len(roots)), key=lambda i: flat.nodes[roots[i]].degree)
        raise AirError(
            f"{air.name}: {labelled[worst][0]} has degree {max_degree}; at most "
            f"{(1 << max_log_quotient_degree) + 1} fits this blowup"
        )
    return CompiledAir(
        air=air,
        name=air.name,
        width=air.width,
        preprocessed_width=air.preprocessed_width,
        num_public_values=air.num_public_values,
        num_interactions=len(b.interactions),
        nodes=tuple(flat.nodes),
        constraints=tuple(roots),
        constraint_labels=tuple(lbl for lbl, _ in labelled),
        interactions=tuple(inter),
        logup_groups=tuple(groups),
        max_degree=max_degree,
        log_quotient_degree=log_qd,
        digest=_digest(air, flat.nodes, roots, inter, groups),
    )


def perturb_constraint(c: CompiledAir, which: int, delta: int = 1) -> CompiledAir:
    """A copy of `c` whose constraint `which` becomes (constraint + delta).

    For soundness tests: an honest trace of `c` violates exactly that one constraint of the
    copy, so a proof of the copy must be rejected.
    """
    if not 0 <= which < len(c.constraints):
        raise AirError("no such constraint")
    nodes = list(c.nodes)
    root = c.constraints[which]
    rn = nodes[root]
    nodes.append(Node(Op.CONST, (), delta, False, 0, False))
    nodes.append(Node(Op.ADD, (root, len(nodes) - 1), 0, False, rn.degree, rn.is_ext))
    roots = list(c.constraints)
    roots[which] = len(nodes) - 1
    return CompiledAir(
        air=c.air,
        name=c.name,
        width=c.width,
        preprocessed_width=c.preprocessed_width,
        num_public_values=c.num_public_values,
        num_interactions=c.num_interactions,
        nodes=tuple(nodes),
        constraints=tuple(roots),
        constraint_labels=c.constraint_labels,
        interactions=c.interactions,
        logup_groups=c.logup_groups,
        max_degree=c.max_degree,
        log_quotient_degree=c.log_quotient_degree,
        digest=_digest(c.air, nodes, roots, list(c.interactions), list(c.logup_groups)),
    )
