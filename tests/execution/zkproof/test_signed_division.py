"""Signed division (DIV, REM) in the division chip: completeness on edge operands, and forged
divisions (proven by the honest prover with its check off) rejected by the verifier.

A forgery replaces the spec's quotient and remainder of one division by others, keeps every
other column as consistent as the trace generator can make it (the multiplication chip's
rows, range lookups, the register written, the exit code read back at the halt), and claims
the forged result as the exit code: a false statement the verifier must reject.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from execution.stark.lanes import P
from execution.stark.params import profile
from execution.zkproof import (
    InvalidTaskProof,
    TaskProof,
    ZkProofError,
    build_traces,
    prove,
    prove_traces,
    statement_for_run,
    tracegen,
    traces_for_run,
    verify,
)
from execution.zkproof.air import DIV_COLUMNS, div_col
from execution.zkproof.samples import (
    SIGNED_DIV_PAIRS,
    signed_div_program,
    signed_div_quotient_remainder,
    signed_div_result,
    words_program,
)
from execution.zkvm import asm
from execution.zkvm.executor import execute
from execution.zkvm.program import Program
from execution.zkvm.trace import ExecutionTrace

PARAMS = profile("conjectured")
M32 = 0xFFFF_FFFF
INT_MIN = 0x8000_0000
# funct3 of the M-extension divisions.
DIV, DIVU, REM = 4, 5, 6


def test_signed_division_edge_cases_prove_and_verify() -> None:
    prog = signed_div_program()
    run = execute(prog)
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == run.exit_code == signed_div_result()
    assert st == statement_for_run(prog, b"", run.output, run.exit_code, run.cycles, PARAMS.name)


def test_edge_operands_match_the_spec_model() -> None:
    # Each pair alone: the executor's DIV and REM equal an independent model of the spec.
    expected = {
        (INT_MIN, M32): (INT_MIN, 0),
        (INT_MIN, 1): (INT_MIN, 0),
        (-7 & M32, 2): (-3 & M32, -1 & M32),
        (7, -2 & M32): (-3 & M32, 1),
        (-7 & M32, -2 & M32): (3, -1 & M32),
        (-5 & M32, 0): (M32, -5 & M32),
        (5, 0): (M32, 5),
        (0, M32): (0, 0),
        (0x7FFF_FFFF, INT_MIN): (0, 0x7FFF_FFFF),
        (M32, INT_MIN): (0, M32),
    }
    for (x, y), (q, r) in expected.items():
        assert (x, y) in SIGNED_DIV_PAIRS
        assert signed_div_quotient_remainder(x, y) == (q, r)
        for f3, want in ((DIV, q), (REM, r)):
            assert execute(_one_division(x, y, f3)).exit_code == want


def _random_words(rng: random.Random, n: int) -> list[int]:
    edges = [0, 1, 2, 3, M32, M32 - 1, INT_MIN, INT_MIN + 1, 0x7FFF_FFFF, 0xFFFF, 0x1_0000]
    return [rng.choice(edges) if rng.random() < 0.3 else rng.getrandbits(32) for _ in range(n)]


def test_trace_generator_divides_as_the_spec_model() -> None:
    # The trace generator's quotients and remainders (what the chip rows are built from) equal
    # the spec model on random and edge operands, signed and unsigned.
    rng = random.Random(20261127)
    xs, ys = _random_words(rng, 4000), _random_words(rng, 4000)
    a, b = np.array(xs, dtype=np.int64), np.array(ys, dtype=np.int64)
    for signed in (True, False):
        q, r, ov = tracegen._divide(a, b, np.full(len(a), signed))
        funct3 = DIV if signed else DIVU
        want = [_spec(x, y, funct3) for x, y in zip(xs, ys, strict=True)]
        assert [(int(u), int(v)) for u, v in zip(q, r, strict=True)] == want
        assert ov.tolist() == [
            signed and x == INT_MIN and y == M32 for x, y in zip(xs, ys, strict=True)
        ]


@pytest.mark.slow
def test_random_divisions_prove_and_verify() -> None:
    rng = random.Random(7)
    r, i = asm.r_type, asm.i_type
    fold = [r(0, 10, 10, 0, 10), r(0, 7, 10, 4, 10)]  # x10 += x10; x10 ^= x7
    words: list[int] = [i(0, 0, 0, 10)]
    results: list[int] = []
    for x, y in zip(_random_words(rng, 40), _random_words(rng, 40), strict=True):
        words += [*asm.li(5, x), *asm.li(6, y)]
        for funct3 in (DIV, DIVU, REM, 7):  # 7: REMU
            words += [r(1, 6, 5, funct3, 7), *fold]
            q, rem = _spec(x, y, DIVU if funct3 in (DIVU, 7) else DIV)
            results.append(q if funct3 in (DIV, DIVU) else rem)
    prog = words_program([*words, *asm.li(17, 0), asm.ECALL_WORD])
    acc = 0
    for res in results:
        acc = ((acc + acc) & M32) ^ res
    st = verify(prove(prog).to_bytes(), prog)
    assert st.exit_code == execute(prog).exit_code == acc


def test_division_chip_rows_take_the_spec_branches() -> None:
    _, _, traces, _ = traces_for_run(signed_div_program(), b"")
    chip = traces.div.astype(np.int64)
    real = chip[:, div_col("is_divu")] + chip[:, div_col("is_remu")]
    rows = chip[real == 1]
    assert len(rows) == 2 * len(SIGNED_DIV_PAIRS)
    assert np.all(rows[:, div_col("signed")] == 1)
    assert int(rows[:, div_col("ov")].sum()) == 2  # DIV and REM of INT_MIN by -1
    assert int(rows[:, div_col("bz")].sum()) == 4  # DIV and REM of -5 and 5 by 0
    # The |r| < |b| check's low-limb carry takes all three values (-1 for -0x30000 / 0x20000).
    assert set(rows[:, div_col("e0")].tolist()) == {0, 1, P - 1}


# -- forged divisions --------------------------------------------------------------------------


def _one_division(x: int, y: int, funct3: int) -> Program:
    """x10 = x op y, then halt with exit code x10."""
    words = [*asm.li(5, x), *asm.li(6, y), asm.r_type(1, 6, 5, funct3, 10), *asm.halt()]
    return words_program(words)


def _forged_proof(
    monkeypatch: pytest.MonkeyPatch,
    x: int,
    y: int,
    funct3: int,
    q: int,
    r: int,
    *,
    overflow_branch: bool = False,
) -> tuple[Program, TaskProof]:
    """Prove x op y with the division (q, r) instead of the spec's, claiming its result as
    the exit code. overflow_branch: the chip row also claims the INT_MIN / -1 branch."""
    program = _one_division(x, y, funct3)
    trace, st, _, airs = traces_for_run(program, b"")
    claimed = (r if funct3 == REM else q) & M32
    spec_divide = tracegen._divide
    spec_div = tracegen._div

    def divide(
        a: np.ndarray, b: np.ndarray, signed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dq, dr, ov = spec_divide(a, b, signed)
        row = np.nonzero((a == x) & (b == y))[0]
        dq, dr, ov = dq.copy(), dr.copy(), ov.copy()
        dq[row], dr[row] = q & M32, r & M32
        if overflow_branch:
            ov[row] = True
        return dq, dr, ov

    def div(*args: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out, r16, u15 = spec_div(*args)
        if overflow_branch:
            out[0, div_col("ov")] = 1
            for name in ("lo0", "lo1", "cy0", "cy1", "d0", "d1", "e0", "t"):
                out[0, div_col(name)] = 0
            names = ("q0", "q1", "r0", "r1", "d0", "d1")
            r16 = np.concatenate([out[:1, div_col(n)] for n in names])
        return out, r16, u15

    monkeypatch.setattr(tracegen, "_divide", divide)
    monkeypatch.setattr(tracegen, "_div", div)
    steps = trace.steps.copy()
    steps[4, 4] = claimed  # the division is step 4 (after two li pairs): it writes the claim
    sc = trace.syscalls.copy()
    sc[2, -1] = claimed  # the halt reads it back as the exit code
    forged = ExecutionTrace(steps=steps, io=trace.io, syscalls=sc, final_ram=trace.final_ram)
    table = airs.program_air.preprocessed_trace(airs.program_air.log_height)
    traces = build_traces(program, table, forged)
    assert len(DIV_COLUMNS) == traces.div.shape[1]
    st = replace(st, exit_code=claimed, profile=PARAMS.name)
    if (q & M32, r & M32) == _spec(x, y, funct3) and not overflow_branch:
        return program, prove_traces(airs, traces, st, program, PARAMS)  # the control case
    # The honest prover's own check catches the forgery...
    with pytest.raises(ZkProofError):
        prove_traces(airs, traces, st, program, PARAMS)
    # ...and a proof made without the check must not verify.
    return program, prove_traces(airs, traces, st, program, PARAMS, check=False)


def _spec(x: int, y: int, funct3: int) -> tuple[int, int]:
    if funct3 == DIVU:
        return (x // y, x % y) if y else (M32, x)
    return signed_div_quotient_remainder(x, y)


def test_forging_harness_accepts_the_spec_division(monkeypatch: pytest.MonkeyPatch) -> None:
    # Control: the same harness with the spec's quotient and remainder gives a valid proof, so
    # the rejections below are caused by the forged values alone. (Each forgery was checked to
    # break exactly the rule its name says: the d range lookup, the sign rule, the b = 0
    # quotient, the overflow quotient, and ov only on DIV/REM rows.)
    program, proof = _forged_proof(monkeypatch, -7 & M32, 2, REM, -3, -1)
    assert verify(proof, program).exit_code == -1 & M32


FORGERIES = {
    # 7 / -2 = -3 rem 1; claim -2 rem 3 (q b + r = 7 still): |r| >= |b|.
    "quotient_off_by_one": (7, -2 & M32, DIV, -2, 3, False),
    # -7 / 2 = -3 rem -1; claim rem 1 with q = -4 (floor division): r has the wrong sign.
    "remainder_with_wrong_sign": (-7 & M32, 2, REM, -4, 1, False),
    # -5 / 0 = -1; claim 0 (rem -5: q b + r = a holds for any q).
    "division_by_zero_other_quotient": (-5 & M32, 0, DIV, 0, -5, False),
    # INT_MIN % -1 = 0; claim INT_MIN with q = 0 (q b + r = a holds).
    "overflow_other_result": (INT_MIN, M32, REM, 0, INT_MIN, False),
    # DIVU 0x8000_0000 / 0xFFFF_FFFF = 0; claim 0x8000_0000 through the signed overflow branch.
    "unsigned_division_in_overflow_branch": (INT_MIN, M32, DIVU, INT_MIN, 0, True),
}


# Two run by default (one per check: |r| < |b| and r's sign); the branch forgeries are slow.
SLOW_FORGERIES = (
    "division_by_zero_other_quotient",
    "overflow_other_result",
    "unsigned_division_in_overflow_branch",
)


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c in SLOW_FORGERIES else c for c in FORGERIES],
)
def test_forged_division_is_rejected(monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    x, y, funct3, q, r, ov = FORGERIES[case]
    program, proof = _forged_proof(monkeypatch, x, y, funct3, q, r, overflow_branch=ov)
    with pytest.raises(InvalidTaskProof):
        verify(proof, program)
