"""read_input / write_output / log: completeness of the IO chip and attacks on it.

Forged runs are built by mutating the executor's trace (or the AIR traces) and proven by the
honest prover with its constraint check off; the verifier must reject every one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from execution.stark.params import profile
from execution.zkproof import (
    InvalidTaskProof,
    Statement,
    TaskProof,
    ZkProofError,
    airs_for,
    build_traces,
    prove,
    prove_traces,
    traces_for_run,
    verify,
)
from execution.zkproof.air import boundary_col, cpu_col
from execution.zkproof.air_io import io_col
from execution.zkproof.samples_io import (
    DEFAULT_LOGS,
    DEFAULT_READS,
    DEFAULT_WRITES,
    io_program,
    io_result,
)
from execution.zkproof.statement import INPUT_DOMAIN, bytes_digest
from execution.zkproof.task import MAX_INPUT_BYTES
from execution.zkproof.tracegen import ZkvmTraces
from execution.zkvm import asm
from execution.zkvm.errors import ExecutionError
from execution.zkvm.executor import execute
from execution.zkvm.image import image_id
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program
from execution.zkvm.syscalls import SYS_HALT, SYS_LOG, SYS_READ_INPUT, SYS_WRITE_OUTPUT
from execution.zkvm.trace import ExecutionTrace

PARAMS = profile("conjectured")
INPUT = bytes((7 * k + 3) & 0xFF for k in range(30))
RAM = DEFAULT_LAYOUT.ram_base


@dataclass(frozen=True)
class IoHonest:
    program: Program
    proof: TaskProof


@pytest.fixture(scope="module")
def io_honest() -> IoHonest:
    program = io_program()
    return IoHonest(program, prove(program, INPUT, "conjectured"))


def _rejects(proof: TaskProof | bytes, program: Program) -> InvalidTaskProof:
    with pytest.raises(InvalidTaskProof) as exc:
        verify(proof, program)
    return exc.value


def _call(num: int, a0: int, a1: int) -> list[int]:
    return [*asm.li(10, a0), *asm.li(11, a1), *asm.li(17, num), asm.ECALL_WORD]


def _words(words: list[int]) -> Program:
    return Program(DEFAULT_LAYOUT, DEFAULT_LAYOUT.rom_base, np.array(words, np.uint32), ())


def _run(program: Program, input_bytes: bytes) -> tuple[ExecutionTrace, Statement]:
    trace, st, _, _ = traces_for_run(program, input_bytes)
    return trace, replace(st, profile=PARAMS.name)


def _forged_trace(
    trace: ExecutionTrace,
    steps: np.ndarray | None = None,
    io: np.ndarray | None = None,
    syscalls: np.ndarray | None = None,
) -> ExecutionTrace:
    return ExecutionTrace(
        steps=trace.steps if steps is None else steps,
        io=trace.io if io is None else io,
        syscalls=trace.syscalls if syscalls is None else syscalls,
        final_ram=trace.final_ram,
    )


def _prove_forged(
    program: Program, input_bytes: bytes, trace: ExecutionTrace, st: Statement
) -> TaskProof:
    airs = airs_for(program, input_bytes, st.output)
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    traces = build_traces(program, table, trace)
    return _prove_air_forged(program, input_bytes, traces, st)


def _prove_air_forged(
    program: Program, input_bytes: bytes, traces: ZkvmTraces, st: Statement
) -> TaskProof:
    airs = airs_for(program, input_bytes, st.output)
    # The honest prover's own check must catch the forgery...
    with pytest.raises(ZkProofError):
        prove_traces(airs, traces, st, program, PARAMS)
    # ...and a proof made without the check must not verify.
    return prove_traces(airs, traces, st, program, PARAMS, check=False)


# -- completeness ---------------------------------------------------------------------------


def test_io_program_proves_with_the_executors_statement(io_honest: IoHonest) -> None:
    st = verify(io_honest.proof.to_bytes(), io_honest.program)
    run = execute(io_honest.program, INPUT)
    code, output = io_result(INPUT)
    assert (st.exit_code, st.output, st.cycles) == (run.exit_code, run.output, run.cycles)
    assert (st.exit_code, st.output) == (code, output)
    assert len(output) == 22 and code == len(INPUT)
    assert run.log == b"hello, log"


def test_io_rows_cover_each_word_once(io_honest: IoHonest) -> None:
    _, _, traces, _ = traces_for_run(io_honest.program, INPUT)
    io = traces.io.astype(np.int64)
    real = io[:, io_col("is_real")] == 1
    first = io[:, io_col("first")] == 1
    # 9 reads, 5 writes, 2 logs: one block each.
    assert int(first.sum()) == 16
    moved = io[real][:, [io_col(f"m{i}") for i in range(4)]].sum()
    assert moved == len(INPUT) + 22
    # One row per word a call touches (an empty call: one row without a word).
    expected, left = 0, len(INPUT)
    for off, length in DEFAULT_READS:
        n = min(length, left)
        left -= n
        expected += _rows(off, n)
    expected += sum(_rows(off, n) for off, n in DEFAULT_WRITES) + len(DEFAULT_LOGS)
    assert int(real.sum()) == expected


def _rows(off: int | None, n: int) -> int:
    if n == 0 or off is None:
        return 1
    start = RAM + 0x100 + off
    return (start + n - 1) // 4 - start // 4 + 1


@pytest.mark.parametrize(
    "input_bytes",
    [
        b"",
        pytest.param(b"\x01", marks=pytest.mark.slow),
        pytest.param(bytes(range(27)), marks=pytest.mark.slow),
    ],
    ids=["0", "1", "27"],
)
def test_short_inputs_prove(input_bytes: bytes) -> None:
    program = io_program()
    st = verify(prove(program, input_bytes), program)
    assert (st.exit_code, st.output) == io_result(input_bytes)


# -- relabelled statements and proof files ------------------------------------------------


@pytest.mark.parametrize(
    "change", ["byte", "longer", "shorter", "empty"], ids=lambda c: f"output-{c}"
)
def test_relabelled_output_is_rejected(io_honest: IoHonest, change: str) -> None:
    out = io_honest.proof.statement.output
    forged = {
        "byte": out[:3] + bytes([out[3] ^ 1]) + out[4:],
        "longer": out + b"\x00",
        "shorter": out[:-1],
        "empty": b"",
    }[change]
    st = replace(io_honest.proof.statement, output=forged)
    _rejects(replace(io_honest.proof, statement=st), io_honest.program)


def test_other_input_in_the_proof_file_is_rejected(io_honest: IoHonest) -> None:
    other = INPUT[:5] + bytes([INPUT[5] ^ 1]) + INPUT[6:]
    err = _rejects(replace(io_honest.proof, input=other), io_honest.program)
    assert "input digest" in err.reason
    # With the statement's digest relabelled too, the IO table differs from the proven one.
    st = replace(io_honest.proof.statement, input_digest=_digest(other))
    err = _rejects(replace(io_honest.proof, input=other, statement=st), io_honest.program)
    assert "STARK" in err.reason


def _digest(data: bytes) -> bytes:
    return bytes_digest(INPUT_DOMAIN, data)


# -- forged runs ----------------------------------------------------------------------------


def test_read_input_that_wrote_other_bytes_is_rejected(io_honest: IoHonest) -> None:
    # The run claims byte 12 of the buffer came from the input as x ^ 0x40: memory, the later
    # write_output and the claimed output all agree with that; only the input lookup fails.
    trace, st = _run(io_honest.program, INPUT)
    io = trace.io.copy()
    addr = RAM + 0x100 + 12
    hit = io[1] == addr
    assert hit.sum() == 2  # read by read_input, then by write_output
    io[2, hit] ^= 0x40
    out = bytearray(st.output)
    k = int(np.nonzero(io[1, io[3] == 1] == addr)[0][0])
    out[k] ^= 0x40
    forged = replace(st, output=bytes(out))
    proof = _prove_forged(io_honest.program, INPUT, _forged_trace(trace, io=io), forged)
    _rejects(proof, io_honest.program)


def _read_then_halt(length: int) -> Program:
    # read_input(RAM, length); halt with the count it returned.
    return _words([*_call(SYS_READ_INPUT, RAM, length), *asm.li(17, SYS_HALT), asm.ECALL_WORD])


def test_read_count_smaller_than_available_is_rejected() -> None:
    program, data = _read_then_halt(8), b"abcdefgh"
    trace, st = _run(program, data)
    assert st.exit_code == 8
    sc = trace.syscalls.copy()
    read = int(np.nonzero(sc[1] == SYS_READ_INPUT)[0][0])
    sc[4, read] = 4  # the call "returned" 4 of the 8 available bytes...
    sc[2, -1] = sc[4, -1] = 4  # ...so the halt's a0 (the exit code) is 4
    io = trace.io[:, :4].copy()  # and it moved only 4 bytes
    forged = replace(st, exit_code=4)
    proof = _prove_forged(program, data, _forged_trace(trace, io=io, syscalls=sc), forged)
    _rejects(proof, program)


@pytest.mark.slow
def test_write_output_whose_memory_bytes_differ_is_rejected(io_honest: IoHonest) -> None:
    # The IO chip row claims the word held the forged byte (old and new alike), matching the
    # claimed output; the memory argument holds the real byte.
    _, st, traces, _ = traces_for_run(io_honest.program, INPUT)
    st = replace(st, profile=PARAMS.name)
    io = traces.io.copy()
    rows = np.nonzero((io[:, io_col("is_write")] == 1) & (io[:, io_col("m0")] == 1))[0]
    row = int(rows[0])
    pos = int(io[row, io_col("spos")])
    for col in ("o0", "n0"):
        io[row, io_col(col)] ^= 1
    out = bytearray(st.output)
    out[pos] ^= 1
    forged = replace(st, output=bytes(out))
    proof = _prove_air_forged(io_honest.program, INPUT, replace(traces, io=io), forged)
    _rejects(proof, io_honest.program)


def _two_reads() -> Program:
    # read_input(RAM, 1); read_input(RAM + 4, 1); halt(0)
    words = [*_call(SYS_READ_INPUT, RAM, 1), *_call(SYS_READ_INPUT, RAM + 4, 1)]
    return _words([*words, *asm.li(10, 0), *asm.li(17, SYS_HALT), asm.ECALL_WORD])


@pytest.mark.slow
def test_skipped_input_byte_is_rejected() -> None:
    # The second read claims input position 2 (skipping position 1): its byte, the word it
    # writes, the word's final value and the IO table's multiplicities all follow the claim;
    # only the position chain breaks.
    program, data = _two_reads(), b"xyz"
    _, st, traces, _ = traces_for_run(program, data)
    st = replace(st, profile=PARAMS.name)
    io = traces.io.copy()
    second = int(np.nonzero(io[:, io_col("first")] == 1)[0][1])
    for col in ("in_pos", "spos"):
        io[second, io_col(col)] += 1
    io[second, io_col("n0")] = ord("z")
    io[second, io_col("off")] -= 1  # buffer offset - start position
    io[second + 1 :, io_col("in_pos")] += 1
    boundary = traces.boundary.copy()
    word_row = int(np.nonzero(boundary[:, boundary_col("word")] == 1)[0][0])
    boundary[word_row, boundary_col("f0")] = ord("z")
    table = np.zeros((4, 1), dtype=np.uint32)  # the IO table holds the 3 input bytes
    table[0, 0] = table[2, 0] = 1  # positions 0 and 2 consumed
    forged = replace(traces, io=io, boundary=boundary, io_table=table)
    _rejects(_prove_air_forged(program, data, forged, st), program)


@pytest.mark.slow
def test_write_output_claimed_as_log_is_rejected(io_honest: IoHonest) -> None:
    # Claiming a write as a log would drop its bytes from the output: the CPU still read
    # a7 = 2 from the register, so the register argument breaks.
    trace, st = _run(io_honest.program, INPUT)
    sc = trace.syscalls.copy()
    j = int(np.nonzero(sc[1] == SYS_WRITE_OUTPUT)[0][-1])
    sc[1, j] = SYS_LOG
    io = trace.io.copy()
    drop = (io[0] == sc[0, j]) & (io[3] == 1)
    n = int(drop.sum())
    io = io[:, ~drop]
    forged = replace(st, output=st.output[:-n])
    proof = _prove_forged(
        io_honest.program, INPUT, _forged_trace(trace, io=io, syscalls=sc), forged
    )
    _rejects(proof, io_honest.program)


@pytest.mark.slow
def test_syscall_number_changed_in_the_io_chip_is_rejected(io_honest: IoHonest) -> None:
    # The IO chip treats the last write as a log (its output bytes unconsumed, so the claimed
    # output can drop them); the CPU's syscall message still says 2.
    _, st, traces, _ = traces_for_run(io_honest.program, INPUT)
    st = replace(st, profile=PARAMS.name)
    io = traces.io.copy()
    writes = (io[:, io_col("first")] == 1) & (io[:, io_col("is_write")] == 1)
    block = int(np.nonzero(writes)[0][-1])  # (0, 4): one word
    io[block, io_col("is_write")], io[block, io_col("is_log")] = 0, 1
    io[block, io_col("rem")] = 0
    n = int(sum(io[block, io_col(f"m{i}")] for i in range(4)))
    for i in range(4):
        io[block, io_col(f"m{i}")] = 0
    io[block, io_col("off")] += io[block, io_col("spos")]  # a log's stream position is 0
    io[block, io_col("spos")] = 0
    io[block + 1 :, io_col("out_pos")] -= n
    forged = replace(st, output=st.output[:-n])
    _rejects(
        _prove_air_forged(io_honest.program, INPUT, replace(traces, io=io), forged),
        io_honest.program,
    )


@pytest.mark.parametrize("which", ["nonhalt-as-halt", "halt-as-nonhalt"])
@pytest.mark.slow
def test_halt_flag_flipped_is_rejected(which: str) -> None:
    program, data = _read_then_halt(8), b"abcdefgh"
    _, st, traces, _ = traces_for_run(program, data)
    st = replace(st, profile=PARAMS.name)
    cpu = traces.cpu.copy()
    ecalls = np.nonzero(cpu[:, cpu_col("is_ecall")] == 1)[0]
    row = int(ecalls[0] if which == "nonhalt-as-halt" else ecalls[-1])
    cpu[row, cpu_col("is_halt")] ^= 1
    _rejects(_prove_air_forged(program, data, replace(traces, cpu=cpu), st), program)


@pytest.mark.slow
def test_run_cut_at_a_read_claimed_as_halt_is_rejected() -> None:
    # The run "ends" at the read_input ECALL, claimed to be the halt (a7 read as 0), with
    # exit code = the buffer address: the register a7 holds 1.
    program, data = _read_then_halt(8), b"abcdefgh"
    trace, st = _run(program, data)
    j = int(trace.syscalls[0, 0])
    steps = trace.steps[:, : j + 1].copy()
    steps[8, j] = steps[0, j]  # a halt keeps its pc
    sc = np.array([[j], [0], [RAM], [8], [RAM]], dtype=np.uint32)
    io = np.zeros((4, 0), dtype=np.uint32)
    forged_trace = _forged_trace(trace, steps=steps, io=io, syscalls=sc)
    forged = replace(st, exit_code=RAM, cycles=j + 1)
    _rejects(_prove_forged(program, data, forged_trace, forged), program)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("num", "ok", "bad"),
    [
        (SYS_LOG, RAM, 0),
        (SYS_WRITE_OUTPUT, DEFAULT_LAYOUT.ram_end - 4, DEFAULT_LAYOUT.ram_end - 2),
        (SYS_READ_INPUT, DEFAULT_LAYOUT.ram_end - 4, DEFAULT_LAYOUT.ram_end - 2),
    ],
    ids=["log-at-0", "write-past-ram", "read-past-ram"],
)
def test_transfer_outside_ram_is_rejected(num: int, ok: int, bad: int) -> None:
    # The executor faults on the bad program; its run is forged from the good program's
    # (the two differ only in the LUI/ADDI that load a0).
    def program(a0: int) -> Program:
        tail = [*asm.li(10, 0), *asm.li(17, SYS_HALT), asm.ECALL_WORD]
        return _words([*asm.li(10, a0), *_call(num, a0, 4)[2:], *tail])

    good, forged_program, data = program(ok), program(bad), b"abcd"
    with pytest.raises(ExecutionError):
        execute(forged_program, data)
    trace, st = _run(good, data)
    steps = trace.steps.copy()
    lui_row = np.nonzero(steps[0] == DEFAULT_LAYOUT.rom_base)[0]
    addi_row = np.nonzero(steps[0] == DEFAULT_LAYOUT.rom_base + 4)[0]
    upper = int(forged_program.rom[0]) & 0xFFFF_F000
    steps[1, lui_row], steps[4, lui_row] = forged_program.rom[0], upper
    steps[1, addi_row], steps[2, addi_row], steps[4, addi_row] = forged_program.rom[1], upper, bad
    sc = trace.syscalls.copy()
    sc[2, 0] = bad
    if num != SYS_READ_INPUT:
        sc[4, 0] = bad
    io = trace.io.copy()
    io[1] = (io[1].astype(np.int64) + bad - ok).astype(np.uint32)  # the log has no io rows
    forged_trace = _forged_trace(trace, steps=steps, io=io, syscalls=sc)
    forged = replace(st, image_id=image_id(forged_program).astype("<u4").tobytes())
    _rejects(_prove_forged(forged_program, data, forged_trace, forged), forged_program)


def test_input_larger_than_a_proof_holds_is_refused(io_honest: IoHonest) -> None:
    with pytest.raises(ZkProofError, match="input is larger"):
        prove(io_honest.program, bytes(MAX_INPUT_BYTES + 1))
    big = replace(io_honest.proof, input=bytes(MAX_INPUT_BYTES + 1))
    err = _rejects(big.to_bytes(), io_honest.program)
    assert "input too large" in err.reason
