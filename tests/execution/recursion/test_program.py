"""The program format: its rules, encoding and control id."""

from __future__ import annotations

import numpy as np
import pytest

from execution.recursion.program import Instruction, Op, Program, ProgramError


def _tiny() -> Program:
    return Program(
        num_inputs=1,
        num_cells=4,
        instructions=[
            Instruction(Op.INPUT, (0,), (), (0,)),
            Instruction(Op.CONST, (1,), (), (5, 0, 0, 0)),
            Instruction(Op.MUL, (2,), (0, 1)),
            Instruction(Op.BITS, (3,), (1,), (1,)),
            Instruction(Op.OUTPUT, (), (2,)),
        ],
    )


def test_valid_program_checks_and_counts() -> None:
    prog = _tiny()
    prog.check()
    assert prog.counts() == {"BITS": 1, "CONST": 1, "INPUT": 1, "MUL": 1, "OUTPUT": 1}
    assert prog.outputs() == [2]
    assert prog.control_id().shape == (8,)


def test_control_id_binds_every_operand() -> None:
    base = _tiny()
    other = _tiny()
    other.instructions[1] = Instruction(Op.CONST, (1,), (), (6, 0, 0, 0))
    assert (base.control_id() != other.control_id()).any()
    # Notes are debugging text, not part of the program.
    noted = _tiny()
    noted.instructions[2] = Instruction(Op.MUL, (2,), (0, 1), note="x")
    assert (base.control_id() == noted.control_id()).all()


def test_decode_inverts_encode_and_refuses_malformed_words() -> None:
    prog = _tiny()
    words = prog.encode()
    assert Program.decode(words) == prog
    for bad in (
        words[:-1],  # cut inside the last instruction
        np.concatenate([words, [0]]),  # a word after the last
        np.concatenate([[2], words[1:]]),  # another version
        np.concatenate([words[:4], [99], words[5:]]),  # no such opcode
        words[:3],  # no header
        words.reshape(1, -1),  # not a flat list of words
    ):
        with pytest.raises(ProgramError):
            Program.decode(bad)


@pytest.mark.parametrize(
    "bad",
    [
        Instruction(Op.ADD, (4,), (0, 9)),  # reads an unwritten cell
        Instruction(Op.ADD, (7,), (0, 1)),  # skips cells
        Instruction(Op.ADD, (4,), (0,)),  # wrong arity
        Instruction(Op.BITS, (4,), (0,), (32,)),  # too many bits
        Instruction(Op.INPUT, (4,), (), (1,)),  # input out of range
    ],
)
def test_format_rules_are_enforced(bad: Instruction) -> None:
    prog = _tiny()
    prog.instructions.append(bad)
    prog.num_cells = 5
    with pytest.raises(ProgramError):
        prog.check()
