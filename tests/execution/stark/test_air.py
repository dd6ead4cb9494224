from __future__ import annotations

import numpy as np
import pytest

from execution.stark import lanes as L
from execution.stark.air import (
    Air,
    AirBuilder,
    AirError,
    DomainInputs,
    NumpyExtOps,
    PointInputs,
    compile_air,
    fold_at_point,
    fold_on_domain,
    perturb_constraint,
)
from execution.stark.air.expr import Op
from execution.stark.examples import (
    ByteRangeTableAir,
    ByteSumAir,
    FibonacciAir,
    Poseidon2Air,
)


class _Cubic(Air):
    name = "cubic"
    width = 2
    num_public_values = 1

    def __init__(self, power: int = 3) -> None:
        self.power = power

    def eval(self, b: AirBuilder) -> None:
        x, y = b.local
        b.when_transition(b.next[0] - x**self.power - y)
        b.assert_zero(y * (y - 1))
        b.when_first_row(x - b.public[0])


def test_degrees_and_quotient_chunks() -> None:
    c = compile_air(_Cubic(3))
    degs = [c.nodes[r].degree for r in c.constraints]
    assert degs == [4, 2, 2]
    assert c.max_degree == 4 and c.log_quotient_degree == 2
    assert compile_air(FibonacciAir()).log_quotient_degree == 0
    assert compile_air(Poseidon2Air()).max_degree == 3


def test_degree_above_the_blowup_is_refused_at_build_time() -> None:
    with pytest.raises(AirError, match="degree 6"):
        compile_air(_Cubic(5))
    compile_air(_Cubic(5), max_log_quotient_degree=3)


def test_bad_descriptions_are_refused() -> None:
    class BadColumn(Air):
        name = "bad"
        width = 1

        def eval(self, b: AirBuilder) -> None:
            b.assert_zero(b.local[0] - b.public[0])

    with pytest.raises((AirError, IndexError)):
        compile_air(BadColumn())

    class NextInBus(Air):
        name = "bad2"
        width = 1

        def eval(self, b: AirBuilder) -> None:
            b.send(0, [b.next[0]])

    with pytest.raises(AirError):
        compile_air(NextInBus())


def test_dag_shares_equal_subexpressions_and_digest_binds_constraints() -> None:
    c = compile_air(_Cubic(3))
    keys = [(n.op, n.args, n.index, n.next_row) for n in c.nodes]
    assert len(keys) == len(set(keys))
    for i, n in enumerate(c.nodes):
        assert all(a < i for a in n.args)
    assert c.digest != compile_air(FibonacciAir()).digest
    assert perturb_constraint(c, 1).digest != c.digest
    assert compile_air(_Cubic(3)).digest == c.digest


def test_logup_columns_and_constraints_are_generated() -> None:
    s = compile_air(ByteSumAir())
    r = compile_air(ByteRangeTableAir())
    assert s.num_interactions == 1 and s.perm_width == 2 and s.num_challenges == 2
    assert r.constraint_labels[-3:] == ("logup_first_row", "logup_transition", "logup_last_row")
    assert any(n.op == Op.FINAL_SUM for n in s.nodes)


@pytest.mark.parametrize("air", [FibonacciAir(), ByteSumAir(), ByteRangeTableAir(), _Cubic(3)])
def test_prover_and_verifier_evaluators_agree(air: Air) -> None:
    """Same leaf values: the vectorized evaluator and the point evaluator give the same fold."""
    c = compile_air(air)
    rng = np.random.default_rng(7)
    n = 5

    def base(*shape: int) -> L.U64:
        return rng.integers(0, L.P, shape, dtype=np.uint64)

    d = DomainInputs(
        main=base(c.width, n),
        main_next=base(c.width, n),
        prep=base(c.preprocessed_width, n),
        prep_next=base(c.preprocessed_width, n),
        perm=base(c.perm_width, n, 4),
        perm_next=base(c.perm_width, n, 4),
        publics=base(c.num_public_values),
        challenges=base(2, 4),
        final_sum=base(4),
        is_first_row=base(n),
        is_last_row=base(n),
        is_transition=base(n),
    )
    alpha = base(4)
    folded = fold_on_domain(c, d, L.e_powers(alpha, len(c.constraints)), n)
    ops = NumpyExtOps()

    def ext(v: L.U64) -> L.U64:
        return L.e_from_base(v)

    for k in range(n):
        p = PointInputs(
            main=[ext(v) for v in d.main[:, k]],
            main_next=[ext(v) for v in d.main_next[:, k]],
            prep=[ext(v) for v in d.prep[:, k]],
            prep_next=[ext(v) for v in d.prep_next[:, k]],
            perm=list(d.perm[:, k]),
            perm_next=list(d.perm_next[:, k]),
            publics=[ext(v) for v in d.publics],
            challenges=list(d.challenges),
            final_sum=d.final_sum,
            is_first_row=ext(d.is_first_row[k]),
            is_last_row=ext(d.is_last_row[k]),
            is_transition=ext(d.is_transition[k]),
        )
        assert np.array_equal(fold_at_point(c, p, alpha, ops), folded[k])
