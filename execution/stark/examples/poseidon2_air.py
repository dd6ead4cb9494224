"""One Poseidon2 (BabyBear, width 16) permutation per row.

Columns: the 16 input lanes; for each external (full) round, the cubes x^3 of the 16 S-box
inputs and the 16 round outputs; for each internal (partial) round, the cube and the S-box
output of lane 0. Storing x^3 keeps every constraint at degree 3 (x^7 = (x^3)^2 * x), which fits
blowup 4. Between stored values the state is carried as linear expressions, so the linear layers
cost no columns. The last 16 round outputs are the permutation's output.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.air.expr import Expr
from execution.stark.lanes import P

__all__ = ["Poseidon2Air", "poseidon2_trace"]


def _constants() -> dict[str, list]:  # type: ignore[type-arg]
    text = resources.files("execution.stark").joinpath("poseidon2_babybear_16.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


_C = _constants()
RC_INIT: list[list[int]] = _C["external_rounds_initial"]
RC_FINAL: list[list[int]] = _C["external_rounds_final"]
RC_INT: list[int] = _C["internal_round_constants"]
DIAG: list[int] = _C["internal_diagonal_V"]
_M4 = ((2, 3, 1, 1), (1, 2, 3, 1), (1, 1, 2, 3), (3, 1, 1, 2))

WIDTH = 16 + 32 * (len(RC_INIT) + len(RC_FINAL)) + 2 * len(RC_INT)
OUTPUT_COLUMNS = list(range(WIDTH - 16, WIDTH))


def _external_linear_expr(s: list[Expr]) -> list[Expr]:
    y: list[Expr] = []
    for j in range(4):
        chunk = s[4 * j : 4 * j + 4]
        for row in _M4:
            y.append(sum((c * x for c, x in zip(row, chunk, strict=True)), start=chunk[0] * 0))
    sums = [y[k] + y[4 + k] + y[8 + k] + y[12 + k] for k in range(4)]
    return [y[i] + sums[i % 4] for i in range(16)]


class Poseidon2Air(Air):
    name = "poseidon2_babybear16"
    width = WIDTH

    def eval(self, b: AirBuilder) -> None:
        cols = iter(b.local)
        state: list[Expr] = [next(cols) for _ in range(16)]
        state = _external_linear_expr(state)

        def full_round(state: list[Expr], rc: list[int]) -> list[Expr]:
            sb = []
            for i in range(16):
                s = state[i] + rc[i]
                x3 = next(cols)
                b.assert_zero(x3 - s * s * s)
                sb.append(x3 * x3 * s)
            out = _external_linear_expr(sb)
            post = [next(cols) for _ in range(16)]
            for i in range(16):
                b.assert_zero(post[i] - out[i])
            return post

        for rc in RC_INIT:
            state = full_round(state, rc)
        for c in RC_INT:
            s = state[0] + c
            x3 = next(cols)
            b.assert_zero(x3 - s * s * s)
            s7 = next(cols)
            b.assert_zero(s7 - x3 * x3 * s)
            state = [s7, *state[1:]]
            total = state[0]
            for x in state[1:]:
                total = total + x
            state = [total + DIAG[i] * state[i] for i in range(16)]
        for rc in RC_FINAL:
            state = full_round(state, rc)


def _ext_linear_np(s: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    y = np.zeros_like(s)
    for j in range(4):
        for r, row in enumerate(_M4):
            acc = np.zeros(s.shape[0], dtype=np.uint64)
            for k, c in enumerate(row):
                acc += np.uint64(c) * s[:, 4 * j + k]
            y[:, 4 * j + r] = acc % P
    sums = [(y[:, k] + y[:, 4 + k] + y[:, 8 + k] + y[:, 12 + k]) % P for k in range(4)]
    out = np.empty_like(s)
    for i in range(16):
        out[:, i] = (y[:, i] + sums[i % 4]) % P
    return out


def poseidon2_trace(inputs: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """The trace proving permute(inputs[i]) for each row i; inputs is (n, 16)."""
    p = np.uint64(P)
    n = inputs.shape[0]
    cols: list[npt.NDArray[np.uint64]] = []
    st = inputs.astype(np.uint64)
    cols.extend(st[:, i] for i in range(16))
    st = _ext_linear_np(st)

    def full_round(st: npt.NDArray[np.uint64], rc: list[int]) -> npt.NDArray[np.uint64]:
        s = (st + np.array(rc, dtype=np.uint64)[None, :]) % p
        x3 = s * s % p * s % p
        sb = x3 * x3 % p * s % p
        cols.extend(x3[:, i] for i in range(16))
        out = _ext_linear_np(sb)
        cols.extend(out[:, i] for i in range(16))
        return out

    for rc in RC_INIT:
        st = full_round(st, rc)
    diag = np.array(DIAG, dtype=np.uint64)
    for c in RC_INT:
        s = (st[:, 0] + np.uint64(c)) % p
        x3 = s * s % p * s % p
        s7 = x3 * x3 % p * s % p
        cols.extend((x3, s7))
        st = st.copy()
        st[:, 0] = s7
        total = st.sum(axis=1) % p
        st = (total[:, None] + diag[None, :] * st % p) % p
    for rc in RC_FINAL:
        st = full_round(st, rc)
    trace = np.stack(cols, axis=1).astype(np.uint32)
    if trace.shape != (n, WIDTH):
        raise RuntimeError("poseidon2 trace layout mismatch")
    return trace
