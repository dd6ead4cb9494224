"""Soundness by attack: false statements, swapped programs, forged traces, flipped bytes.

Forged traces are built by a test-only mutator on the executor's trace (or on the AIR trace),
then proven by the honest prover with its constraint check turned off; the verifier must reject
every such proof.
"""

from __future__ import annotations

import os
import random
import struct
import sys
from dataclasses import replace

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from zkproof_cases import INPUT, Honest

from execution.stark.params import profile
from execution.zkproof import (
    InvalidTaskProof,
    Statement,
    TaskProof,
    ZkProofError,
    build_traces,
    prove_traces,
    traces_for_run,
    verify,
)
from execution.zkproof.air import (
    bit_col,
    boundary_col,
    cpu_col,
    div_col,
    lt_col,
    mem_col,
    mul_col,
    shift_col,
)
from execution.zkproof.samples import (
    bitwise_program,
    div_program,
    fib_loop_program,
    memory_program,
    mul_program,
    signed_compare_program,
)
from execution.zkproof.task import program_to_bytes
from execution.zkvm import decoder as D
from execution.zkvm import image_id_hex
from execution.zkvm.program import Program
from execution.zkvm.trace import ExecutionTrace

PARAMS = profile("conjectured")


def _rejects(proof: TaskProof | bytes, program: Program) -> InvalidTaskProof:
    with pytest.raises(InvalidTaskProof) as exc:
        verify(proof, program)
    return exc.value


def _with_statement(h: Honest, **changes: object) -> TaskProof:
    st = replace(h.proof.statement, **changes)  # type: ignore[arg-type]
    return TaskProof(st, h.proof.program, h.proof.stark, h.proof.input)


# -- claimed statements that differ from the run ------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"exit_code": 1},
        {"cycles": 192},
        {"cycles": 194},
        {"output": b"\x01"},
        {"input_digest": b"\x00" * 32},
        {"profile": "proven"},
        {"prover": b"\x01" * 20},
        {"task_id": b"\x01" * 32},
    ],
    ids=["exit_code", "cycles-1", "cycles+1", "output", "input", "profile", "prover", "task"],
)
def test_relabelled_statement_is_rejected(honest: Honest, changes: dict[str, object]) -> None:
    _rejects(_with_statement(honest, **changes), honest.program)


def _forge_statement(h: Honest, **changes: object) -> TaskProof:
    """Prove the honest traces under a false statement (public values) without the check."""
    _, st, traces, airs = traces_for_run(h.program, INPUT)
    false_st = replace(st, profile=PARAMS.name, **changes)  # type: ignore[arg-type]
    return prove_traces(airs, traces, false_st, h.program, PARAMS, check=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    "changes", [{"exit_code": 7}, {"cycles": 192}], ids=["exit_code", "cycles"]
)
def test_proof_of_a_false_statement_is_rejected(honest: Honest, changes: dict[str, object]) -> None:
    _rejects(_forge_statement(honest, **changes), honest.program)


# -- program A's proof presented for program B ----------------------------------------------


def test_proof_for_another_program_is_rejected(honest: Honest) -> None:
    other = fib_loop_program(21)
    err = _rejects(honest.data, other)
    assert "image id" in err.reason
    # Swap in B's program and image id: the STARK proof was made over A's program table.
    st = replace(honest.proof.statement, image_id=bytes.fromhex(image_id_hex(other)))
    err = _rejects(TaskProof(st, other, honest.proof.stark, honest.proof.input), other)
    assert "STARK" in err.reason


# -- forged execution traces ----------------------------------------------------------------


def _run(h: Honest) -> tuple[ExecutionTrace, Statement]:
    trace, st, _, _ = traces_for_run(h.program, INPUT)
    return trace, replace(st, profile=PARAMS.name)


def _ops(h: Honest, trace: ExecutionTrace) -> np.ndarray:
    idx = (trace.pc.astype(np.int64) - h.program.layout.rom_base) // 4
    return h.program.decoded.op[idx]


def _prove_forged(h: Honest, trace: ExecutionTrace, st: Statement) -> TaskProof:
    _, _, _, airs = traces_for_run(h.program, INPUT)
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    traces = build_traces(h.program, table, trace)
    # The honest prover's own check must catch the forgery...
    with pytest.raises(ZkProofError):
        prove_traces(airs, traces, st, h.program, PARAMS)
    # ...and a proof made without the check must not verify.
    return prove_traces(airs, traces, st, h.program, PARAMS, check=False)


def _mutated(
    trace: ExecutionTrace, steps: np.ndarray, syscalls: np.ndarray | None = None
) -> ExecutionTrace:
    return ExecutionTrace(
        steps=steps,
        io=trace.io,
        syscalls=trace.syscalls if syscalls is None else syscalls,
        final_ram=trace.final_ram,
    )


