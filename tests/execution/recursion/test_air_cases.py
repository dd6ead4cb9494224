"""Shared builders for the recursion AIR tests: small hand-built programs and a trace forger.

(No tests here; the name keeps it within the recursion AIR's test files.)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.recursion.program import Instruction, Op, Program
from execution.recursion.prove import RecursionKey
from execution.recursion.tracegen import execute, fill
from execution.stark.params import FriParams

FAST = FriParams(name="test-fast", log_blowup=2, num_queries=6, pow_bits=2)
U32 = npt.NDArray[np.uint32]
Cell = tuple[int, int, int, int]


def every_op_program() -> tuple[Program, list[int]]:
    """A program using every opcode once or more, and its inputs."""
    ins = [
        Instruction(Op.INPUT, (0,), (), (0,)),  # 0: x
        Instruction(Op.INPUT, (1,), (), (1,)),  # 1: y
        Instruction(Op.CONST, (2,), (), (3, 1, 4, 1)),  # 2: an extension constant
        Instruction(Op.ADD, (3,), (0, 1)),  # 3 = x + y
        Instruction(Op.MUL, (4,), (3, 2)),  # 4 = (x + y) * c
        Instruction(Op.SUB, (5,), (4, 0)),  # 5
        Instruction(Op.INV, (6,), (5,)),  # 6 = 1 / cell 5
        Instruction(Op.MUL, (7,), (5, 6)),  # 7 = 1
        Instruction(Op.CONST, (8,), (), (1, 0, 0, 0)),  # 8 = 1
        Instruction(Op.ASSERT_EQ, (), (7, 8)),
        Instruction(
            Op.POSEIDON2, tuple(range(9, 25)), (0, 1, 8, 8, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1)
        ),
        Instruction(Op.BITS, tuple(range(25, 28)), (8,), (3,)),  # bits of 1: 1, 0, 0
        Instruction(Op.BITS, tuple(range(28, 59)), (9,), (31,)),  # canonical bits of a hash
        Instruction(Op.SELECT, (59,), (25, 4, 3)),  # bit 1 -> cell 4
        Instruction(Op.SELECT, (60,), (26, 4, 3)),  # bit 0 -> cell 3
        Instruction(Op.OUTPUT, (), (59,)),
        Instruction(Op.OUTPUT, (), (60,)),
        Instruction(Op.OUTPUT, (), (9,)),
    ]
    return Program(num_inputs=2, num_cells=61, instructions=ins), [5, 7]


def const_add_program(c: int = 3) -> tuple[Program, list[int]]:
    """z = CONST c + INPUT 0, exposed."""
    ins = [
        Instruction(Op.CONST, (0,), (), (c, 0, 0, 0)),
        Instruction(Op.INPUT, (1,), (), (0,)),
        Instruction(Op.ADD, (2,), (0, 1)),
        Instruction(Op.OUTPUT, (), (2,)),
    ]
    return Program(num_inputs=1, num_cells=3, instructions=ins), [10]


def poseidon2_program() -> tuple[Program, list[int]]:
    """The permutation of 16 input words; its first two output words exposed."""
    ins = [Instruction(Op.INPUT, (i,), (), (i,)) for i in range(16)]
    ins.append(Instruction(Op.POSEIDON2, tuple(range(16, 32)), tuple(range(16))))
    ins += [Instruction(Op.OUTPUT, (), (16,)), Instruction(Op.OUTPUT, (), (17,))]
    return Program(num_inputs=16, num_cells=32, instructions=ins), list(range(100, 116))


def bits_program(nbits: int, value: int) -> tuple[Program, list[int]]:
    """BITS of INPUT 0 with every bit exposed."""
    ins = [
        Instruction(Op.INPUT, (0,), (), (0,)),
        Instruction(Op.BITS, tuple(range(1, 1 + nbits)), (0,), (nbits,)),
    ]
    ins += [Instruction(Op.OUTPUT, (), (1 + i,)) for i in range(nbits)]
    return Program(num_inputs=1, num_cells=1 + nbits, instructions=ins), [value]


def forged_cells(program: Program, inputs: list[int], index: int, values: list[Cell]) -> U32:
    """Cells of a run in which instruction `index` wrote `values` instead of its results, every
    later instruction computing honestly from them."""
    x = program.instructions[index]
    consts = [Instruction(Op.CONST, (d,), (), v) for d, v in zip(x.outs, values, strict=True)]
    ins = program.instructions[:index] + consts + program.instructions[index + 1 :]
    return execute(Program(program.num_inputs, program.num_cells, ins), inputs)


def forge(
    key: RecursionKey, inputs: list[int], index: int, values: list[Cell]
) -> tuple[list[U32], list[list[int]]]:
    """Traces of a run where instruction `index` wrote `values` (filled from forged cells)."""
    cells = forged_cells(key.layout.program, inputs, index, values)
    return fill(key.layout, cells)


def row_of(key: RecursionKey, table: str, index: int) -> tuple[int, int]:
    """(table position in the proof, row) of instruction `index`."""
    rows = key.layout.rows[table]
    return key.shape.tables().index(table), int(np.flatnonzero(rows == index)[0])


def merkle_step_program(index: int) -> tuple[Program, list[int]]:
    """One Merkle step as the recorder emits it: node n and sibling s (inputs), bit 0 of the
    index orders them by 16 SELECTs, POSEIDON2 of the ordered pair; the output half exposed."""
    ins = [Instruction(Op.INPUT, (i,), (), (i,)) for i in range(17)]  # n 0..7, s 8..15, index
    ins.append(Instruction(Op.BITS, (17, 18), (16,), (2,)))
    c = 17
    ins += [Instruction(Op.SELECT, (19 + i,), (c, 8 + i, i)) for i in range(8)]  # left
    ins += [Instruction(Op.SELECT, (27 + i,), (c, i, 8 + i)) for i in range(8)]  # right
    ins.append(Instruction(Op.POSEIDON2, tuple(range(35, 51)), tuple(range(19, 35))))
    ins += [Instruction(Op.OUTPUT, (), (35 + i,)) for i in range(8)]
    words = [1000 + i for i in range(16)] + [index]
    return Program(num_inputs=17, num_cells=51, instructions=ins), words
