"""Review findings on the program format (issue 8 attack review)."""

from __future__ import annotations

import pytest

from execution.recursion.program import Instruction, Op, Program, ProgramError


def test_an_input_word_is_read_by_one_input_instruction_only() -> None:
    # The interpreter gives two INPUTs of word 0 the same value, but the AIR does not bind an
    # INPUT row to its word index (memory init rows are free witnesses): a proof could expose
    # x != y for this program, whose meaning is x = y. So the format refuses the program.
    prog = Program(
        1,
        2,
        [
            Instruction(Op.INPUT, (0,), (), (0,)),
            Instruction(Op.INPUT, (1,), (), (0,)),
            Instruction(Op.OUTPUT, (), (0,)),
            Instruction(Op.OUTPUT, (), (1,)),
        ],
    )
    with pytest.raises(ProgramError, match="input word"):
        prog.check()
    Program(
        2,
        2,
        [Instruction(Op.INPUT, (0,), (), (0,)), Instruction(Op.INPUT, (1,), (), (1,))],
    ).check()