def test_wrong_alu_result_is_rejected(honest: Honest) -> None:
    trace, st = _run(honest)
    steps = trace.steps.copy()
    i = int(np.nonzero(_ops(honest, trace) == D.ADD)[0][3])
    steps[4, i] += 1  # the ADD writes its sum plus one
    _rejects(_prove_forged(honest, _mutated(trace, steps), st), honest.program)


@pytest.mark.slow
def test_wrong_register_write_read_back_is_rejected(honest: Honest) -> None:
    # The forged value is also what the next instruction reads: the ADDI after the call copies
    # x8, so the register bus is consistent and only the write rule can catch it.
    trace, st = _run(honest)
    steps = trace.steps.copy()
    ops = _ops(honest, trace)
    i = int(np.nonzero(ops == D.ADD)[0][2])
    steps[4, i] ^= 0x10000
    j = i + 2  # JALR, then ADDI x7, x8, 0 reads x8
    assert ops[j] == D.ADDI
    steps[2, j] ^= 0x10000
    steps[4, j] ^= 0x10000
    _rejects(_prove_forged(honest, _mutated(trace, steps), st), honest.program)


@pytest.mark.slow
def test_skipped_instruction_is_rejected(honest: Honest) -> None:
    trace, st = _run(honest)
    i = 40
    steps = np.delete(trace.steps, i, axis=1)
    sc = trace.syscalls.copy()
    sc[0] = np.where(sc[0] > i, sc[0] - 1, sc[0])
    st = replace(st, cycles=st.cycles - 1)
    _rejects(_prove_forged(honest, _mutated(trace, steps, sc), st), honest.program)


@pytest.mark.slow
def test_forged_halt_exit_code_is_rejected(honest: Honest) -> None:
    trace, st = _run(honest)
    sc = trace.syscalls.copy()
    sc[2, -1] = sc[4, -1] = 12345  # the executor "saw" a0 = 12345 at the halt
    st = replace(st, exit_code=12345)
    _rejects(_prove_forged(honest, _mutated(trace, trace.steps, sc), st), honest.program)


@pytest.mark.slow
def test_forged_air_trace_with_wrong_carry_is_rejected(honest: Honest) -> None:
    _, st, traces, airs = traces_for_run(honest.program, INPUT)
    st = replace(st, profile=PARAMS.name)
    cpu = traces.cpu.copy()
    row = int(np.nonzero(cpu[:, cpu_col("is_add")])[0][0])
    cpu[row, cpu_col("cy0")] ^= 1
    forged = replace(traces, cpu=cpu)
    proof = prove_traces(airs, forged, st, honest.program, PARAMS, check=False)
    _rejects(proof, honest.program)


# -- flipped bytes --------------------------------------------------------------------------


def _spans(h: Honest) -> list[tuple[str, int, int]]:
    """(field, start, end) over the whole task-proof file."""
    st = h.proof.statement.to_bytes()
    prog = program_to_bytes(h.proof.program)
    spans = [("magic", 0, 8)]
    pos = 8 + 4
    for name, a, b in (
        ("statement.image_id", 8, 40),
        ("statement.input_digest", 40, 72),
        ("statement.prover", 72, 92),
        ("statement.task_id", 92, 124),
        ("statement.exit_code", 124, 128),
        ("statement.cycles", 128, 136),
        ("statement.profile", 136, len(st)),
    ):
        spans.append((name, pos + a, pos + b))
    pos += len(st) + 4
    spans.append(("program", pos, pos + len(prog)))
    pos += len(prog) + 4
    for name, a, b in h.proof.stark.layout():
        spans.append((f"stark.{name}", pos + a, pos + b))
    pos += h.proof.stark.size() + 4
    spans.append(("input", pos, pos + len(h.proof.input)))
    assert pos + len(h.proof.input) == len(h.data)
    return spans


def _flip_each(h: Honest, spans: list[tuple[str, int, int]]) -> None:
    rng = random.Random(5)
    for name, a, b in spans:
        if b <= a:
            continue
        data = bytearray(h.data)
        k = rng.randrange(a, b)
        data[k] ^= 1 << rng.randrange(8)
        with pytest.raises(InvalidTaskProof):
            verify(bytes(data), h.program)
        _ = name


def test_flipped_bytes_in_sampled_fields_are_rejected(honest: Honest) -> None:
    spans = _spans(honest)
    rng = random.Random(11)
    _flip_each(honest, spans[:8] + rng.sample(spans[8:], 10))


@pytest.mark.slow
def test_flipped_byte_in_every_field_is_rejected(honest: Honest) -> None:
    _flip_each(honest, _spans(honest))


def test_truncated_and_extended_files_are_rejected(honest: Honest) -> None:
    for data in (honest.data[:-1], honest.data + b"\x00", honest.data[:100], b""):
        _rejects(data, honest.program)
    bad_len = honest.data[:8] + struct.pack("<I", 1 << 30) + honest.data[12:]
    _rejects(bad_len, honest.program)


