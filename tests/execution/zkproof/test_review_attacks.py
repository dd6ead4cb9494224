"""Attack review of the byte-memory, signed-division and IO chips: forged traces proven by the
honest prover (its constraint check off where it catches them), each of which the verifier
must reject. A finding that was fixed keeps its attack here as the regression test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from zkproof_cases import Honest

from execution.stark.lanes import P
from execution.stark.params import profile
from execution.zkproof import (
    InvalidTaskProof,
    Statement,
    TaskProof,
    ZkProofError,
    airs_for,
    build_traces,
    prove_traces,
    traces_for_run,
    verify,
)
from execution.zkproof.air import cpu_col
from execution.zkproof.tracegen import ZkvmTraces
from execution.zkproof.tracegen_io import io_plan
from execution.zkvm import asm
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program, RamSegment
from execution.zkvm.syscalls import SYS_HALT, SYS_WRITE_OUTPUT
from execution.zkvm.trace import ExecutionTrace

PARAMS = profile("conjectured")
RAM = DEFAULT_LAYOUT.ram_base
SECRET = b"PAID"  # an image RAM word the program never outputs


def _program(words: list[int], ram: tuple[RamSegment, ...] = ()) -> Program:
    return Program(DEFAULT_LAYOUT, DEFAULT_LAYOUT.rom_base, np.array(words, np.uint32), ram)


def _halt(code: int) -> list[int]:
    return [*asm.li(10, code), *asm.li(17, SYS_HALT), asm.ECALL_WORD]


def _honest(program: Program, data: bytes) -> tuple[ExecutionTrace, Statement]:
    trace, st, _, _ = traces_for_run(program, data)
    return trace, replace(st, profile=PARAMS.name)


def _traces_with_io_of(
    program: Program, data: bytes, output: bytes, trace: ExecutionTrace, io_trace: ExecutionTrace
) -> ZkvmTraces:
    """AIR traces of `trace` whose IO chip, memory argument and lookups follow `io_trace`'s
    syscall and io logs (the CPU table stays `trace`'s)."""
    airs = airs_for(program, data, output)
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    mp = pytest.MonkeyPatch()
    # build_traces plans the IO chip from the trace it is given; plan it from io_trace.
    mp.setattr("execution.zkproof.tracegen.io_plan", lambda p, _t: io_plan(p, io_trace))
    try:
        return build_traces(program, table, trace)
    finally:
        mp.undo()


def _prove_unchecked(program: Program, data: bytes, traces: ZkvmTraces, st: Statement) -> TaskProof:
    airs = airs_for(program, data, st.output)
    # The honest prover's own check must catch the forgery...
    with pytest.raises(ZkProofError):
        prove_traces(airs, traces, st, program, PARAMS)
    # ...and a proof made without it must not verify.
    return prove_traces(airs, traces, st, program, PARAMS, check=False)


def _rejects(proof: TaskProof, program: Program) -> InvalidTaskProof:
    with pytest.raises(InvalidTaskProof) as exc:
        verify(proof.to_bytes(), program)
    return exc.value


# -- finding 1 (fixed): a syscall sent from a CPU padding row ------------------------------


def _padding_ecall_row(cpu: np.ndarray, row: int, num: int, a0: int, a1: int, ret: int) -> None:
    """Turn padding row `row` into a syscall sender: is_ecall with a7 = num read on port 1
    (c = a7 - 0, so is_eq = 0 and is_halt = 0), a0/a1/new a0 in the message. Padding rows
    write no register, so the register argument never sees it."""
    assert cpu[row, cpu_col("is_real")] == 0
    for name, value in {
        "is_ecall": 1,
        "use_imm": 1,
        "a0": num,
        "c0": num,
        "is_eq": 0,
        "eq_inv": pow(num, P - 2, P),
        "p0": a0 & 0xFFFF,
        "p1": a0 >> 16,
        "b0": a1 & 0xFFFF,
        "b1": a1 >> 16,
        "w0": ret & 0xFFFF,
        "w1": ret >> 16,
    }.items():
        cpu[row, cpu_col(name)] = value


def test_write_output_after_the_halt_from_a_padding_row_is_rejected() -> None:
    # The program outputs nothing and halts with 0. The forged proof claims the output
    # "PAID" (an image word it never writes): a CPU padding row after the halt sends a
    # write_output message, and the IO chip gets a matching block at that padding clk whose
    # word access reads the image word at time clk + 1 (after every real access). Before
    # the fix (`(1 - is_real) is_ecall = 0`) the honest prover's check passed this trace and
    # the verifier accepted the statement.
    program = _program(_halt(0), (RamSegment(RAM, SECRET),))
    trace, st = _honest(program, b"")
    assert st.output == b""
    n = len(trace)
    fake_call = np.array([[n], [SYS_WRITE_OUTPUT], [RAM], [len(SECRET)], [RAM]], np.uint32)
    fake_io = np.array(
        [[n] * len(SECRET), [RAM + i for i in range(len(SECRET))], list(SECRET), [1] * 4],
        np.uint32,
    )
    io_trace = ExecutionTrace(
        trace.steps,
        np.concatenate([trace.io, fake_io], axis=1),
        np.concatenate([trace.syscalls, fake_call], axis=1),
        trace.final_ram,
    )
    traces = _traces_with_io_of(program, b"", SECRET, trace, io_trace)
    cpu = traces.cpu.copy()
    _padding_ecall_row(cpu, n, SYS_WRITE_OUTPUT, RAM, len(SECRET), RAM)
    forged = replace(st, output=SECRET)
    proof = _prove_unchecked(program, b"", replace(traces, cpu=cpu), forged)
    assert "zkvm_cpu" in _rejects(proof, program).reason


# -- statement fields outside their ranges (no finding: the verifier's range checks) -------


@pytest.mark.parametrize(
    "cycles", [lambda c: c + P, lambda c: c + (1 << 32), lambda c: 0], ids=["+p", "+2^32", "0"]
)
def test_cycles_aliasing_the_public_value_is_rejected(
    honest: Honest, cycles: Callable[[int], int]
) -> None:
    # The public value is a field element: cycles + p (a u64 in the statement) would be the
    # same element if it were reduced; the verifier bounds cycles to 1..2^20 first.
    st = honest.proof.statement
    relabelled = replace(honest.proof, statement=replace(st, cycles=cycles(st.cycles)))
    assert "cycle" in _rejects(relabelled, honest.program).reason
