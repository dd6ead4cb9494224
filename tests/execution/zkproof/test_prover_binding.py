"""The prover's address and the task id are part of the proven statement: a proof made for
prover X and task A verifies with X and A in its statement, and the same proof relabelled to
prover Y or task B is rejected."""

from __future__ import annotations

from dataclasses import replace

import pytest

from execution.zkproof import (
    NO_PROVER,
    NO_TASK,
    InvalidTaskProof,
    Statement,
    TaskProof,
    ZkProofError,
    prove,
    verify,
)
from execution.zkproof.samples import fib_loop_program, fib_loop_result
from execution.zkproof.worker import _parse, _request

X = bytes(range(1, 21))
Y = bytes(range(2, 22))
A = bytes(range(100, 132))
B = bytes(range(101, 133))
PROGRAM = fib_loop_program(3)


@pytest.fixture(scope="module")
def proof_for_x() -> TaskProof:
    return prove(PROGRAM, b"in", "conjectured", prover=X, task_id=A)


def test_proof_names_its_prover(proof_for_x: TaskProof) -> None:
    st = verify(proof_for_x.to_bytes(), PROGRAM)
    assert st.prover == X and st.task_id == A
    assert (st.exit_code, st.cycles) == fib_loop_result(3)
    assert st.describe()["prover"] == "0x" + X.hex()
    assert st.describe()["task_id"] == "0x" + A.hex()


def test_relabelled_prover_is_rejected(proof_for_x: TaskProof) -> None:
    data = proof_for_x.to_bytes()
    # The statement's bytes in the file: magic, u32 length, then the statement.
    st_bytes = proof_for_x.statement.to_bytes()
    assert data[12 : 12 + len(st_bytes)] == st_bytes
    assert st_bytes[72:92] == X  # documented position of the prover
    relabelled = data[: 12 + 72] + Y + data[12 + 92 :]
    assert TaskProof.from_bytes(relabelled).statement.prover == Y
    with pytest.raises(InvalidTaskProof, match="STARK"):
        verify(relabelled, PROGRAM)
    # Also no prover at all (the zero address, the default).
    unclaimed = TaskProof(
        replace(proof_for_x.statement, prover=NO_PROVER),
        PROGRAM,
        proof_for_x.stark,
        proof_for_x.input,
    )
    with pytest.raises(InvalidTaskProof, match="STARK"):
        verify(unclaimed, PROGRAM)


def test_relabelled_task_is_rejected(proof_for_x: TaskProof) -> None:
    data = proof_for_x.to_bytes()
    st_bytes = proof_for_x.statement.to_bytes()
    assert st_bytes[92:124] == A  # documented position of the task id, after the prover
    relabelled = data[: 12 + 92] + B + data[12 + 124 :]
    assert TaskProof.from_bytes(relabelled).statement.task_id == B
    with pytest.raises(InvalidTaskProof, match="STARK"):
        verify(relabelled, PROGRAM)
    for task_id in (NO_TASK, B):
        other = TaskProof(
            replace(proof_for_x.statement, task_id=task_id),
            PROGRAM,
            proof_for_x.stark,
            proof_for_x.input,
        )
        with pytest.raises(InvalidTaskProof, match="STARK"):
            verify(other, PROGRAM)


def test_statement_layout_and_prover_length() -> None:
    st = Statement(b"\x01" * 32, b"\x02" * 32, b"", 7, 9, "conjectured", X, A)
    data = st.to_bytes()
    assert data[:8] == b"IVCSTM03" and data[72:92] == X and data[92:124] == A
    assert Statement.from_bytes(data) == st
    assert Statement.from_bytes(replace(st, task_id=NO_TASK).to_bytes()).task_id == NO_TASK
    with pytest.raises(InvalidTaskProof):
        Statement.from_bytes(data[:100])  # truncated inside the fixed part
    with pytest.raises(InvalidTaskProof):
        replace(st, prover=b"\x01" * 19).to_bytes()
    with pytest.raises(InvalidTaskProof):
        replace(st, task_id=b"\x01" * 31).to_bytes()
    with pytest.raises(ZkProofError, match="20 bytes"):
        prove(PROGRAM, b"", prover=b"\x01" * 19)
    with pytest.raises(ZkProofError, match="32 bytes"):
        prove(PROGRAM, b"", task_id=b"\x01" * 31)


def test_worker_request_carries_the_prover_and_task() -> None:
    program, input_bytes, profile, prover, task = _parse(_request(PROGRAM, b"abc", "proven", X, A))
    assert (input_bytes, profile, prover, task) == (b"abc", "proven", X, A)
    assert list(program.rom) == list(PROGRAM.rom)
    with pytest.raises(ZkProofError):
        _parse(_request(PROGRAM, b"", "proven", X)[:20])
