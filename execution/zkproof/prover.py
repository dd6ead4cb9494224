"""prove / verify: the zkVM prover's API for the CLI and the network.

    proof = prove(program_or_elf_bytes, input_bytes, profile="conjectured", prover=address,
                  task_id=task)
    statement = verify(proof_or_bytes, expected_image_id)

`prove` runs the executor with tracing, refuses runs this prover cannot constrain (typed
errors), builds the four AIR traces and proves them with execution.stark. `verify` never
trusts the proof's own claims: it recomputes the image id of the embedded program, requires it
to equal the expected id, rebuilds the program table from it, checks the table heights and the
parts of the statement this version constrains, then runs the STARK verifier with the
statement as public values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

import numpy as np

from execution.stark.air.compiled import CompiledAir, compile_air
from execution.stark.errors import InvalidProof, ProvingError
from execution.stark.lanes import P
from execution.stark.params import FriParams, ParamsError
from execution.stark.params import profile as fri_profile
from execution.stark.prover import PhaseTimer
from execution.stark.prover import prove as stark_prove
from execution.stark.verifier import verify as stark_verify
from execution.zkproof.air import (
    CPU_PUBLICS,
    BitwiseChipAir,
    CpuAir,
    DivChipAir,
    LtChipAir,
    MemBoundaryAir,
    MemChipAir,
    MulChipAir,
    Pow2Air,
    ProgramAir,
    RamImageAir,
    RangeAir,
    RegisterAir,
    ShiftChipAir,
)
from execution.zkproof.air_io import IO_PUBLICS, IoChipAir, IoTableAir
from execution.zkproof.errors import CycleLimitError, InvalidTaskProof, ZkProofError
from execution.zkproof.statement import (
    INPUT_DOMAIN,
    NO_PROVER,
    NO_TASK,
    OUTPUT_DOMAIN,
    PROVER_BYTES,
    TASK_ID_BYTES,
    Statement,
    bytes_digest,
    digest_words,
    prover_limbs,
    task_limbs,
)
from execution.zkproof.task import MAX_INPUT_BYTES, TaskProof
from execution.zkproof.tracegen import (
    MAX_LOG_CYCLES,
    TABLE_ORDER,
    ZkvmTraces,
    build_traces,
    check_supported,
)
from execution.zkproof.vkey import program_key
from execution.zkvm.elf_loader import load_elf
from execution.zkvm.errors import CycleLimitExceeded
from execution.zkvm.executor import execute
from execution.zkvm.image import image_id
from execution.zkvm.layout import DEFAULT_LAYOUT
from execution.zkvm.program import Program
from execution.zkvm.trace import ExecutionTrace

__all__ = [
    "ProveReport",
    "ZkvmAirs",
    "airs_for",
    "prove",
    "prove_traces",
    "public_values",
    "statement_for_run",
    "traces_for_run",
    "verify",
]

Progress = Callable[[str], None]
NUM_TABLES = 15


@dataclass
class ProveReport:
    """Wall time of each phase in seconds: "trace" (execution and AIR traces), the STARK
    prover's phases (PhaseTimer's names) and their sum "stark"; `spans` are the phases'
    (name, start, end) on the perf_counter clock; `cpu_phases` the same phases' process CPU
    time."""

    phases: dict[str, float] = field(default_factory=dict)
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    cpu_phases: dict[str, float] = field(default_factory=dict)


@dataclass
class ZkvmAirs:
    cpu: CompiledAir
    program: CompiledAir
    registers: CompiledAir
    range: CompiledAir
    lt: CompiledAir
    mem: CompiledAir
    boundary: CompiledAir
    ram_image: CompiledAir
    bitwise: CompiledAir
    mul: CompiledAir
    shift: CompiledAir
    pow2: CompiledAir
    div: CompiledAir
    io: CompiledAir
    io_table: CompiledAir
    program_air: ProgramAir
    ram_image_air: RamImageAir
    io_table_air: IoTableAir
    input_len: int

    def as_list(self) -> list[CompiledAir]:
        return [getattr(self, name) for name in TABLE_ORDER]


for _cls in (ZkvmAirs, ZkvmTraces):
    _names = tuple(f.name for f in fields(_cls) if f.name in TABLE_ORDER)
    if _names != TABLE_ORDER:  # a table added to one list but not the other: fail at import
        raise ImportError(f"{_cls.__name__} tables {_names} differ from TABLE_ORDER")


@lru_cache(maxsize=1)
def _fixed_airs() -> tuple[CompiledAir, ...]:
    return tuple(
        compile_air(a)
        for a in (
            CpuAir(),
            RegisterAir(),
            RangeAir(),
            LtChipAir(),
            MemChipAir(),
            MemBoundaryAir(),
            BitwiseChipAir(),
            MulChipAir(),
            ShiftChipAir(),
            Pow2Air(),
            DivChipAir(),
            IoChipAir(),
        )
    )


def airs_for(
    program: Program, input_bytes: bytes = b"", output: bytes = b"", *, image: bytes | None = None
) -> ZkvmAirs:
    """The AIRs of one run: the program's tables (cached by image id: vkey.program_key) and
    the IO table of its input and output. `image` is image_id(program) if already known."""
    cpu, regs, rng, lt, mem, boundary, bitwise, mul, shift, pow2, div, io = _fixed_airs()
    key = program_key(program, image)
    pa, ra, prog, image_air = key.program_air, key.ram_image_air, key.program, key.ram_image
    digests = bytes_digest(INPUT_DOMAIN, input_bytes) + bytes_digest(OUTPUT_DOMAIN, output)
    ta = IoTableAir(input_bytes, output, digests.hex())
    table = compile_air(ta)
    return ZkvmAirs(
        cpu,
        prog,
        regs,
        rng,
        lt,
        mem,
        boundary,
        image_air,
        bitwise,
        mul,
        shift,
        pow2,
        div,
        io,
        table,
        pa,
        ra,
        ta,
        len(input_bytes),
    )


def _as_program(program: Program | bytes) -> Program:
    return load_elf(program) if isinstance(program, bytes | bytearray) else program


def _params(profile: str | FriParams) -> FriParams:
    # Only built-in profiles: the verifier looks the statement's profile name up.
    return fri_profile(profile.name if isinstance(profile, FriParams) else profile)


def public_values(statement: Statement, program: Program, input_len: int = 0) -> list[list[int]]:
    """Public values per table: the CPU's (CPU_PUBLICS order) and the IO chip's input length."""
    code = statement.exit_code
    pub = [
        program.entry,
        code & 0xFFFF,
        code >> 16,
        statement.cycles,
        *digest_words(statement.image_id),
        *digest_words(statement.input_digest),
        *digest_words(statement.output_digest),
        *prover_limbs(statement.prover),
        *task_limbs(statement.task_id),
    ]
    if len(pub) != len(CPU_PUBLICS):
        raise ZkProofError("internal: public value layout mismatch")
    out: list[list[int]] = [[] for _ in TABLE_ORDER]
    out[0] = pub
    out[TABLE_ORDER.index("io")] = [input_len]
    if len(out[TABLE_ORDER.index("io")]) != len(IO_PUBLICS):
        raise ZkProofError("internal: IO public value layout mismatch")
    return out


def statement_for_run(
    program: Program,
    input_bytes: bytes,
    output: bytes,
    exit_code: int,
    cycles: int,
    prof: str,
    prover: bytes = NO_PROVER,
) -> Statement:
    return Statement(
        image_id=image_id(program).astype("<u4").tobytes(),
        input_digest=bytes_digest(INPUT_DOMAIN, input_bytes),
        output=output,
        exit_code=exit_code,
        cycles=cycles,
        profile=prof,
        prover=prover,
    )


def traces_for_run(
    program: Program, input_bytes: bytes, max_cycles: int = 1 << MAX_LOG_CYCLES
) -> tuple[ExecutionTrace, Statement, ZkvmTraces, ZkvmAirs]:
    """Execute, refuse what is not constrained, and build the AIR traces (profile unset, no
    prover: the caller sets both)."""
    if len(input_bytes) > MAX_INPUT_BYTES:
        raise ZkProofError(f"the input is larger than {MAX_INPUT_BYTES} bytes")
    try:
        res = execute(program, input_bytes, max_cycles=max_cycles, record_trace=True)
    except CycleLimitExceeded as exc:
        raise CycleLimitError(max_cycles + 1, max_cycles) from exc
    if res.trace is None:
        raise ZkProofError("internal: executor returned no trace")
    check_supported(program, res.trace)
    airs = airs_for(program, input_bytes, res.output)
    st = statement_for_run(program, input_bytes, res.output, res.exit_code, res.cycles, "")
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    traces = build_traces(program, table, res.trace)
    return res.trace, st, traces, airs


def prove_traces(
    airs: ZkvmAirs,
    traces: ZkvmTraces,
    statement: Statement,
    program: Program,
    params: FriParams,
    *,
    check: bool = True,
    timer: PhaseTimer | None = None,
) -> TaskProof:
    """Prove given AIR traces (the soundness tests pass forged ones with check=False)."""
    pubs = public_values(statement, program, airs.input_len)
    # The IO table's height is the statement's (input + output bytes), which the execution
    # trace does not know: fit its multiplicity column (input rows first) to it.
    table = np.zeros((1 << airs.io_table_air.log_height, 1), dtype=np.uint32)
    rows = min(len(table), len(traces.io_table))
    table[:rows] = traces.io_table[:rows]
    fitted = replace(traces, io_table=table)
    try:
        stark = stark_prove(
            airs.as_list(), fitted.as_list(), pubs, params, check=check, timer=timer
        )
    except ProvingError as exc:
        raise ZkProofError(f"the trace does not satisfy the zkVM AIR: {exc}") from exc
    inp = airs.io_table_air.input_bytes
    return TaskProof(statement, program, stark, inp)


def prove(
    program: Program | bytes,
    input_bytes: bytes = b"",
    profile: str | FriParams = "conjectured",
    *,
    prover: bytes = NO_PROVER,
    task_id: bytes = NO_TASK,
    progress: Progress | None = None,
    report: ProveReport | None = None,
    check: bool = False,
) -> TaskProof:
    """Prove one run of `program` (a Program or ELF bytes) on `input_bytes` for `prover` (the
    20-byte address the proof's reward goes to) and the on-chain task `task_id` (32 bytes; zero:
    none): both are bound into the proof.

    `check=True` first evaluates every constraint on the trace rows and raises ZkProofError
    naming the first one that fails. It is off by default (the node's workers, the CLI): it
    cost about a tenth of proving time, and a trace that does not satisfy the AIR yields a
    proof the verifier rejects anyway; tests that want a clear error turn it on."""
    say = progress or (lambda _msg: None)
    rep = report or ProveReport()
    try:
        params = _params(profile)
    except ParamsError as exc:
        raise ZkProofError(str(exc)) from exc
    if not isinstance(prover, bytes | bytearray) or len(prover) != PROVER_BYTES:
        raise ZkProofError(f"the prover address must be {PROVER_BYTES} bytes")
    if not isinstance(task_id, bytes | bytearray) or len(task_id) != TASK_ID_BYTES:
        raise ZkProofError(f"the task id must be {TASK_ID_BYTES} bytes")
    prog = _as_program(program)
    t0 = time.perf_counter()
    c0 = time.process_time()
    say("executing and generating the trace")
    run, st, traces, airs = traces_for_run(prog, input_bytes)
    # The executor's trace (tens of bytes per cycle) is not needed once the AIR traces exist.
    del run
    # tracegen builds int64 tables; the STARK prover takes uint32. Converting here, the int64
    # copies (twice the traces' size) are freed before proving instead of living through it.
    traces = replace(
        traces,
        **{name: _as_u32(getattr(traces, name)) for name in TABLE_ORDER},  # type: ignore[arg-type]
    )
    st = replace(st, profile=params.name, prover=bytes(prover), task_id=bytes(task_id))
    t1 = time.perf_counter()
    rep.phases["trace"] = t1 - t0
    c1 = time.process_time()
    rep.cpu_phases["trace"] = c1 - c0
    rep.spans.append(("trace", t0, t1))
    say(f"proving {st.cycles} cycles ({traces.cpu.shape[0]} rows)")
    timer = PhaseTimer()
    proof = prove_traces(airs, traces, st, prog, params, check=check, timer=timer)
    rep.phases.update(timer.seconds)
    rep.phases["stark"] = time.perf_counter() - t1
    rep.cpu_phases.update(timer.cpu_seconds)
    rep.cpu_phases["stark"] = time.process_time() - c1
    rep.spans.extend(timer.spans)
    return proof


def _as_u32(table: np.ndarray) -> np.ndarray:
    # Trace values are canonical field elements (< P < 2^31); the STARK prover checks them.
    if table.dtype == np.uint32:
        return table
    if table.size and (int(table.min()) < 0 or int(table.max()) >= P):
        return table  # let the STARK prover's input check name the bad table
    return np.ascontiguousarray(table, dtype=np.uint32)


def _expected_id(expected: bytes | str | Program) -> bytes:
    if isinstance(expected, Program):
        return image_id(expected).astype("<u4").tobytes()
    if isinstance(expected, str):
        try:
            raw = bytes.fromhex(expected.removeprefix("0x"))
        except ValueError as exc:
            raise InvalidTaskProof("image id is not hex") from exc
        expected = raw
    if len(expected) != 32:
        raise InvalidTaskProof("an image id is 32 bytes")
    return bytes(expected)


def verify(
    proof: TaskProof | bytes,
    expected_image: bytes | str | Program,
    *,
    profile: str | None = None,
) -> Statement:
    """Return the proven statement, or raise InvalidTaskProof naming the failed check.

    `profile`, when given, is the FRI profile the caller requires (genesis fixes it); a proof
    made under another profile is rejected.
    """
    tp = TaskProof.from_bytes(proof) if isinstance(proof, bytes | bytearray) else proof
    st = tp.statement
    if profile is not None and st.profile != profile:
        raise InvalidTaskProof(f"proof profile {st.profile!r}, required {profile!r}")
    want = _expected_id(expected_image)
    if st.image_id != want:
        raise InvalidTaskProof("the proof is for another image id")
    # Hashing the embedded program is cheap (~1 ms for sha256.elf) and keys the cache of its
    # verifying key, so it is done on every verify.
    if image_id(tp.program).astype("<u4").tobytes() != want:
        raise InvalidTaskProof("the embedded program does not hash to the image id")
    try:
        params = fri_profile(st.profile)
    except ParamsError as exc:
        raise InvalidTaskProof(f"unknown proof profile {st.profile!r}") from exc
    # The input travels in the proof file; the IO table the verifier builds from it is bound
    # to the statement's input digest here (and the output table to the statement's output).
    if bytes_digest(INPUT_DOMAIN, tp.input) != st.input_digest:
        raise InvalidTaskProof("the proof's input does not match the input digest")
    if not 1 <= st.cycles <= 1 << MAX_LOG_CYCLES:
        raise InvalidTaskProof("cycle count out of range")
    if st.exit_code >= 1 << 32:
        raise InvalidTaskProof("exit code out of range")
    airs = airs_for(tp.program, tp.input, st.output, image=want)
    tables = tp.stark.tables
    if len(tables) != NUM_TABLES:
        raise InvalidTaskProof(f"a zkVM proof has {NUM_TABLES} tables")
    if tp.program.layout != DEFAULT_LAYOUT:
        raise InvalidTaskProof("the prover supports the default memory layout only")
    fixed = [airs.program_air.log_height, RegisterAir.log_height, RangeAir.log_height]
    image_log = airs.ram_image_air.log_height
    pow2_log = Pow2Air.log_height
    io_table_log = airs.io_table_air.log_height
    want_logs = [None, *fixed, None, None, None, image_log, None, None, None, pow2_log, None]
    want_logs += [None, io_table_log]
    for tab, want_log in zip(tables, want_logs, strict=True):
        if want_log is not None and tab.log_n != want_log:
            raise InvalidTaskProof("a fixed table has the wrong height")
    if not 1 <= tables[0].log_n <= MAX_LOG_CYCLES or st.cycles > 1 << tables[0].log_n:
        raise InvalidTaskProof("CPU table height out of range")
    # Chips have at most one row per cycle; the boundary one per touched or image word.
    # At most one row per cycle, except the multiplication chip (two per division).
    for chip in (tables[4], tables[5], tables[8], tables[10], tables[12]):
        if not 1 <= chip.log_n <= tables[0].log_n:
            raise InvalidTaskProof("chip table height out of range")
    if not 1 <= tables[9].log_n <= tables[0].log_n + 1:
        raise InvalidTaskProof("multiplication chip height out of range")
    if not 1 <= tables[6].log_n <= MAX_LOG_CYCLES + 2:
        raise InvalidTaskProof("memory boundary table height out of range")
    # One block per syscall plus one row per word moved (input and output are below 2^21).
    if not 1 <= tables[TABLE_ORDER.index("io")].log_n <= MAX_LOG_CYCLES + 2:
        raise InvalidTaskProof("IO chip height out of range")
    pubs = public_values(st, tp.program, len(tp.input))
    try:
        stark_verify(airs.as_list(), pubs, tp.stark, params)
    except InvalidProof as exc:
        raise InvalidTaskProof(f"STARK proof rejected: {exc.reason}") from exc
    return st
