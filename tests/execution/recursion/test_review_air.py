"""Review attacks on the recursion AIR (issue 8) that the main AIR tests do not cover: an INV
of zero, and a second write of a cell from a SELECT padding row."""

from __future__ import annotations

import os
import sys

import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_air_cases import FAST, const_add_program, forge

from execution.recursion.program import Instruction, Op, Program
from execution.recursion.prove import RecursionKey, program_key, prove_traces, verify
from execution.recursion.tracegen import ExecutionError, Shape, execute
from execution.stark.errors import InvalidProof, ProvingError
from execution.stark.proof import Proof

U32 = npt.NDArray[np.uint32]


def _reject(key: RecursionKey, traces: list[U32], publics: list[list[int]], reason: str) -> None:
    with pytest.raises(ProvingError, match=reason):
        prove_traces(key, traces, publics, FAST)
    proof = prove_traces(key, traces, publics, FAST, check=False)
    outputs = np.array(publics[-1], dtype=np.uint32).reshape(-1, 4)
    with pytest.raises(InvalidProof):
        verify(Proof.from_bytes(proof.to_bytes()), key, key.control_id, outputs, FAST)


def test_inverse_of_zero_cannot_be_hinted() -> None:
    # d = INV x is also the verifier's "x is not zero" check: with x = 0 no hint d passes.
    prog = Program(
        1,
        2,
        [
            Instruction(Op.INPUT, (0,), (), (0,)),
            Instruction(Op.INV, (1,), (0,)),
            Instruction(Op.OUTPUT, (), (1,)),
        ],
    )
    with pytest.raises(ExecutionError):
        execute(prog, [0])
    key = program_key(prog)
    traces, publics = forge(key, [0], 1, [(5, 0, 0, 0)])
    assert publics[-1] == [5, 0, 0, 0]
    _reject(key, traces, publics, "recursion_arith: constraint_0 fails at row 0")


def test_second_write_of_a_cell_by_a_select_padding_row_is_rejected() -> None:
    # As the memory-init and arithmetic cases of test_air.py: the ADD reads cell 0 = 4 instead
    # of CONST 3, the extra write coming from a padding SELECT row (address 0, d = b = 4).
    prog, inputs = const_add_program(3)
    key = program_key(prog, Shape((2, 2, 1, 1, 1), 1))
    traces, publics = forge(key, inputs, 0, [(4, 0, 0, 0)])
    mem = key.shape.tables().index("memory_init")
    sel = key.shape.tables().index("select")
    traces[mem][0] = (3, 0)
    traces[sel][0, 5:9] = (4, 0, 0, 0)  # b
    traces[sel][0, 9:13] = (4, 0, 0, 0)  # d = b + c * (a - b) with c = 0
    traces[sel][0, 13] = 1  # mult
    assert publics[-1][0] == 4 + inputs[0]
    _reject(key, traces, publics, "LogUp buses do not balance")
