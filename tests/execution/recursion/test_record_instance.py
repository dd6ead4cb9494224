"""One program for a family of AIRs that differ only in name and fixed columns (as the zkVM's
ROM table differs per guest): their digest and fixed-column root are inputs, exposed."""

from __future__ import annotations

import os
import sys

import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST

from execution.recursion.interpret import run
from execution.recursion.record import ProgramInputError, program_inputs, record_program
from execution.stark.air import compile_air
from execution.stark.air.builder import Air, AirBuilder
from execution.stark.air.compiled import CompiledAir
from execution.stark.field import P
from execution.stark.proof import Proof
from execution.stark.protocol import digest_elements, preprocessed_data
from execution.stark.prover import prove

LOG_N = 5


class ScaledTableAir(Air):
    """main = k * fixed column; the last main value is public. The table is the instance."""

    width = 1
    preprocessed_width = 1
    num_public_values = 1

    def __init__(self, table: npt.NDArray[np.uint32], tag: str, k: int = 2) -> None:
        self.name = f"scaled_table_{tag}"
        self._table = table
        self.k = k

    def eval(self, b: AirBuilder) -> None:
        b.assert_zero(b.local[0] - self.k * b.prep_local[0])
        b.when_last_row(b.local[0] - b.public[0])

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != LOG_N:
            raise ValueError("fixed height")
        return self._table


def _instance(seed: int, k: int = 2) -> tuple[CompiledAir, list[list[int]], Proof]:
    rng = np.random.default_rng(seed)
    table = rng.integers(0, P, (1 << LOG_N, 1), dtype=np.uint64).astype(np.uint32)
    air = compile_air(ScaledTableAir(table, f"s{seed}", k))
    main = (table.astype(np.uint64) * k % P).astype(np.uint32)
    publics = [[int(main[-1, 0])]]
    return air, publics, prove([air], [main], publics, FAST)


def _identity(air: CompiledAir) -> list[int]:
    root = preprocessed_data(air, LOG_N, FAST.log_blowup)
    assert root is not None
    return [int(v) for v in digest_elements(air.digest)] + [int(v) for v in root.tree.root]


def test_one_program_verifies_every_instance_and_exposes_which() -> None:
    air_a, pub_a, proof_a = _instance(1)
    air_b, pub_b, proof_b = _instance(2)
    assert air_a.digest != air_b.digest
    rec = record_program([air_a], proof_a, FAST, instance_tables=(0,))
    for air, pub, proof in ((air_a, pub_a, proof_a), (air_b, pub_b, proof_b)):
        verdict = run(rec.program, program_inputs(rec, proof, pub, [air]))
        assert verdict.accepted, verdict.reason
        assert [o[0] for o in verdict.outputs] == pub[0] + _identity(air)

    # B's proof claimed for A's identity (A's digest and fixed-column root as inputs): rejected.
    words = program_inputs(rec, proof_b, pub_b, [air_b])
    words[1:17] = _identity(air_a)
    assert not run(rec.program, words).accepted
    # Without instance tables the program is A's alone: B's proof has another shape.
    only_a = record_program([air_a], proof_a, FAST)
    with pytest.raises(ProgramInputError):
        program_inputs(only_a, proof_b, pub_b)


def test_an_instance_with_other_constraints_is_refused() -> None:
    air_a, _, proof_a = _instance(1)
    air_c, pub_c, proof_c = _instance(3, k=3)
    rec = record_program([air_a], proof_a, FAST, instance_tables=(0,))
    with pytest.raises(ProgramInputError, match="constraint system"):
        program_inputs(rec, proof_c, pub_c, [air_c])
    with pytest.raises(ProgramInputError, match="AIRs"):
        program_inputs(rec, proof_a, [[0]])
