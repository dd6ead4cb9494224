"""The verifier's backend: every operation `verify` performs on proof-dependent values.

The verifier (verifier.py, fri.fri_verify) is written once against this interface. `NumpyBackend`
is the concrete verifier: values are numpy arrays, batched over the queries, and a failed check
raises InvalidProof. execution/recursion/record_backend.py implements the same methods over
symbolic cells and emits a verifier program instead of computing.

Value conventions (concrete backend; the symbolic one mirrors them without the trailing axis 4):
- ext values: uint64 arrays with a trailing axis of 4; a scalar is (4,), a per-query vector (q, 4);
- base values: uint64 arrays without that axis (per-query vector (q,));
- words: the proof's own uint32 arrays (an ext value is 4 consecutive words);
- an index vector: int64 (q,) (or (q, m)) array of leaf/query indices.
Arithmetic broadcasts like numpy.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.air.evaluate import ExtOps, IntExtOps
from execution.stark.challenger import Challenger
from execution.stark.domain import bitrev, bitrev_vec, pow_vec
from execution.stark.errors import InvalidProof
from execution.stark.fri import sample_queries
from execution.stark.merkle import verify_batch
from execution.stark.params import FriParams
from execution.stark.poseidon2 import hash_elements

__all__ = ["NUMPY", "NumpyBackend", "VerifierBackend"]

U32 = npt.NDArray[np.uint32]


class VerifierBackend(Protocol):
    """What verify_with and fri_verify need; values are opaque to the verifier (see above)."""

    def air_id(self, table: int, digest: Any) -> Any: ...
    def prep_root(self, table: int, root: Any) -> Any: ...
    def ext_words(self, a: Any) -> Any: ...
    def const_ext(self, limbs: Any) -> Any: ...
    def ext_zeros(self, n: int) -> Any: ...
    def from_base(self, x: Any) -> Any: ...
    def add(self, a: Any, b: Any) -> Any: ...
    def sub(self, a: Any, b: Any) -> Any: ...
    def mul(self, a: Any, b: Any) -> Any: ...
    def mul_base(self, a: Any, b: Any) -> Any: ...
    def base_scale(self, x: Any, c: int) -> Any: ...
    def base_outer(self, t: Any, consts: list[int]) -> Any: ...
    def base_square(self, t: Any) -> Any: ...
    def inv(self, a: Any) -> Any: ...
    def pow(self, a: Any, e: int) -> Any: ...
    def powers(self, a: Any, n: int) -> Any: ...
    def dot_rows(self, rows: Any, coeffs: Any) -> Any: ...
    def dot(self, a: Any, b: Any) -> Any: ...
    def fold_ops(self) -> ExtOps[Any]: ...
    def to_fold(self, a: Any) -> Any: ...
    def from_fold(self, a: Any) -> Any: ...
    def assert_eq(self, a: Any, b: Any, what: str) -> None: ...
    def assert_zero(self, a: Any, what: str) -> None: ...
    def assert_nonzero(self, a: Any, what: str) -> None: ...
    def check_publics(self, pub: list[Any], what: str) -> None: ...
    def hash_words(self, arrays: list[Any]) -> Any: ...
    def challenger(self) -> Any: ...
    def sample_ext(self, ch: Any) -> Any: ...
    def check_pow(self, ch: Any, bits: int, nonce: Any, what: str) -> None: ...
    def sample_queries(self, ch: Any, params: FriParams, log_max: int) -> Any: ...
    def idx_shr(self, idx: Any, k: int) -> Any: ...
    def bitrev_pow(self, idx: Any, nbits: int, gen: int) -> Any: ...
    def select_low(self, values: Any, idx: Any, a: int) -> Any: ...
    def merkle_verify(
        self, root: Any, log_n: int, idx: Any, rows: Any, paths: Any, what: str
    ) -> None: ...


class NumpyBackend:
    """The concrete verifier's arithmetic, hashing and checks (see the module docstring)."""

    # --- the statement's AIRs ------------------------------------------------------------
    def air_id(self, table: int, digest: U32) -> U32:
        """The digest elements of table `table`'s AIR, as the transcript observes them."""
        return digest

    def prep_root(self, table: int, root: U32) -> U32:
        """The commitment to table `table`'s preprocessed columns."""
        return root

    # --- loading proof words -------------------------------------------------------------
    def ext_words(self, a: U32) -> L.U64:
        """(..., 4) words -> ext values (...)."""
        return L.to64(a)

    def const_ext(self, limbs: Any) -> L.U64:
        return np.array(limbs, dtype=np.uint64) % np.uint64(L.P)

    def ext_zeros(self, n: int) -> L.U64:
        return np.zeros((n, 4), dtype=np.uint64)

    # --- arithmetic ----------------------------------------------------------------------
    def from_base(self, x: L.U64) -> L.U64:
        return L.e_from_base(x)

    def add(self, a: L.U64, b: L.U64) -> L.U64:
        return L.e_add(a, b)

    def sub(self, a: L.U64, b: L.U64) -> L.U64:
        return L.e_sub(a, b)

    def mul(self, a: L.U64, b: L.U64) -> L.U64:
        return L.e_mul(a, b)

    def mul_base(self, a: L.U64, b: L.U64) -> L.U64:
        """ext a times base b (b without the trailing axis)."""
        return L.e_mul_base(a, b)

    def base_scale(self, x: L.U64, c: int) -> L.U64:
        """base x times the constant c."""
        return x * np.uint64(c % L.P) % np.uint64(L.P)  # type: ignore[no-any-return]

    def base_outer(self, t: L.U64, consts: list[int]) -> L.U64:
        """base t (q,) times constants (m,) -> (q, m)."""
        return t[:, None] * np.array(consts, dtype=np.uint64)[None, :] % np.uint64(L.P)  # type: ignore[no-any-return]

    def base_square(self, t: L.U64) -> L.U64:
        return t * t % np.uint64(L.P)  # type: ignore[no-any-return]

    def inv(self, a: L.U64) -> L.U64:
        return L.e_inv(a)

    def pow(self, a: L.U64, e: int) -> L.U64:
        return L.e_pow(a, e)

    def powers(self, a: L.U64, n: int) -> L.U64:
        return L.e_powers(a, n)

    def dot_rows(self, rows: U32, coeffs: L.U64) -> L.U64:
        """sum_j rows[i, j] * coeffs[j] for base rows (q, w) and ext coeffs (w): -> (q) ext."""
        return L.mat_dot_ext(rows, coeffs)

    def dot(self, a: L.U64, b: L.U64) -> L.U64:
        """sum_j a[j] * b[j] of two ext vectors: -> ext scalar."""
        return L.e_mul(a, b).sum(axis=0) % np.uint64(L.P)  # type: ignore[no-any-return]

    def fold_ops(self) -> ExtOps[Any]:
        """Scalar ext arithmetic for the constraint fold (Python ints: faster than numpy)."""
        return IntExtOps()

    def to_fold(self, a: L.U64) -> Any:
        return IntExtOps.wrap(a)

    def from_fold(self, a: Any) -> L.U64:
        return IntExtOps.unwrap(a)

    # --- checks --------------------------------------------------------------------------
    def assert_eq(self, a: L.U64, b: L.U64, what: str) -> None:
        if not np.array_equal(np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape)), b):
            raise InvalidProof(what)

    def assert_zero(self, a: L.U64, what: str) -> None:
        if a.any():
            raise InvalidProof(what)

    def assert_nonzero(self, a: L.U64, what: str) -> None:
        if not a.any():
            raise InvalidProof(what)

    def check_publics(self, pub: list[int], what: str) -> None:
        # Public values are field elements: v and v + p must not both name one statement.
        if any(not 0 <= int(v) < L.P for v in pub):
            raise InvalidProof(what)

    # --- hashing and transcript ----------------------------------------------------------
    def hash_words(self, arrays: list[U32]) -> U32:
        flat = np.concatenate([np.asarray(a, dtype=np.uint32).reshape(-1) for a in arrays])
        digest: U32 = hash_elements(flat)
        return digest

    def challenger(self) -> Challenger:
        return Challenger()

    def sample_ext(self, ch: Challenger) -> L.U64:
        return L.to64(ch.sample_ext())

    def check_pow(self, ch: Challenger, bits: int, nonce: int, what: str) -> None:
        if nonce >= L.P or not ch.check_witness(bits, nonce):
            raise InvalidProof(what)

    def sample_queries(
        self, ch: Challenger, params: FriParams, log_max: int
    ) -> npt.NDArray[np.int64]:
        return np.array(sample_queries(ch, params, log_max), dtype=np.int64)

    # --- query indices -------------------------------------------------------------------
    def idx_shr(self, idx: npt.NDArray[np.int64], k: int) -> npt.NDArray[np.int64]:
        return idx >> k

    def bitrev_pow(self, idx: npt.NDArray[np.int64], nbits: int, gen: int) -> L.U64:
        """base gen^bitrev_nbits(idx), elementwise."""
        if idx.size > 4096:
            return pow_vec(gen, bitrev_vec(idx, nbits))
        # Query-sized: Python's pow per index beats a numpy pass per exponent bit.
        g = gen % L.P
        flat = [pow(g, bitrev(int(i), nbits), L.P) for i in idx.flat]
        return np.array(flat, dtype=np.uint64).reshape(idx.shape)

    def select_low(self, values: Any, idx: npt.NDArray[np.int64], a: int) -> Any:
        """values (q, 2^a, ...) -> values[i, idx[i] mod 2^a] (q, ...)."""
        q = values.shape[0]
        return values[np.arange(q), (idx & ((1 << a) - 1)).astype(np.int64)]

    def merkle_verify(
        self,
        root: U32,
        log_n: int,
        idx: npt.NDArray[np.int64],
        rows: U32,
        paths: U32,
        what: str,
    ) -> None:
        if not verify_batch(root, log_n, idx, rows, paths):
            raise InvalidProof(what)


NUMPY: VerifierBackend = NumpyBackend()