@pytest.mark.slow
def test_forged_signed_compare_is_rejected() -> None:
    # Flip a <s b in the CPU row of a BLT and in its chip row alike: the chip's sign rule and
    # the CPU's next-pc rule no longer hold.
    program = signed_compare_program()
    _, st, traces, airs = traces_for_run(program, b"")
    st = replace(st, profile=PARAMS.name)
    cpu, chip = traces.cpu.copy(), traces.lt.copy()
    row = int(np.nonzero(cpu[:, cpu_col("is_blt")])[0][0])
    chip_row = int(
        np.nonzero(
            cpu[:row, cpu_col("is_slt")]
            + cpu[:row, cpu_col("is_blt")]
            + cpu[:row, cpu_col("is_bge")]
        )[0].size
    )
    assert chip[chip_row, lt_col("lt")] == cpu[row, cpu_col("lt")]
    cpu[row, cpu_col("lt")] ^= 1
    chip[chip_row, lt_col("lt")] ^= 1
    forged = replace(traces, cpu=cpu, lt=chip)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    with pytest.raises(InvalidTaskProof):
        verify(prove_traces(airs, forged, st, program, PARAMS, check=False), program)


def _memory_case() -> tuple[Program, Statement, ExecutionTrace]:
    program = memory_program()
    trace, st, _, _ = traces_for_run(program, b"")
    return program, replace(st, profile=PARAMS.name), trace


@pytest.mark.slow
def test_wrong_memory_read_value_is_rejected() -> None:
    program, st, trace = _memory_case()
    idx = (trace.pc.astype(np.int64) - program.layout.rom_base) // 4
    i = int(np.nonzero(program.decoded.op[idx] == D.LW)[0][2])
    steps = trace.steps.copy()
    steps[4, i] += 5  # the load "returns" another value
    steps[6, i] += 5
    forged = _mutated(trace, steps)
    _, _, _, airs = traces_for_run(program, b"")
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    traces = build_traces(program, table, forged)
    with pytest.raises(ZkProofError):
        prove_traces(airs, traces, st, program, PARAMS)
    _rejects(prove_traces(airs, traces, st, program, PARAMS, check=False), program)


@pytest.mark.slow
@pytest.mark.parametrize("attack", ["not_image", "other_init"])
def test_forged_initial_memory_is_rejected(attack: str) -> None:
    # Claim an image word starts as 0 (not from the image), or with another value that the
    # first load then reads consistently: the image table's send finds no matching receive.
    program, st, _ = _memory_case()
    _, _, traces, airs = traces_for_run(program, b"")
    bnd, mem = traces.boundary.copy(), traces.mem.copy()
    row = int(np.nonzero(bnd[:, boundary_col("is_img")])[0][0])
    word = int(bnd[row, boundary_col("word")])
    if attack == "not_image":
        bnd[row, boundary_col("is_img")] = 0
        bnd[row, boundary_col("i0")] = 0
        bnd[row, boundary_col("i1")] = 0
    else:
        bnd[row, boundary_col("i0")] ^= 1
    first = int(np.nonzero((mem[:, mem_col("q")] + (1 << 14) * mem[:, mem_col("h")]) == word)[0][0])
    new_lo = int(bnd[row, boundary_col("i0")])
    new_hi = int(bnd[row, boundary_col("i1")])
    mem[first, mem_col("p0")], mem[first, mem_col("p1")] = new_lo, new_hi
    forged = replace(traces, boundary=bnd, mem=mem)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    _rejects(prove_traces(airs, forged, st, program, PARAMS, check=False), program)


@pytest.mark.slow
def test_forged_bitwise_result_is_rejected() -> None:
    # Change one result byte of an XOR consistently in the CPU row (c0) and the chip row: the
    # byte table has no row (x, y, and, or, xor') for it.
    program = bitwise_program()
    _, st, traces, airs = traces_for_run(program, b"")
    st = replace(st, profile=PARAMS.name)
    cpu, chip = traces.cpu.copy(), traces.bitwise.copy()
    row = int(np.nonzero(cpu[:, cpu_col("is_xor")])[0][0])
    flags = (
        cpu[:row, cpu_col("is_and")] + cpu[:row, cpu_col("is_or")] + cpu[:row, cpu_col("is_xor")]
    )
    chip_row = int(np.count_nonzero(flags))
    assert chip[chip_row, bit_col("is_xor")] == 1
    cpu[row, cpu_col("c0")] ^= 1
    cpu[row, cpu_col("w0")] ^= 1
    chip[chip_row, bit_col("xor0")] ^= 1
    forged = replace(traces, cpu=cpu, bitwise=chip)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    _rejects(prove_traces(airs, forged, st, program, PARAMS, check=False), program)


