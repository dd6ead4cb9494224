"""The symbolic verifier backend: NumpyBackend's methods over cells, emitting instructions.

Values mirror the concrete backend's without the trailing ext axis: an ext or base value is a
`Cell`, a per-query vector a numpy object array of cells. A query index is a `SymIndex`, its bits
(least significant first) as cells from a BITS instruction or as known constants 0/1. Every
data-dependent choice of the concrete verifier becomes SELECT on such bits: Merkle left/right,
the leaf's position in a FRI coset, the point x = g^bitrev(index), the proof-of-work zero bits.
Checks become ASSERT_EQ (or INV for "is nonzero"), so nothing here raises on proof data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from execution.recursion.record import Cell, Recorder
from execution.stark.field import P
from execution.stark.params import FriParams
from execution.stark.poseidon2 import (
    COMPRESS_DOMAIN_NODE,
    DIGEST_SIZE,
    RATE,
    SPONGE_DOMAIN_CHALLENGER,
    SPONGE_DOMAIN_HASH,
    SPONGE_DOMAIN_LEAF,
    WIDTH,
)

__all__ = ["SymChallenger", "SymIndex", "SymbolicBackend"]

Obj = npt.NDArray[np.object_]
FULL_BITS = 31  # a canonical BabyBear element fits in 31 bits


class SymIndex:
    """A query or leaf index as bits, least significant first (cells or constants 0/1)."""

    __slots__ = ("bits",)

    def __init__(self, bits: tuple[Cell | int, ...]) -> None:
        self.bits = bits


def _obj(items: list[Any], shape: tuple[int, ...]) -> Obj:
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        out[i] = v
    return out.reshape(shape)


def _map(f: Callable[..., Any], *args: Any) -> Any:
    """Apply f elementwise with numpy broadcasting; plain cells stay plain cells."""
    if not any(isinstance(a, np.ndarray) for a in args):
        return f(*args)
    arrays = np.broadcast_arrays(*[np.asarray(a, dtype=object) for a in args])
    flat = [f(*vals) for vals in zip(*(a.reshape(-1) for a in arrays), strict=True)]
    return _obj(flat, arrays[0].shape)


class SymExtOps:
    """ExtOps for the constraint fold (air.evaluate.fold_at_point) over cells."""

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def add(self, a: Cell, b: Cell) -> Cell:
        return self.rec.add(a, b)

    def sub(self, a: Cell, b: Cell) -> Cell:
        return self.rec.sub(a, b)

    def mul(self, a: Cell, b: Cell) -> Cell:
        return self.rec.mul(a, b)

    def neg(self, a: Cell) -> Cell:
        return self.rec.sub(self.rec.base(0), a)

    def from_base(self, v: int) -> Cell:
        return self.rec.base(int(v))


class SymChallenger:
    """challenger.Challenger's protocol over cells: one POSEIDON2 per duplexing."""

    def __init__(self, backend: SymbolicBackend) -> None:
        self.b = backend
        rec = backend.rec
        self.state = [rec.base(0)] * WIDTH
        self.state[9] = rec.base(SPONGE_DOMAIN_CHALLENGER)
        self.input: list[Cell] = []
        self.output: list[Cell] = []

    def _duplex(self) -> None:
        for i, v in enumerate(self.input):
            self.state[i] = v
        self.input = []
        self.state = self.b.rec.poseidon2(self.state)
        self.output = list(self.state[:RATE])

    def observe(self, elems: Any) -> None:
        for v in self.b.cells(elems):
            # As Challenger.observe: an observation drops unread output; a full buffer absorbs.
            self.output = []
            self.input.append(v)
            if len(self.input) == RATE:
                self._duplex()

    def observe_digest(self, digest: Any) -> None:
        if np.shape(digest) != (DIGEST_SIZE,):
            raise ValueError("a digest has 8 elements")
        self.observe(digest)

    def sample(self) -> Cell:
        if self.input or not self.output:
            self._duplex()
        return self.output.pop()

    def sample_ext(self) -> Cell:
        return self.b.pack([self.sample() for _ in range(4)])

    def sample_bits(self, bits: int) -> SymIndex:
        return SymIndex(tuple(self.b.rec.bits(self.sample(), FULL_BITS)[:bits]))

    def check_witness(self, bits: int, witness: Cell) -> None:
        self.observe(np.array([witness], dtype=object))
        zero = self.b.rec.base(0)
        for bit in self.sample_bits(bits).bits:
            self.b.rec.assert_eq(bit, zero)  # type: ignore[arg-type]


