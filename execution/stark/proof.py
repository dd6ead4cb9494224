"""The STARK proof object and its byte format.

Byte format (all integers little-endian; every field element a u32 that must be < p):

    magic        8 bytes  b"IVCSTK01"
    params       u16 length L, then L bytes of FriParams.to_bytes()
    num_tables   u16
    per table:
        air_digest   32 bytes (CompiledAir.digest: names the AIR the proof is for)
        log_n        u8       (log2 of the trace height)
        arrays       the TableProof arrays below, in field order, each as an ARRAY
    fri:
        commit_roots ARRAY (rounds, 8)
        final_poly   ARRAY (len, 4)
        pow_nonce    u64
        num_rounds   u16, then per round: query_rows ARRAY, query_paths ARRAY

    ARRAY = ndim u8 (1..3), ndim x u32 dims, then prod(dims) u32 elements.

The parser checks lengths against the bytes actually present before allocating, rejects
trailing bytes, and raises ProofFormatError; shapes are checked against the AIR by the verifier.
`layout()` maps each field to its byte range (used by the tamper tests and by size reports).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, fields

import numpy as np
import numpy.typing as npt

from execution.stark.errors import ProofFormatError
from execution.stark.fri import FriProof
from execution.stark.lanes import P
from execution.stark.params import FriParams, ParamsError

__all__ = ["MAGIC", "Proof", "TableProof"]

MAGIC = b"IVCSTK01"
MAX_PROOF_BYTES = 64 << 20
U32 = npt.NDArray[np.uint32]


def _empty(*shape: int) -> U32:
    return np.zeros(shape, dtype=np.uint32)


@dataclass
class TableProof:
    """One table's commitments, out-of-domain openings and query openings.

    Commitments: *_root arrays of shape (k, 8), k = 0 where the table has no such matrix
    (prep_root is never sent: the verifier recomputes it from the AIR). final_sum: (k, 4).
    OOD openings (extension elements, one per committed base column): *_local at zeta,
    *_next at zeta * g, quotient at zeta. Query openings: *_rows (q, width), *_paths (q, h, 8).
    """

    air_digest: bytes
    log_n: int
    main_root: U32
    perm_root: U32 = field(default_factory=lambda: _empty(0, 8))
    quotient_root: U32 = field(default_factory=lambda: _empty(1, 8))
    final_sum: U32 = field(default_factory=lambda: _empty(0, 4))
    prep_local: U32 = field(default_factory=lambda: _empty(0, 4))
    prep_next: U32 = field(default_factory=lambda: _empty(0, 4))
    main_local: U32 = field(default_factory=lambda: _empty(0, 4))
    main_next: U32 = field(default_factory=lambda: _empty(0, 4))
    perm_local: U32 = field(default_factory=lambda: _empty(0, 4))
    perm_next: U32 = field(default_factory=lambda: _empty(0, 4))
    quotient: U32 = field(default_factory=lambda: _empty(0, 4))
    prep_rows: U32 = field(default_factory=lambda: _empty(0, 0))
    prep_paths: U32 = field(default_factory=lambda: _empty(0, 0, 8))
    main_rows: U32 = field(default_factory=lambda: _empty(0, 0))
    main_paths: U32 = field(default_factory=lambda: _empty(0, 0, 8))
    perm_rows: U32 = field(default_factory=lambda: _empty(0, 0))
    perm_paths: U32 = field(default_factory=lambda: _empty(0, 0, 8))
    quotient_rows: U32 = field(default_factory=lambda: _empty(0, 0))
    quotient_paths: U32 = field(default_factory=lambda: _empty(0, 0, 8))


ARRAY_FIELDS = [f.name for f in fields(TableProof) if f.name not in ("air_digest", "log_n")]


@dataclass
class Proof:
    params: FriParams
    tables: list[TableProof]
    fri: FriProof

    def to_bytes(self) -> bytes:
        return _Writer().proof(self)[0]

    def layout(self) -> list[tuple[str, int, int]]:
        """(field name, start, end) for every field, in byte order."""
        return _Writer().proof(self)[1]

    def size(self) -> int:
        return len(self.to_bytes())

    def size_by_part(self) -> dict[str, int]:
        """Bytes per kind of field, summed over tables and FRI rounds (for size reports)."""
        out: dict[str, int] = {}
        for name, start, end in self.layout():
            part = name.split(".", 1)[-1]
            if part.startswith("round"):
                part = "fri_" + part.split(".", 1)[1]
            out[part] = out.get(part, 0) + end - start
        return out

    @classmethod
    def from_bytes(cls, data: bytes) -> Proof:
        if len(data) > MAX_PROOF_BYTES:
            raise ProofFormatError("proof: larger than the maximum proof size")
        return _Reader(bytes(data)).proof()


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()
        self.spans: list[tuple[str, int, int]] = []

    def _put(self, name: str, b: bytes) -> None:
        start = len(self.out)
        self.out += b
        self.spans.append((name, start, len(self.out)))

    def _array(self, name: str, a: npt.NDArray[np.uint32]) -> None:
        a = np.ascontiguousarray(a, dtype=np.uint32)
        if not 1 <= a.ndim <= 3:
            raise ValueError("proof arrays have 1 to 3 dimensions")
        head = struct.pack(f"<B{a.ndim}I", a.ndim, *a.shape)
        self._put(name, head + a.astype("<u4").tobytes())

    def proof(self, p: Proof) -> tuple[bytes, list[tuple[str, int, int]]]:
        self._put("magic", MAGIC)
        pb = p.params.to_bytes()
        self._put("params", struct.pack("<H", len(pb)) + pb)
        self._put("num_tables", struct.pack("<H", len(p.tables)))
        for t, tp in enumerate(p.tables):
            if len(tp.air_digest) != 32:
                raise ValueError("air digest must be 32 bytes")
            self._put(f"table{t}.air_digest", tp.air_digest)
            self._put(f"table{t}.log_n", bytes([tp.log_n]))
            for name in ARRAY_FIELDS:
                self._array(f"table{t}.{name}", getattr(tp, name))
        f = p.fri
        self._array(
            "fri.commit_roots", np.stack(f.commit_roots) if f.commit_roots else _empty(0, 8)
        )
        self._array("fri.final_poly", f.final_poly)
        self._put("fri.pow_nonce", struct.pack("<Q", f.pow_nonce))
        self._put("fri.num_rounds", struct.pack("<H", len(f.query_rows)))
        for r, (rows, paths) in enumerate(zip(f.query_rows, f.query_paths, strict=True)):
            self._array(f"fri.round{r}.rows", rows)
            self._array(f"fri.round{r}.paths", paths)
        return bytes(self.out), self.spans


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProofFormatError(f"proof: truncated in {what}")
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def _u(self, fmt: str, what: str) -> int:
        size = struct.calcsize(fmt)
        return int(struct.unpack(fmt, self._take(size, what))[0])

    def _array(self, what: str) -> U32:
        ndim = self._u("<B", what)
        if not 1 <= ndim <= 3:
            raise ProofFormatError(f"proof: {what} has a bad number of dimensions")
        dims = struct.unpack(f"<{ndim}I", self._take(4 * ndim, what))
        count = 1
        for d in dims:
            count *= d
        if count * 4 > len(self.data) - self.pos:
            raise ProofFormatError(f"proof: {what} is longer than the proof")
        raw = self._take(count * 4, what)
        a = np.frombuffer(raw, dtype="<u4").astype(np.uint32).reshape(dims)
        if a.size and int(a.max()) >= P:
            raise ProofFormatError(f"proof: {what} holds a non-canonical field element")
        return a

    def proof(self) -> Proof:
        if self._take(len(MAGIC), "magic") != MAGIC:
            raise ProofFormatError("proof: bad magic or version")
        plen = self._u("<H", "params")
        try:
            params = FriParams.from_bytes(self._take(plen, "params"))
        except ParamsError as exc:
            raise ProofFormatError(f"proof: bad parameters: {exc}") from exc
        num_tables = self._u("<H", "num_tables")
        if not 1 <= num_tables <= 64:
            raise ProofFormatError("proof: number of tables out of range")
        tables = []
        for t in range(num_tables):
            digest = self._take(32, f"table{t}.air_digest")
            log_n = self._u("<B", f"table{t}.log_n")
            arrays = {name: self._array(f"table{t}.{name}") for name in ARRAY_FIELDS}
            tables.append(TableProof(air_digest=digest, log_n=log_n, **arrays))
        roots = self._array("fri.commit_roots")
        if roots.ndim != 2 or roots.shape[1] != 8:
            raise ProofFormatError("proof: fri.commit_roots must have shape (rounds, 8)")
        final_poly = self._array("fri.final_poly")
        nonce = self._u("<Q", "fri.pow_nonce")
        rounds = self._u("<H", "fri.num_rounds")
        if rounds > 64:
            raise ProofFormatError("proof: too many FRI rounds")
        rows, paths = [], []
        for r in range(rounds):
            rows.append(self._array(f"fri.round{r}.rows"))
            paths.append(self._array(f"fri.round{r}.paths"))
        if self.pos != len(self.data):
            raise ProofFormatError("proof: trailing bytes")
        fri = FriProof(
            commit_roots=list(roots),
            final_poly=final_poly,
            pow_nonce=nonce,
            query_rows=rows,
            query_paths=paths,
        )
        return Proof(params=params, tables=tables, fri=fri)