@pytest.mark.slow
def test_forged_product_is_rejected() -> None:
    # A MUL whose low result byte is off by one in both the CPU row and the chip row.
    program = mul_program()
    _, st, traces, airs = traces_for_run(program, b"")
    st = replace(st, profile=PARAMS.name)
    cpu, chip = traces.cpu.copy(), traces.mul.copy()
    row = int(np.nonzero(cpu[:, cpu_col("is_mul")])[0][0])
    assert chip[0, mul_col("r0")] == cpu[row, cpu_col("c0")] & 0xFF
    delta = 1 if chip[0, mul_col("r0")] < 255 else -1
    for m, r, name in (
        (cpu, row, cpu_col("c0")),
        (cpu, row, cpu_col("w0")),
        (chip, 0, mul_col("r0")),
    ):
        m[r, name] = int(m[r, name]) + delta
    forged = replace(traces, cpu=cpu, mul=chip)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    _rejects(prove_traces(airs, forged, st, program, PARAMS, check=False), program)


@pytest.mark.slow
def test_forged_sign_bit_of_a_signed_multiplication_is_rejected() -> None:
    # Claim a negative operand of MULH is non-negative (top bit 0, "rest" = the whole byte).
    program = mul_program()
    _, st, traces, airs = traces_for_run(program, b"")
    st = replace(st, profile=PARAMS.name)
    chip = traces.mul.copy()
    rows = np.nonzero((chip[:, mul_col("is_h")] == 1) & (chip[:, mul_col("ta")] == 1))[0]
    row = int(rows[0])
    chip[row, mul_col("ta")] = 0
    chip[row, mul_col("ra")] = chip[row, mul_col("x3")]
    forged = replace(traces, mul=chip)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    _rejects(prove_traces(airs, forged, st, program, PARAMS, check=False), program)


def test_random_corruptions_raise_only_invalid_task_proof(honest: Honest) -> None:
    # Hostile bytes: whatever is wrong, the verifier answers with InvalidTaskProof, never with
    # another exception (a crash would be a denial of service for the node verifying it).
    rng = random.Random(2026)
    data = honest.data
    for trial in range(24):
        buf = bytearray(data)
        kind = trial % 3
        if kind == 0:
            for _ in range(rng.randrange(1, 8)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif kind == 1:
            del buf[rng.randrange(len(buf)) :]
        else:
            at = rng.randrange(len(buf))
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
        try:
            verify(bytes(buf), honest.program)
        except InvalidTaskProof:
            continue
        raise AssertionError(f"corruption {trial} was accepted")


@pytest.mark.slow
def test_forged_shift_amount_is_rejected() -> None:
    # Claim an SRL shifted by another amount: move the shift row to the neighbouring power
    # table row and its product consistently; b0 = s + 32 hi no longer holds.
    program = mul_program()
    _, st, traces, airs = traces_for_run(program, b"")
    st = replace(st, profile=PARAMS.name)
    chip = traces.shift.copy()
    rows = np.nonzero((chip[:, shift_col("is_srl")] == 1) & (chip[:, shift_col("s")] == 1))[0]
    row = int(rows[0])
    chip[row, shift_col("s")] = 2
    chip[row, shift_col("p_lo")] = 4
    chip[row, shift_col("q_lo")], chip[row, shift_col("q_hi")] = 0, 1 << 14
    forged = replace(traces, shift=chip)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    _rejects(prove_traces(airs, forged, st, program, PARAMS, check=False), program)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["quotient", "remainder_not_below_divisor"])
def test_forged_division_is_rejected(which: str) -> None:
    # 100 / 7: claim q = 15 (CPU and chip alike), or q = 13, r = 9 >= 7 (q b + r still = a).
    program = div_program()
    _, st, traces, airs = traces_for_run(program, b"")
    st = replace(st, profile=PARAMS.name)
    cpu, chip = traces.cpu.copy(), traces.div.copy()
    row = int(np.nonzero(cpu[:, cpu_col("is_divu")])[0][0])
    assert chip[0, div_col("q0")] == 14 and chip[0, div_col("r0")] == 2
    q, r = (15, 2) if which == "quotient" else (13, 9)
    for m, i, col, v in (
        (cpu, row, cpu_col("c0"), q),
        (cpu, row, cpu_col("w0"), q),
        (chip, 0, div_col("q0"), q),
        (chip, 0, div_col("r0"), r),
        (chip, 0, div_col("lo0"), 7 * q),
    ):
        m[i, col] = v
    forged = replace(traces, cpu=cpu, div=chip)
    with pytest.raises(ZkProofError):
        prove_traces(airs, forged, st, program, PARAMS)
    _rejects(prove_traces(airs, forged, st, program, PARAMS, check=False), program)