class SymbolicBackend:
    """The verifier backend that records a program (see verifier_backend.NumpyBackend)."""

    def __init__(
        self, rec: Recorder, instance: dict[int, tuple[Obj, Obj | None]] | None = None
    ) -> None:
        self.rec = rec
        self._packed: dict[tuple[int, ...], Cell] = {}
        # Tables whose AIR digest and preprocessed root are input cells, not constants.
        self.instance = instance or {}

    # --- the statement's AIRs ------------------------------------------------------------
    def air_id(self, table: int, digest: Any) -> Any:
        return self.instance[table][0] if table in self.instance else digest

    def prep_root(self, table: int, root: Any) -> Any:
        cells = self.instance[table][1] if table in self.instance else None
        return root if cells is None else cells

    # --- helpers -------------------------------------------------------------------------
    def cells(self, values: Any) -> list[Cell]:
        """Cells of an observed value: symbolic cells as they are, numbers as constants."""
        arr = np.asarray(values)
        if arr.dtype == object:
            return list(arr.reshape(-1))
        if arr.dtype.kind not in "ui":
            raise ValueError(f"cannot observe values of dtype {arr.dtype}")
        flat = [int(v) for v in arr.reshape(-1)]
        if any(not 0 <= v < P for v in flat):
            raise ValueError("observed constant is not a canonical field element")
        return [self.rec.base(v) for v in flat]

    def _cell(self, v: Any) -> Cell:
        return v if isinstance(v, Cell) else self.rec.base(int(v))

    def pack(self, limbs: list[Cell]) -> Cell:
        """c0 + c1 X + c2 X^2 + c3 X^3 of four base cells (memoized: openings are reused)."""
        key = tuple(c.addr for c in limbs)
        hit = self._packed.get(key)
        if hit is None:
            rec = self.rec
            hit = limbs[0]
            for k in range(1, 4):
                x_k = rec.const(tuple(1 if j == k else 0 for j in range(4)))
                hit = rec.add(hit, rec.mul(limbs[k], x_k))
            self._packed[key] = hit
        return hit

    # --- loading proof words -------------------------------------------------------------
    def ext_words(self, a: Obj) -> Any:
        arr = np.asarray(a, dtype=object)
        if arr.shape == (4,):
            return self.pack(list(arr))
        flat = arr.reshape(-1, 4)
        return _obj([self.pack(list(row)) for row in flat], arr.shape[:-1])

    def const_ext(self, limbs: Any) -> Cell:
        return self.rec.const(np.asarray(limbs).reshape(4))

    def ext_zeros(self, n: int) -> Obj:
        return _obj([self.rec.base(0)] * n, (n,))

    # --- arithmetic ----------------------------------------------------------------------
    def from_base(self, x: Any) -> Any:
        return x

    def add(self, a: Any, b: Any) -> Any:
        return _map(self.rec.add, a, b)

    def sub(self, a: Any, b: Any) -> Any:
        return _map(self.rec.sub, a, b)

    def mul(self, a: Any, b: Any) -> Any:
        return _map(self.rec.mul, a, b)

    def mul_base(self, a: Any, b: Any) -> Any:
        if not isinstance(b, np.ndarray | Cell):
            b = self.rec.base(int(b))
        elif isinstance(b, np.ndarray) and b.dtype != object:
            b = _obj([self.rec.base(int(v)) for v in b.reshape(-1)], b.shape)
        return _map(self.rec.mul, a, b)

    def base_scale(self, x: Any, c: int) -> Any:
        return _map(self.rec.mul, x, self.rec.base(c))

    def base_outer(self, t: Obj, consts: list[int]) -> Obj:
        c = _obj([self.rec.base(v) for v in consts], (len(consts),))
        return _map(self.rec.mul, t[:, None], c[None, :])  # type: ignore[no-any-return]

    def base_square(self, t: Any) -> Any:
        return _map(lambda x: self.rec.mul(x, x), t)

    def inv(self, a: Any) -> Any:
        self.rec.note = "a denominator is zero"
        return _map(self.rec.inv, a)

    def pow(self, a: Cell, e: int) -> Cell:
        result = self.rec.base(1)
        base = a
        while e > 0:
            if e & 1:
                result = self.rec.mul(result, base)
            e >>= 1
            if e:
                base = self.rec.mul(base, base)
        return result

    def powers(self, a: Cell, n: int) -> Obj:
        out = [self.rec.base(1)]
        for _ in range(n - 1):
            out.append(self.rec.mul(out[-1], a))
        return _obj(out[:n], (n,))

    def _sum(self, terms: list[Cell]) -> Cell:
        acc = terms[0] if terms else self.rec.base(0)
        for t in terms[1:]:
            acc = self.rec.add(acc, t)
        return acc

    def dot_rows(self, rows: Obj, coeffs: Obj) -> Obj:
        q, w = rows.shape
        out = [self._sum([self.rec.mul(rows[i, j], coeffs[j]) for j in range(w)]) for i in range(q)]
        return _obj(out, (q,))

    def dot(self, a: Obj, b: Obj) -> Cell:
        return self._sum([self.rec.mul(x, y) for x, y in zip(a, b, strict=True)])

    def fold_ops(self) -> SymExtOps:
        return SymExtOps(self.rec)

    def to_fold(self, a: Cell) -> Cell:
        return a

    def from_fold(self, a: Cell) -> Cell:
        return a

    # --- checks --------------------------------------------------------------------------
    def assert_eq(self, a: Any, b: Any, what: str) -> None:
        self.rec.note = what
        _map(lambda x, y: self.rec.assert_eq(self._cell(x), self._cell(y)), a, b)

    def assert_zero(self, a: Any, what: str) -> None:
        self.assert_eq(a, self.rec.base(0), what)

    def assert_nonzero(self, a: Any, what: str) -> None:
        # An inverse exists only for a nonzero value: the hint is the check.
        self.rec.note = what
        _map(self.rec.inv, a)

    def check_publics(self, pub: list[Any], what: str) -> None:
        # Inputs are field elements by construction (program_inputs refuses anything else).
        return None

    # --- hashing and transcript ----------------------------------------------------------
    def sponge(self, elems: list[Cell], domain: int) -> list[Cell]:
        """poseidon2.hash_elements over cells: length and domain in the capacity."""
        rec = self.rec
        state = [rec.base(0)] * WIDTH
        state[8] = rec.base(len(elems))
        state[9] = rec.base(domain)
        chunks = [elems[i : i + RATE] for i in range(0, len(elems), RATE)] or [[]]
        for chunk in chunks:
            padded = chunk + [rec.base(0)] * (RATE - len(chunk))
            state = rec.poseidon2(padded + state[RATE:])
        return state[:DIGEST_SIZE]

    def hash_words(self, arrays: list[Obj]) -> Obj:
        flat = [c for a in arrays for c in np.asarray(a, dtype=object).reshape(-1)]
        self.rec.note = "opening digest"
        return _obj(self.sponge(flat, SPONGE_DOMAIN_HASH), (DIGEST_SIZE,))

    def challenger(self) -> SymChallenger:
        self.rec.note = "transcript"
        return SymChallenger(self)

    def sample_ext(self, ch: SymChallenger) -> Cell:
        self.rec.note = "transcript"
        return ch.sample_ext()

    def check_pow(self, ch: SymChallenger, bits: int, nonce: Cell, what: str) -> None:
        self.rec.note = what
        ch.check_witness(bits, nonce)

    def sample_queries(self, ch: SymChallenger, params: FriParams, log_max: int) -> Obj:
        self.rec.note = "query indices"
        return _obj(
            [ch.sample_bits(log_max) for _ in range(params.num_queries)], (params.num_queries,)
        )

    # --- query indices -------------------------------------------------------------------
    def idx_shr(self, idx: Obj, k: int) -> Obj:
        return _map(lambda i: SymIndex(i.bits[k:]), idx)  # type: ignore[no-any-return]

    def bitrev_pow(self, idx: Obj, nbits: int, gen: int) -> Obj:
        """gen^bitrev_nbits(index): bit i of the index selects the factor gen^(2^(nbits-1-i))."""
        rec = self.rec

        def one(i: SymIndex) -> Cell:
            if len(i.bits) != nbits:
                raise ValueError(f"index has {len(i.bits)} bits, expected {nbits}")
            known = 1
            unknown = []
            for k, bit in enumerate(i.bits):
                factor = pow(gen, 1 << (nbits - 1 - k), P)
                if isinstance(bit, int):
                    known = known * factor % P if bit else known
                else:
                    unknown.append((bit, factor))
            acc = rec.base(known)
            for bit, factor in unknown:
                acc = rec.select(bit, rec.mul(acc, rec.base(factor)), acc)
            return acc

        return _map(one, idx)  # type: ignore[no-any-return]

    def select_low(self, values: Obj, idx: Obj, a: int) -> Obj:
        """values[i, index_i mod 2^a]: a multiplexer tree over the low a bits."""
        rec = self.rec
        out = []
        for i in range(values.shape[0]):
            cur = np.asarray(values[i], dtype=object)
            for bit in idx[i].bits[:a]:
                cur = _map(lambda hi, lo, bit=bit: rec.select(bit, hi, lo), cur[1::2], cur[0::2])
            out.append(cur[0])
        return np.stack(out) if isinstance(out[0], np.ndarray) else _obj(out, (len(out),))

    def merkle_verify(
        self, root: Any, log_n: int, idx: Obj, rows: Obj, paths: Obj, what: str
    ) -> None:
        """merkle.verify_batch over cells, one query at a time (a program has no batches)."""
        rec = self.rec
        rec.note = what
        root_cells = [self._cell(v) for v in np.asarray(root).reshape(-1)]
        tag = rec.base(COMPRESS_DOMAIN_NODE)
        for i in range(rows.shape[0]):
            bits = idx[i].bits
            if len(bits) != log_n:
                raise ValueError(f"leaf index has {len(bits)} bits, expected {log_n}")
            node = self.sponge(list(rows[i]), SPONGE_DOMAIN_LEAF)
            for k in range(log_n):
                sib = list(paths[i, k])
                left = [rec.select(bits[k], s, n) for s, n in zip(sib, node, strict=True)]
                right = [rec.select(bits[k], n, s) for s, n in zip(sib, node, strict=True)]
                out = rec.poseidon2(left + right)[:DIGEST_SIZE]
                out[0] = rec.add(out[0], tag)
                node = out
            for x, y in zip(node, root_cells, strict=True):
                rec.assert_eq(x, y)
