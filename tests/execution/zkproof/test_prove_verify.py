"""Completeness: proven statements equal the executor's run; refusals are typed and named."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from zkproof_cases import INPUT, ITERATIONS, Honest

from execution.stark.lanes import P
from execution.zkproof import (
    CycleLimitError,
    InvalidTaskProof,
    Statement,
    TaskProof,
    prove,
    verify,
)
from execution.zkproof.isa import FETCH_FIELDS, PROGRAM_COLUMNS, program_table
from execution.zkproof.samples import (
    bitwise_program,
    bitwise_result,
    div_program,
    div_result,
    fib_loop_program,
    fib_loop_result,
    memory_program,
    memory_result,
    mul_program,
    mul_result,
    signed_compare_program,
    signed_compare_result,
    words_program,
)
from execution.zkproof.task import program_from_bytes, program_to_bytes
from execution.zkvm import asm, execute, image_id_hex


def test_honest_proof_verifies_with_the_executors_statement(honest: Honest) -> None:
    run = execute(honest.program, INPUT)
    st = verify(honest.data, image_id_hex(honest.program))
    assert (st.exit_code, st.cycles, st.output) == (run.exit_code, run.cycles, run.output)
    assert (st.exit_code, st.cycles) == fib_loop_result(ITERATIONS)
    assert st.profile == "conjectured"
    # The same verdict through every form of the expected image.
    assert verify(honest.proof, honest.program) == st
    assert verify(honest.data, bytes.fromhex(image_id_hex(honest.program))) == st


def test_task_proof_bytes_round_trip(honest: Honest) -> None:
    again = TaskProof.from_bytes(honest.data)
    assert again.to_bytes() == honest.data
    assert Statement.from_bytes(honest.proof.statement.to_bytes()) == honest.proof.statement
    prog = program_from_bytes(program_to_bytes(honest.program))
    assert image_id_hex(prog) == image_id_hex(honest.program)


def test_required_profile_is_enforced(honest: Honest) -> None:
    with pytest.raises(InvalidTaskProof, match="profile"):
        verify(honest.data, honest.program, profile="proven")


@pytest.mark.slow
def test_a_one_iteration_run_proves() -> None:
    prog = fib_loop_program(1)
    st = verify(prove(prog).to_bytes(), prog)
    assert (st.exit_code, st.cycles) == fib_loop_result(1)


def test_output_syscall_of_length_zero_proves() -> None:
    # write_output with length 0 (the IO chip's tests cover the rest: test_syscalls.py).
    words = [*asm.li(17, 2), *asm.li(10, 0x1000_0000), *asm.li(11, 0), asm.ECALL_WORD]
    prog = words_program([*words, *asm.halt()])
    assert verify(prove(prog), prog).output == b""


def test_too_long_run_is_refused() -> None:
    prog = fib_loop_program((1 << 20) // 9 + 1)
    with pytest.raises(CycleLimitError):
        prove(prog)


def test_unsupported_rom_words_are_unfetchable_rows() -> None:
    prog = words_program([asm.EBREAK_WORD, *asm.halt()])
    table = program_table(prog, P)
    assert table.shape[0] == 4
    valid = table[:, PROGRAM_COLUMNS.index("valid")]
    assert list(valid) == [0, 1, 1, 1]
    assert len(PROGRAM_COLUMNS) == len(FETCH_FIELDS) + 1
    assert np.all(table < P)


def test_signed_compares_prove_through_the_chip() -> None:
    prog = signed_compare_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == signed_compare_result()
    assert st.cycles == run.cycles


def test_loads_and_stores_prove_with_the_image_ram() -> None:
    prog = memory_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == memory_result()


def test_bitwise_ops_prove_through_the_byte_table() -> None:
    prog = bitwise_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == bitwise_result()


def test_multiplications_and_constant_shifts_prove_through_the_multiplication_chip() -> None:
    prog = mul_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == mul_result()


def test_unsigned_division_proves_including_division_by_zero() -> None:
    prog = div_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == div_result()
