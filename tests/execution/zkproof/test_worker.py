"""Proving off the event loop: a child process, killed when the caller is cancelled."""

from __future__ import annotations

import psutil
import pytest
import trio

from execution.zkproof import ZkProofError, prove_async, verify
from execution.zkproof.samples import fib_loop_program, fib_loop_result


@pytest.mark.slow
async def test_prove_async_verifies_and_keeps_the_loop_responsive() -> None:
    program = fib_loop_program(4)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await trio.sleep(0.05)
            ticks += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        proof = await prove_async(program, prover=b"\x42" * 20, task_id=b"\x07" * 32)
        nursery.cancel_scope.cancel()
    assert (verify(proof.to_bytes(), program).exit_code, proof.statement.cycles) == fib_loop_result(
        4
    )
    # carried through the worker protocol
    assert (proof.statement.prover, proof.statement.task_id) == (b"\x42" * 20, b"\x07" * 32)
    assert ticks > 5  # the event loop kept running while the child proved


async def test_cancelling_kills_the_prover_process() -> None:
    program = fib_loop_program(100_000)  # about 900k cycles: minutes of proving
    me = psutil.Process()
    with trio.move_on_after(3):
        await prove_async(program)
    await trio.sleep(0.5)
    workers = [
        p
        for p in me.children(recursive=True)
        if "execution.zkproof.worker" in " ".join(p.cmdline())
    ]
    assert workers == []


async def test_expected_failures_come_back_typed() -> None:
    program = fib_loop_program((1 << 20) // 9 + 1)  # one proof covers at most 2^20 cycles
    with pytest.raises(ZkProofError, match="cycles; one proof covers at most"):
        await prove_async(program)
