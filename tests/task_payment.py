"""What every accepted Universal Proof (v0 or v1) must do to the state for the sample task
(the fib-loop guest on n = 5): the task proven with the executor's result, the prover paid
cycles x fee, the submitter refunded the rest of the escrow."""

from __future__ import annotations

from execution.chain import Chain
from execution.state import TaskStatus
from execution.zkproof.samples import fib_loop_result


def assert_proven_and_paid(
    chain: Chain,
    task_id: bytes,
    prover: bytes,
    submitter: bytes,
    fee_per_cycle: int,
    submitter_before: int,
) -> None:
    task = chain.state().task(task_id)
    exit_code, cycles = fib_loop_result(5)
    assert task is not None and task.status is TaskStatus.PROVEN
    assert (task.exit_code, task.cycles, task.prover, task.output) == (
        exit_code,
        cycles,
        prover,
        b"",
    )
    assert chain.state().account(prover).balance == cycles * fee_per_cycle
    assert (
        chain.state().account(submitter).balance
        == submitter_before + task.escrow - cycles * fee_per_cycle
    )
