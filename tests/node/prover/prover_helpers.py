"""Shared constants and records of the prover-role tests."""

from __future__ import annotations

from execution.programs import image_id_bytes_of_elf
from execution.state import Task, TaskStatus
from execution.zkproof.samples import fib_loop_program, program_elf

ELF = program_elf(fib_loop_program(5))
OTHER_ELF = program_elf(fib_loop_program(6))
PROFILE = "conjectured"
PROVER = b"\x77" * 20


def make_task(task_id: bytes, height: int = 3, elf: bytes = ELF, inp: bytes = b"") -> Task:
    return Task(
        task_id=task_id,
        image_id=image_id_bytes_of_elf(elf),
        submitter=b"\x11" * 20,
        input=inp,
        max_cycles=10_000,
        fee_per_cycle=1,
        escrow=10_000,
        status=TaskStatus.PENDING,
        submitted_height=height,
        deadline_height=height + 100,
    )
