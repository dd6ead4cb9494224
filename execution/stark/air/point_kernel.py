"""The constraint fold at one point, compiled once per AIR and run as one numba kernel.

`fold_at_point` (evaluate.py) walks the DAG node by node through an `ExtOps` object, which is what
the recursion recorder needs; the concrete verifier paid a Python call and a tuple of four ints
per node (a zkVM proof has about 3,000 nodes over its 15 tables). Here the DAG is encoded once per
AIR into an int64 array, and one serial kernel evaluates every node and the Horner fold over
alpha. The result equals `fold_at_point` with `IntExtOps` (tests/execution/stark/test_air.py).

Leaf inputs arrive as one (m, 4) uint64 array of canonical extension elements, laid out in the
block order of `BLOCKS`; the kernel finds a leaf as offsets[block] + index.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.air.compiled import CompiledAir
from execution.stark.air.expr import Op

__all__ = ["BLOCKS", "fold_point"]

I64 = npt.NDArray[np.int64]

# Order of the leaf blocks in the kernel's input array.
BLOCKS = (
    "main",
    "main_next",
    "prep",
    "prep_next",
    "perm",
    "perm_next",
    "publics",
    "challenges",
    "final_sum",
    "is_first_row",
    "is_last_row",
    "is_transition",
    "consts",
)
_LEAF = 0
_BLOCK_OF_OP = {
    Op.PUBLIC: 6,
    Op.CHALLENGE: 7,
    Op.FINAL_SUM: 8,
    Op.IS_FIRST_ROW: 9,
    Op.IS_LAST_ROW: 10,
    Op.IS_TRANSITION: 11,
}
_PAIRED = {Op.MAIN: 0, Op.PREP: 2, Op.PERM: 4}  # + 1 for the next-row block


@dataclass(frozen=True)
class _Program:
    code: I64  # (n, 3): kind (0 = leaf, else the Op of ADD/SUB/MUL/NEG), arg a, arg b
    constraints: I64  # node index of each constraint
    consts: L.U64  # (c, 4) the CONST nodes' values as extension elements
    need: tuple[int, ...]  # per block: one more than the largest index read (0: unused)


_CACHE: OrderedDict[bytes, _Program] = OrderedDict()
_CACHE_SIZE = 64  # AIRs differ per program (ROM, IO tables); a node verifies a few at a time
_LOCK = threading.Lock()


def _encode(air: CompiledAir) -> _Program:
    code = np.zeros((len(air.nodes), 3), dtype=np.int64)
    consts: list[int] = []
    need = [0] * len(BLOCKS)
    for i, node in enumerate(air.nodes):
        op = node.op
        if op in (Op.ADD, Op.SUB, Op.MUL):
            code[i] = (int(op), node.args[0], node.args[1])
            continue
        if op == Op.NEG:
            code[i] = (int(op), node.args[0], 0)
            continue
        if op == Op.CONST:
            block, index = 12, len(consts)
            consts.append(int(node.index) % L.P)
        elif op in _PAIRED:
            block, index = _PAIRED[op] + (1 if node.next_row else 0), int(node.index)
        else:
            block, index = _BLOCK_OF_OP[op], int(node.index)
        code[i] = (_LEAF, block, index)
        need[block] = max(need[block], index + 1)
    const_arr = np.zeros((len(consts), 4), dtype=np.uint64)
    const_arr[:, 0] = consts
    return _Program(
        code=code,
        constraints=np.array(air.constraints, dtype=np.int64),
        consts=const_arr,
        need=tuple(need),
    )


def _program(air: CompiledAir) -> _Program:
    with _LOCK:
        prog = _CACHE.get(air.digest)
        if prog is not None:
            _CACHE.move_to_end(air.digest)
            return prog
    prog = _encode(air)
    with _LOCK:
        _CACHE[air.digest] = prog
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return prog


@nb.njit(inline="always", cache=True)
def _emul(
    a0: np.uint64,
    a1: np.uint64,
    a2: np.uint64,
    a3: np.uint64,
    b0: np.uint64,
    b1: np.uint64,
    b2: np.uint64,
    b3: np.uint64,
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    # Canonical inputs: each product is below 2^62 and is reduced before any sum.
    p = np.uint64(L.P)
    w = np.uint64(L.W)
    c0 = (a0 * b0 % p + w * ((a1 * b3 % p + a2 * b2 % p + a3 * b1 % p) % p)) % p
    c1 = (a0 * b1 % p + a1 * b0 % p + w * ((a2 * b3 % p + a3 * b2 % p) % p)) % p
    c2 = (a0 * b2 % p + a1 * b1 % p + a2 * b0 % p + w * (a3 * b3 % p)) % p
    c3 = (a0 * b3 % p + a1 * b2 % p + a2 * b1 % p + a3 * b0 % p) % p
    return c0, c1, c2, c3


@nb.njit(cache=True)
def _fold_kernel(
    code: np.ndarray,  # type: ignore[type-arg]
    leaves: np.ndarray,  # type: ignore[type-arg]
    offsets: np.ndarray,  # type: ignore[type-arg]
    constraints: np.ndarray,  # type: ignore[type-arg]
    alpha: np.ndarray,  # type: ignore[type-arg]
) -> np.ndarray:  # type: ignore[type-arg]
    p = np.uint64(L.P)
    n = code.shape[0]
    vals = np.empty((n, 4), dtype=np.uint64)
    for i in range(n):
        kind = code[i, 0]
        a = code[i, 1]
        b = code[i, 2]
        if kind == 0:
            r = offsets[a] + b
            for c in range(4):
                vals[i, c] = leaves[r, c]
        elif kind == 10:
            for c in range(4):
                vals[i, c] = (vals[a, c] + vals[b, c]) % p
        elif kind == 11:
            for c in range(4):
                vals[i, c] = (vals[a, c] + p - vals[b, c]) % p
        elif kind == 12:
            m0, m1, m2, m3 = _emul(
                vals[a, 0], vals[a, 1], vals[a, 2], vals[a, 3],
                vals[b, 0], vals[b, 1], vals[b, 2], vals[b, 3],
            )  # fmt: skip
            vals[i, 0] = m0
            vals[i, 1] = m1
            vals[i, 2] = m2
            vals[i, 3] = m3
        else:
            for c in range(4):
                vals[i, c] = (p - vals[a, c]) % p
    out = np.zeros(4, dtype=np.uint64)
    for k in range(constraints.shape[0] - 1, -1, -1):
        r = constraints[k]
        m0, m1, m2, m3 = _emul(
            out[0], out[1], out[2], out[3], alpha[0], alpha[1], alpha[2], alpha[3]
        )
        out[0] = (m0 + vals[r, 0]) % p
        out[1] = (m1 + vals[r, 1]) % p
        out[2] = (m2 + vals[r, 2]) % p
        out[3] = (m3 + vals[r, 3]) % p
    return out


def fold_point(air: CompiledAir, blocks: dict[str, L.U64], alpha: L.U64) -> L.U64:
    """sum_i alpha^i * C_i at one point, as `fold_at_point`: `blocks` maps each name of BLOCKS
    but "consts" to a (k, 4) array of canonical extension elements (k may be 0)."""
    prog = _program(air)
    parts = []
    for i, name in enumerate(BLOCKS):
        part = prog.consts if name == "consts" else np.asarray(blocks[name], dtype=np.uint64)
        part = part.reshape(-1, 4)
        # The DAG comes from the AIR, the block lengths from checked proof shapes: a mismatch
        # is a caller's bug, and the kernel does not check its indices.
        if part.shape[0] < prog.need[i]:
            raise ValueError(
                f"{air.name}: block {name} has {part.shape[0]} values, needs {prog.need[i]}"
            )
        parts.append(part)
    lengths = np.array([p.shape[0] for p in parts], dtype=np.int64)
    offsets = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)[:-1]])
    leaves = np.ascontiguousarray(np.concatenate(parts, axis=0))
    alpha64 = np.ascontiguousarray(np.asarray(alpha, dtype=np.uint64).reshape(4))
    return _fold_kernel(prog.code, leaves, offsets, prog.constraints, alpha64)  # type: ignore[no-any-return]
