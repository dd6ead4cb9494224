"""Proving and verifying program runs: honest runs, shapes, and runs that cannot be proven."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_air_cases import FAST, bits_program, const_add_program, every_op_program

from execution.recursion.program import Instruction, Op, Program, ProgramError
from execution.recursion.prove import program_key, prove, verify
from execution.recursion.tracegen import (
    ExecutionError,
    Shape,
    ShapeError,
    execute,
    layout,
    minimal_shape,
)
from execution.stark.errors import InvalidProof
from execution.stark.extension import ext_inv, ext_mul
from execution.stark.field import P
from execution.stark.poseidon2 import permute
from execution.stark.proof import Proof


def test_every_opcode_runs_as_the_reference_arithmetic_says() -> None:
    prog, inputs = every_op_program()
    cells = execute(prog, inputs)
    c = cells[2]
    assert (cells[3] == [12, 0, 0, 0]).all()
    assert (cells[4] == ext_mul(cells[3], c)).all()
    assert (cells[6] == ext_inv(cells[5])).all()
    assert (cells[7] == [1, 0, 0, 0]).all()
    state = cells[list(prog.instructions[10].ins), 0].reshape(1, 16)
    assert (cells[9:25, 0] == permute(state)[0]).all()
    assert (cells[25:28, 0] == [1, 0, 0]).all()
    h = int(cells[9, 0])
    assert [int(b) for b in cells[28:59, 0]] == [(h >> i) & 1 for i in range(31)]
    assert (cells[59] == cells[4]).all() and (cells[60] == cells[3]).all()


def test_honest_run_proves_and_verifies_from_bytes() -> None:
    prog, inputs = every_op_program()
    key = program_key(prog)
    run = prove(prog, inputs, FAST, key=key)
    assert run.outputs.shape == (3, 4)
    assert (run.outputs[1] == execute(prog, inputs)[60]).all()
    proof = Proof.from_bytes(run.proof.to_bytes())
    verify(proof, key, prog.control_id(), run.outputs, FAST)
    # The verifier's key comes from the program alone.
    verify(proof, program_key(prog), prog.control_id(), run.outputs, FAST)


def test_programs_of_one_shape_share_the_constraints_not_the_key() -> None:
    shape = Shape((3, 3, 1, 1, 1), 1)
    a, inputs = const_add_program(3)
    b, _ = const_add_program(9)
    ka, kb = program_key(a, shape), program_key(b, shape)
    assert [x.nodes for x in ka.airs] == [x.nodes for x in kb.airs]
    assert all(x.digest != y.digest for x, y in zip(ka.airs, kb.airs, strict=True))
    with pytest.raises(ValueError, match="another program"):
        prove(b, inputs, FAST, key=ka)
    run = prove(b, inputs, FAST, key=kb)
    assert run.proof.tables[0].log_n == 3
    verify(run.proof, kb, b.control_id(), [[9 + inputs[0], 0, 0, 0]], FAST)


def test_bits_of_the_largest_field_element() -> None:
    prog, inputs = bits_program(31, P - 1)
    run = prove(prog, inputs, FAST)
    bits = [int(v) for v in run.outputs[:, 0]]
    assert sum(b << i for i, b in enumerate(bits)) == P - 1
    verify(run.proof, program_key(prog), prog.control_id(), run.outputs, FAST)


@pytest.mark.parametrize(
    ("ins", "inputs", "reason"),
    [
        ([Instruction(Op.ASSERT_EQ, (), (0, 1))], [1, 2], "assertion failed"),
        ([Instruction(Op.INV, (2,), (0,))], [0, 2], "inverse of zero"),
        ([Instruction(Op.BITS, (2, 3), (0,), (2,))], [4, 0], "does not fit"),
        ([Instruction(Op.SELECT, (2,), (0, 1, 1))], [2, 0], "not a bit"),
        ([], [1, P], "canonical"),
        ([], [1], "input words"),
    ],
)
def test_runs_that_cannot_be_proven_raise_execution_error(
    ins: list[Instruction], inputs: list[int], reason: str
) -> None:
    head = [Instruction(Op.INPUT, (0,), (), (0,)), Instruction(Op.INPUT, (1,), (), (1,))]
    cells = 2 + sum(len(x.outs) for x in ins)
    prog = Program(num_inputs=2, num_cells=cells, instructions=head + ins)
    with pytest.raises(ExecutionError, match=reason):
        prove(prog, inputs, FAST)


def test_a_program_that_writes_a_cell_twice_has_no_layout() -> None:
    prog, _ = const_add_program()
    prog.instructions.insert(2, Instruction(Op.CONST, (1,), (), (1, 0, 0, 0)))
    with pytest.raises(ProgramError):
        layout(prog)


def test_shapes_too_small_or_mismatched_are_refused() -> None:
    prog, _ = every_op_program()
    small = minimal_shape(prog)
    with pytest.raises(ShapeError):
        layout(prog, Shape((small.log_heights[0], 1, 1, 1, 1), small.num_outputs))
    with pytest.raises(ShapeError):
        layout(prog, Shape(small.log_heights, small.num_outputs + 1))


def test_verify_refuses_malformed_statements() -> None:
    prog, inputs = const_add_program()
    key = program_key(prog)
    run = prove(prog, inputs, FAST, key=key)
    good = run.outputs
    for bad in (good[:, :3], np.zeros((2, 4), dtype=np.uint32), good.astype(np.float64)):
        with pytest.raises(InvalidProof):
            verify(run.proof, key, key.control_id, bad, FAST)
    with pytest.raises(InvalidProof, match="canonical"):
        verify(run.proof, key, key.control_id, good.astype(np.int64) + P, FAST)
    with pytest.raises(InvalidProof, match="control id"):
        verify(run.proof, key, key.control_id[:4], good, FAST)
