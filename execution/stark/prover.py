"""The STARK prover for one or more tables (AIRs) connected by LogUp buses.

Protocol (the verifier replays the same transcript; see verifier.py):
 1. Observe the statement: parameters, each AIR's digest, height and public values.
 2. Per table: commit the main trace LDE (the preprocessed LDE is fixed by the AIR and observed).
 3. If any table has LogUp interactions: sample gamma, beta; per such table commit the LogUp
    columns (helper columns and running sum) and observe its final sum.
 4. Sample alpha; per table evaluate sum_i alpha^i C_i / Z_H on the quotient coset (the first
    n * 2^log_qd rows of the bit-reversed LDE), split the quotient into 2^log_qd polynomials of
    degree < n, commit their LDEs.
 5. Sample zeta; open every committed column at zeta (and main, preprocessed and LogUp columns
    also at zeta * g) and observe the openings.
 6. Sample the DEEP batching challenge; per table form sum_k a^k (p_k(X) - p_k(z)) / (X - z) over
    the LDE; run FRI on these codewords (one per distinct height); grind; sample the queries;
    open every tree at the queries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt

from execution.stark import lanes as L
from execution.stark.air.compiled import CompiledAir
from execution.stark.air.evaluate import (
    DomainInputs,
    RolledColumns,
    eval_base_nodes,
    evaluate_on_domain,
    fold_on_domain,
)
from execution.stark.domain import bitrev, bitrev_permutation, coset_points_bitrev
from execution.stark.errors import ProvingError
from execution.stark.field import GENERATOR, two_adic_generator
from execution.stark.fri import FriProof, fri_commit, fri_open, sample_queries
from execution.stark.merkle import MerkleTree, hash_leaves
from execution.stark.ntt import coset_lde, intt, ntt
from execution.stark.params import FriParams
from execution.stark.proof import Proof, TableProof
from execution.stark.protocol import (
    OPENING_FIELDS,
    QUOTIENT_ROWS_PER_LEAF,
    opening_digest,
    preprocessed_data,
    start_transcript,
)

__all__ = ["PhaseTimer", "prove"]

U32 = npt.NDArray[np.uint32]


@dataclass
class PhaseTimer:
    """Wall time per prover phase, summed over tables, and every phase's (start, end) span on
    the perf_counter clock (a benchmark maps its RSS samples onto the spans). `cpu_seconds` is
    the process CPU time per phase (all threads): on the shared, oversubscribed machine wall
    time was up to 10x the CPU time, so comparisons use this."""

    seconds: dict[str, float] = field(default_factory=dict)
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        c0 = time.process_time()
        try:
            yield
        finally:
            t1 = time.perf_counter()
            self.seconds[name] = self.seconds.get(name, 0.0) + (t1 - t0)
            self.cpu_seconds[name] = self.cpu_seconds.get(name, 0.0) + (time.process_time() - c0)
            self.spans.append((name, t0, t1))


# An LDE of at least this many elements is released after its commitment and recomputed for
# each later phase that reads it (quotient, DEEP, query openings): the LDEs are blowup times the
# traces and were most of a proof's peak memory, while an LDE costs a few % of proving time.
RELEASE_LDE_ELEMENTS = 1 << 20
# The quotient is evaluated over this many coset rows at a time. The constraint DAG's live
# intermediates are a few KB per chunk row (sha256 2^14, numpy-tracked peak above the phase's
# start: 158 MB at 2^16 rows, 101 MB at 2^15, 74 MB at 2^14): a fixed cost per proof. Smaller
# chunks mean more calls per DAG node: 2^14 cost ~40% more quotient time at 2^14 cycles; at
# 2^18 cycles (single runs under load 19-22) 2^15 took 13.5 s CPU against 10.4 s at 2^16, so the
# chunk is 2^16: at 2^18 cycles 3,771 B/cycle peak against 3,621 with 2^15 (lead, 04:30).
QUOTIENT_CHUNK_ROWS = 1 << 16

# A released LDE's block is recomputed this many columns at a time (DEEP, openings).
LDE_COLUMN_CHUNK = 16

# Committed trees keep no leaf level (see _lde_commit); tests turn it off to compare proofs.
DROP_LEAF_LEVEL = True


def _block_shift(log_n: int, log_blowup: int, b: int) -> int:
    """The coset shift of block b of a bit-reversed LDE of 2^log_n rows at this blowup: its row
    b*n + j is the point GENERATOR * w_N^bitrev(b) * w_n^bitrev(j)."""
    w_big = two_adic_generator(log_n + log_blowup)
    return GENERATOR * pow(w_big, bitrev(b, log_blowup), L.P) % L.P


@dataclass
class _Committed:
    """A committed matrix: its values on the trace domain H (natural order), its Merkle tree
    (only the digest levels are kept once the LDE is released, and without the leaf level when
    `leaves_dropped`) and, if small, its LDE."""

    on_h: U32
    tree: MerkleTree
    log_blowup: int
    rows_per_leaf: int = 1
    kept_lde: U32 | None = None
    leaves_dropped: bool = False

    def lde(self, log_blowup: int | None = None) -> U32:
        """The LDE (bit-reversed coset order): the kept one, or recomputed (same values; the
        time counts in the phase that asks). A smaller `log_blowup` recomputes only the first
        n * 2^log_blowup rows, which are the LDE of that blowup on the same coset (row i is
        the point shift * w^bitrev(i)): the quotient reads no others."""
        if self.kept_lde is not None:
            return self.kept_lde
        lb = self.log_blowup if log_blowup is None else min(log_blowup, self.log_blowup)
        return coset_lde(self.on_h, lb, GENERATOR)

    def lde_blocks(self) -> Iterator[tuple[int, U32]]:
        """The LDE as (first row, block of n rows), one block at a time: a released LDE is
        recomputed block by block, so only n rows of it are alive at once. Rows b*n .. b*n+n-1
        of the bit-reversed LDE are the points shift * w_N^bitrev(b) * w_n^bitrev(j): the
        size-n LDE (blowup 1) of the coset shifted by w_N^bitrev(b)."""
        if self.kept_lde is not None:
            yield 0, self.kept_lde
            return
        n = self.on_h.shape[0]
        for b in range(1 << self.log_blowup):
            yield b * n, self.lde_block(b)

    def lde_block(self, b: int, cols: slice = slice(None)) -> U32:
        """Block b (rows b*n .. b*n+n-1) of the LDE, columns `cols`, sliced from a kept one or
        recomputed (a column range at a time keeps the recomputation's arrays small: a whole
        block of the CPU table is as large as its trace, twice with coset_lde's transpose)."""
        n = self.on_h.shape[0]
        if self.kept_lde is not None:
            return self.kept_lde[b * n : (b + 1) * n, cols]
        shift = _block_shift(n.bit_length() - 1, self.log_blowup, b)
        return coset_lde(self.on_h[:, cols], 0, shift)

    def column_ranges(self) -> list[slice]:
        """The column ranges a phase recomputes a released LDE's block in (one for a kept one)."""
        w = self.on_h.shape[1]
        if self.kept_lde is not None or w <= LDE_COLUMN_CHUNK:
            return [slice(0, w)]
        return [slice(c, min(w, c + LDE_COLUMN_CHUNK)) for c in range(0, w, LDE_COLUMN_CHUNK)]

    def lde_rows(self, idx: npt.NDArray[np.int64]) -> U32:
        """Rows idx of the LDE (computing each block that holds one of them once)."""
        n = self.on_h.shape[0]
        out = np.empty((idx.shape[0], self.on_h.shape[1]), dtype=np.uint32)
        for b in range(1 << self.log_blowup):
            sel = (idx >= b * n) & (idx < (b + 1) * n)
            if not sel.any():
                continue
            at = np.nonzero(sel)[0]
            local = idx[at] - b * n
            for cols in self.column_ranges():
                out[at, cols] = self.lde_block(b, cols)[local]
        return out

    def _leaf_rows(self, lde_rows: U32, q: int) -> tuple[U32, U32]:
        # lde_rows holds, for j < k, the rows k*leaf + j of the q leaves then of their siblings.
        k = self.rows_per_leaf
        parts = [lde_rows[j * 2 * q : (j + 1) * 2 * q] for j in range(k)]
        rows = np.concatenate([p[:q] for p in parts], axis=1)
        sib = np.concatenate([p[q:] for p in parts], axis=1)
        return np.ascontiguousarray(rows, dtype=np.uint32), np.ascontiguousarray(sib)

    def open(self, leaf_idx: npt.NDArray[np.int64]) -> tuple[U32, U32]:
        """Rows and authentication paths of the given leaves (MerkleTree.open's layout)."""
        k = self.rows_per_leaf
        q = leaf_idx.shape[0]
        both = np.concatenate([leaf_idx, leaf_idx ^ 1])
        wanted = np.concatenate([k * both + j for j in range(k)]).astype(np.int64)
        rows, sib_rows = self._leaf_rows(self.lde_rows(wanted), q)
        levels = self.tree.levels
        first = 0
        if self.leaves_dropped:
            # The sibling leaves' digests, rehashed from their rows (43 leaves, not 2^20 kept).
            levels = (hash_leaves(sib_rows), *levels)
            first = 1
        paths = np.empty((leaf_idx.shape[0], len(levels) - 1, 8), dtype=np.uint32)
        for h in range(len(levels) - 1):
            paths[:, h, :] = levels[h] if h < first else levels[h][(leaf_idx >> h) ^ 1]
        return rows, paths


def _lde_commit(
    on_h: U32, log_blowup: int, timer: PhaseTimer, rows_per_leaf: int = 1
) -> _Committed:
    on_h = np.ascontiguousarray(on_h, dtype=np.uint32)
    with timer.phase("lde"):
        lde = coset_lde(on_h, log_blowup, GENERATOR)
    with timer.phase("commit"):
        if rows_per_leaf == 1:
            tree = MerkleTree.build(lde)
        else:
            # Adjacent LDE rows (x and -x) share a leaf: half the inner nodes for a narrow matrix.
            paired = np.ascontiguousarray(lde).reshape(lde.shape[0] // rows_per_leaf, -1)
            tree = MerkleTree.build(paired)
            del paired
    keep = lde.size < RELEASE_LDE_ELEMENTS
    # The tree's own reference to the committed matrix would keep the LDE alive: keep only its
    # digest levels (openings read rows from a recomputed LDE instead). The leaf level is half
    # of those digests and the openings need only the queried leaves' siblings: they are
    # rehashed from the LDE rows at opening time instead of being held from commit to query.
    drop = DROP_LEAF_LEVEL and tree.height >= 1
    levels = tree.levels[1:] if drop else tree.levels
    digests = MerkleTree(matrix=np.zeros((0, 0), dtype=np.uint32), levels=levels)
    del tree
    return _Committed(on_h, digests, log_blowup, rows_per_leaf, lde if keep else None, drop)


def _check_inputs(
    airs: list[CompiledAir], traces: list[U32], publics: list[list[int]], params: FriParams
) -> list[U32]:
    if not airs or not (len(airs) == len(traces) == len(publics)):
        raise ProvingError("need one trace and one public-value list per AIR")
    out = []
    for air, trace, pub in zip(airs, traces, publics, strict=True):
        t = np.asarray(trace)
        if t.ndim != 2 or t.shape[1] != air.width:
            raise ProvingError(f"{air.name}: trace must have shape (n, {air.width})")
        n = t.shape[0]
        if n < 2 or n & (n - 1):
            raise ProvingError(f"{air.name}: trace height must be a power of two >= 2")
        if t.size and (int(t.min()) < 0 or int(t.max()) >= L.P):
            raise ProvingError(f"{air.name}: trace values must be canonical field elements")
        if len(pub) != air.num_public_values:
            raise ProvingError(f"{air.name}: expected {air.num_public_values} public values")
        if any(not 0 <= int(v) < L.P for v in pub):
            raise ProvingError(f"{air.name}: public values must be canonical field elements")
        if air.log_quotient_degree > params.log_blowup:
            raise ProvingError(f"{air.name}: constraint degree too high for this blowup")
        out.append(np.ascontiguousarray(t, dtype=np.uint32))
    return out


def _logup_trace(
    air: CompiledAir, main_h: U32, prep_h: U32 | None, pub: list[int], challenges: L.U64
) -> tuple[U32, L.U64]:
    """LogUp helper columns (one per interaction group) and the running sum on H, flattened to
    (n, 4 * (G + 1)); and the final sum.

    One helper column at a time: its interactions' denominators are inverted together and its
    terms written straight into the uint32 result. Denominators, inverses and terms of every
    interaction at once were (k, n, 4) uint64 arrays each, with e_inv's temporaries, the LogUp
    phase's peak (several KB per CPU row).
    """
    n = main_h.shape[0]
    wanted = [v for _, vals, m in air.interactions for v in (*vals, m)]
    rows = np.arange(n, dtype=np.int64)
    # Trace columns are read as uint64 one at a time (no uint64 copy of the whole trace).
    main_cols = cast(L.U64, _CosetColumns(main_h, rows, 0, False))
    prep_cols = None if prep_h is None else cast(L.U64, _CosetColumns(prep_h, rows, 0, False))
    vals = eval_base_nodes(air, wanted, main_cols, prep_cols, pub, n)
    gamma, beta = challenges[0], challenges[1]
    ng = len(air.logup_groups)
    out = np.empty((n, 4 * (ng + 1)), dtype=np.uint32)
    row_sum = np.zeros((n, 4), dtype=np.uint64)
    for g, members in enumerate(air.logup_groups):
        dens = np.empty((len(members), n, 4), dtype=np.uint64)
        for j, i in enumerate(members):
            bus, vnodes, _ = air.interactions[i]
            fp = np.zeros((n, 4), dtype=np.uint64)
            fp[:, 0] = bus % L.P
            power = beta
            for v in vnodes:
                fp = L.e_add(fp, L.e_mul_base(power[None, :], vals[v]))
                power = L.e_mul(power, beta)
            dens[j] = L.e_sub(np.broadcast_to(gamma, (n, 4)), fp)
            del fp
        try:
            invs = L.e_inv(dens.reshape(-1, 4)).reshape(len(members), n, 4)
        except ZeroDivisionError as exc:
            raise ProvingError(f"{air.name}: LogUp denominator vanished (retry)") from exc
        del dens
        col = L.e_mul_base(invs[0], vals[air.interactions[members[0]][2]])
        for j, i in enumerate(members[1:], start=1):
            col = L.e_add(col, L.e_mul_base(invs[j], vals[air.interactions[i][2]]))
        del invs
        out[:, 4 * g : 4 * g + 4] = col
        row_sum = L.e_add(row_sum, col)
        del col
    del vals
    # Values below p summed over at most 2^27 rows stay below 2^58: one reduction at the end.
    running = np.cumsum(row_sum, axis=0) % L.P
    out[:, 4 * ng :] = running
    final_sum = running[n - 1].copy()
    return out, final_sum


def _selectors_on_coset(log_n: int, log_qd: int) -> tuple[L.U64, L.U64, L.U64, L.U64]:
    """is_first_row, is_last_row, is_transition and 1/Z_H on the coset GENERATOR * <w_{n qd}>."""
    n = 1 << log_n
    big = n << log_qd
    x = L.powers(two_adic_generator(log_n + log_qd), big) * np.uint64(GENERATOR) % np.uint64(L.P)
    # x^n = GENERATOR^n * w_qd^k takes only 2^log_qd distinct values.
    xn_small = (
        L.powers(two_adic_generator(log_qd), 1 << log_qd)
        * np.uint64(pow(GENERATOR, n, L.P))
        % np.uint64(L.P)
    )
    zh_small = (xn_small + np.uint64(L.P - 1)) % np.uint64(L.P)
    zh = np.tile(zh_small, n)
    inv_zh = np.tile(L.b_inv(zh_small), n)
    g_inv = pow(two_adic_generator(log_n), L.P - 2, L.P)
    x_minus_one = (x + np.uint64(L.P - 1)) % np.uint64(L.P)
    x_minus_ginv = (x + np.uint64(L.P - g_inv)) % np.uint64(L.P)
    first = zh * L.b_inv(x_minus_one) % np.uint64(L.P)
    last = zh * L.b_inv(x_minus_ginv) % np.uint64(L.P)
    return first, last, x_minus_ginv, inv_zh


class _CosetColumns(RolledColumns):
    """The columns of a committed LDE on the quotient coset (natural order, optionally a trace
    row ahead), gathered as uint64 one column (or one extension column of 4) at a time when
    read. Gathering every column up front held a uint64 copy of the widest tables' coset
    values, twice their committed LDE, through the whole quotient evaluation."""

    def __init__(
        self,
        lde: U32,
        nat: npt.NDArray[np.int64],
        shift: int,
        ext: bool,
        window: slice = slice(None),
    ) -> None:
        super().__init__(np.zeros((0, 0), dtype=np.uint64), shift)
        self.lde = lde
        self.rows = np.roll(nat, -shift)[window]
        self.ext = ext

    def __getitem__(self, i: int) -> L.U64:
        if self.ext:
            return L.gather_rows(self.lde, self.rows, 4 * i, 4)
        return L.gather_rows(self.lde, self.rows, i, 1).reshape(-1)

    def __len__(self) -> int:
        return int(self.lde.shape[1]) // (4 if self.ext else 1)


def _quotient(
    air: CompiledAir,
    log_n: int,
    main: _Committed,
    prep: _Committed | None,
    perm: _Committed | None,
    pub: list[int],
    challenges: L.U64,
    final_sum: L.U64,
    alpha: L.U64,
    log_blowup: int,
) -> U32:
    """Quotient chunks on H, flattened to (n, 4 * 2^log_qd) base columns."""
    log_qd = air.log_quotient_degree
    n = 1 << log_n
    big = n << log_qd
    qd = 1 << log_qd
    first, last, trans, inv_zh = _selectors_on_coset(log_n, log_qd)
    alpha_pows = L.e_powers(alpha, len(air.constraints))
    publics = np.array([v % L.P for v in pub], dtype=np.uint64)
    folded = np.empty((big, 4), dtype=np.uint64)
    # One LDE block of n rows at a time (blocks 0..qd-1 of the bit-reversed LDE are the quotient
    # coset): block b holds the coset points of natural index r + qd*m (r = bitrev(b)), row
    # bitrev(m) for point m, and its next-row points (x*g = x*w_n) in the same block. The whole
    # coset's columns (2n rows of every matrix, recomputed) were this phase's peak.
    nat = bitrev_permutation(log_n)
    for b in range(qd):
        r = bitrev(b, log_qd)
        blocks = [
            (None if c is None else c.lde_block(b), ext)
            for c, ext in ((main, False), (prep, False), (perm, True))
        ]
        # In row chunks: every DAG intermediate is a chunk long, not the whole block.
        for lo in range(0, n, QUOTIENT_CHUNK_ROWS):
            hi = min(n, lo + QUOTIENT_CHUNK_ROWS)
            win = slice(lo, hi)
            at = slice(r + qd * lo, r + qd * hi, qd)
            cols: list[RolledColumns] = []
            for lde, ext in blocks:
                if lde is None:
                    e = np.zeros((0, hi - lo, 4) if ext else (0, hi - lo), dtype=np.uint64)
                    cols += [RolledColumns(e, 0), RolledColumns(e, 0)]
                else:
                    cols += [
                        _CosetColumns(lde, nat, 0, ext, win),
                        _CosetColumns(lde, nat, 1, ext, win),
                    ]
            inputs = DomainInputs(
                main=cols[0],
                main_next=cols[1],
                prep=cols[2],
                prep_next=cols[3],
                perm=cols[4],
                perm_next=cols[5],
                publics=publics,
                challenges=challenges,
                final_sum=final_sum,
                is_first_row=np.ascontiguousarray(first[at]),
                is_last_row=np.ascontiguousarray(last[at]),
                is_transition=np.ascontiguousarray(trans[at]),
            )
            folded[at] = fold_on_domain(air, inputs, alpha_pows, hi - lo)
            del inputs, cols
        del blocks
    q = L.e_mul_base(folded, inv_zh)
    # Coefficients of Q(GENERATOR * y) in y, then undo the shift: c_k = c'_k * GENERATOR^-k.
    coeffs = L.to64(intt(q.astype(np.uint32), axis=0))
    shift_inv = pow(GENERATOR, L.P - 2, L.P)
    coeffs = coeffs * L.powers(shift_inv, big)[:, None] % np.uint64(L.P)
    chunks = [ntt(coeffs[j * n : (j + 1) * n].astype(np.uint32), axis=0) for j in range(qd)]
    return np.ascontiguousarray(np.concatenate(chunks, axis=1), dtype=np.uint32)


def _check_constraints(
    air: CompiledAir,
    main_h: U32,
    prep_h: U32 | None,
    perm_h: U32 | None,
    pub: list[int],
    challenges: L.U64,
    final_sum: L.U64,
) -> None:
    """Evaluate every constraint on the trace rows; raise ProvingError naming one that fails."""
    n = main_h.shape[0]
    first = np.zeros(n, dtype=np.uint64)
    first[0] = 1
    last = np.zeros(n, dtype=np.uint64)
    last[-1] = 1
    trans = 1 - last
    # Columns are read as uint64 one at a time when the DAG needs them (the identity rows of
    # _CosetColumns): uint64 copies of the whole trace and its rolled copy doubled this phase.
    rows = np.arange(n, dtype=np.int64)

    def lazy(m: U32 | None, shift: int, ext: bool) -> RolledColumns:
        if m is None:
            return RolledColumns(np.zeros((0, n, 4) if ext else (0, n), dtype=np.uint64), 0)
        return _CosetColumns(m, rows, shift, ext)

    inputs = DomainInputs(
        main=lazy(main_h, 0, False),
        main_next=lazy(main_h, 1, False),
        prep=lazy(prep_h, 0, False),
        prep_next=lazy(prep_h, 1, False),
        perm=lazy(perm_h, 0, True),
        perm_next=lazy(perm_h, 1, True),
        publics=np.array([v % L.P for v in pub], dtype=np.uint64),
        challenges=challenges,
        final_sum=final_sum,
        is_first_row=first,
        is_last_row=last,
        is_transition=trans,
    )
    failures: list[tuple[int, int]] = []

    def check(ci: int, val: object, is_ext: bool) -> None:
        v = np.broadcast_to(np.asarray(val), (n, 4) if is_ext else (n,))
        bad = np.nonzero(v.reshape(n, -1).any(axis=1))[0]
        if bad.size:
            failures.append((ci, int(bad[0])))

    evaluate_on_domain(air, inputs, n, check)
    if failures:
        ci, row = min(failures)
        raise ProvingError(f"{air.name}: {air.constraint_labels[ci]} fails at row {row}")


def _barycentric_weights(log_n: int, z: L.U64) -> L.U64:
    """c_i with p(z) = sum_i c_i p(w^i) for deg p < n: c_i = (z^n - 1)/n * w^i / (z - w^i)."""
    n = 1 << log_n
    w = L.powers(two_adic_generator(log_n), n)
    diff = L.e_sub(np.broadcast_to(z, (n, 4)), L.e_from_base(w))
    inv = L.e_inv(diff)
    zn1 = L.e_sub(L.e_pow(z, n), np.array([1, 0, 0, 0], dtype=np.uint64))
    scale = L.e_mul_base(zn1, np.uint64(pow(n, L.P - 2, L.P)))
    return L.e_mul(L.e_mul_base(inv, w), scale)


def _open_at(c: _Committed | None, weights: L.U64) -> U32:
    if c is None:
        return np.zeros((0, 4), dtype=np.uint32)
    return L.mat_dot_ext(np.ascontiguousarray(c.on_h.T), weights).astype(np.uint32)


def _deep_codeword(
    per_matrix: list[tuple[_Committed | None, list[tuple[L.U64, U32]]]],
    log_n: int,
    log_blowup: int,
    zeta: L.U64,
    fri_alpha: L.U64,
    power: L.U64,
) -> tuple[L.U64, L.U64]:
    """One table's DEEP quotient sum_k a^k (p_k(X) - p_k(z)) / (X - z) over its LDE (bit-reversed
    rows), and the next unused power of a. Column k of the batch (matrices prep/main/perm/
    quotient, points zeta then zeta*g, columns in order) gets fri_alpha^k; the verifier assigns
    the same powers.

    Computed one LDE block of n rows at a time: the block's rows of every matrix (a released LDE
    is recomputed block by block, see lde_blocks), their combination, the numerators and the
    inverses. Whole-height extension arrays (points, combined columns, numerators, two inverse
    arrays, products: 32 bytes per LDE row each) were the DEEP phase's peak.
    """
    n = 1 << log_n
    one = np.array([1, 0, 0, 0], dtype=np.uint64)
    # Per matrix: its coefficients a^k and per opening point the scale of its second w powers;
    # per point the sum over matrices of the opened values times their coefficients.
    plans: list[tuple[_Committed, L.U64, list[L.U64]]] = []
    y_sums: list[L.U64] = []
    for com, pts in per_matrix:
        if com is None:
            continue
        w = com.on_h.shape[1]
        coeffs = L.e_mul(L.e_powers(fri_alpha, w), power)
        # The columns at the second point get the next w powers: alpha^w times these.
        alpha_w = L.e_pow(fri_alpha, w)
        scale = one
        scales: list[L.U64] = []
        for p_idx, (_, y) in enumerate(pts):
            y_sum = L.e_mul(L.e_mul(L.to64(y), coeffs).sum(axis=0) % L.P, scale)
            if p_idx < len(y_sums):
                y_sums[p_idx] = L.e_add(y_sums[p_idx], y_sum)
            else:
                y_sums.append(y_sum)
            scales.append(scale)
            scale = L.e_mul(scale, alpha_w)
            power = L.e_mul(power, alpha_w)
        plans.append((com, coeffs, scales))
    out = np.empty((n << log_blowup, 4), dtype=np.uint64)
    # 1/(x - zeta*g) = g^-1 / (x*g^-1 - zeta), and x*g^-1 is the point of another row of the same
    # block (row j's exponent bitrev(j) minus one): a permuted copy of the first inverses.
    br = bitrev_permutation(log_n)
    prev_row = br[(br - 1) % n]
    g_inv = np.uint64(pow(two_adic_generator(log_n), L.P - 2, L.P))
    for b in range(1 << log_blowup):
        nums = [np.zeros((n, 4), dtype=np.uint64) for _ in y_sums]
        for com, coeffs, scales in plans:
            combined = np.zeros((n, 4), dtype=np.uint64)
            for cols in com.column_ranges():
                block = com.lde_block(b, cols)
                combined = L.e_add(combined, L.mat_dot_ext(block, coeffs[cols]))
                del block
            for p_idx, scale in enumerate(scales):
                term = combined if p_idx == 0 else L.e_mul(combined, scale)
                nums[p_idx] = L.e_add(nums[p_idx], term)
                del term
            del combined
        x = L.e_from_base(coset_points_bitrev(log_n, _block_shift(log_n, log_blowup, b)))
        inv_zeta = L.e_inv(L.e_sub(x, zeta))
        del x
        acc = L.e_mul(L.e_sub(nums[0], y_sums[0][None, :]), inv_zeta)
        if len(nums) > 1:
            inv_next = L.e_mul_base(inv_zeta[prev_row], g_inv)
            acc = L.e_add(acc, L.e_mul(L.e_sub(nums[1], y_sums[1][None, :]), inv_next))
            del inv_next
        out[b * n : (b + 1) * n] = acc
        del nums, inv_zeta, acc
    return out, power


def prove(
    airs: list[CompiledAir],
    traces: list[U32],
    publics: list[list[int]],
    params: FriParams,
    *,
    check: bool = True,
    timer: PhaseTimer | None = None,
) -> Proof:
    """Prove that each trace satisfies its AIR with the given public values.

    check=False skips the row-by-row constraint check (the soundness tests use it to build
    proofs of false statements, which the verifier must then reject). `timer`, when given,
    collects the wall time of each phase (preprocessed, lde, commit, logup, check, quotient,
    open, deep, fri, query).
    """
    tm = timer or PhaseTimer()
    traces = _check_inputs(airs, traces, publics, params)
    lb = params.log_blowup
    log_ns = [t.shape[0].bit_length() - 1 for t in traces]
    ch = start_transcript(params, airs, log_ns, publics)

    preps = []
    mains = []
    for air, trace, log_n in zip(airs, traces, log_ns, strict=True):
        with tm.phase("preprocessed"):
            pd = preprocessed_data(air, log_n, lb)
        # The fixed tables' LDEs stay in protocol's cache anyway: keep them.
        prep = None if pd is None else _Committed(pd.trace, pd.tree, lb, 1, pd.lde)
        if prep is not None:
            ch.observe_digest(prep.tree.root)
        main = _lde_commit(trace, lb, tm)
        ch.observe_digest(main.tree.root)
        preps.append(prep)
        mains.append(main)

    any_logup = any(a.num_interactions for a in airs)
    challenges = (
        np.stack([L.to64(ch.sample_ext()) for _ in range(2)])
        if any_logup
        else np.zeros((0, 4), dtype=np.uint64)
    )
    perms: list[_Committed | None] = []
    final_sums: list[L.U64] = []
    for air, main, prep, pub in zip(airs, mains, preps, publics, strict=True):
        if not air.num_interactions:
            perms.append(None)
            final_sums.append(np.zeros(4, dtype=np.uint64))
            continue
        with tm.phase("logup"):
            perm_h, fsum = _logup_trace(
                air, main.on_h, None if prep is None else prep.on_h, pub, challenges
            )
        perm = _lde_commit(perm_h, lb, tm)
        ch.observe_digest(perm.tree.root)
        ch.observe(fsum.astype(np.uint32))
        perms.append(perm)
        final_sums.append(fsum)

    with tm.phase("check"):
        if check:
            for i, air in enumerate(airs):
                prep_i, perm_i = preps[i], perms[i]
                _check_constraints(
                    air,
                    mains[i].on_h,
                    None if prep_i is None else prep_i.on_h,
                    None if perm_i is None else perm_i.on_h,
                    publics[i],
                    challenges,
                    final_sums[i],
                )
            if any_logup:
                total = np.zeros(4, dtype=np.uint64)
                for fs in final_sums:
                    total = L.e_add(total, fs)
                if total.any():
                    raise ProvingError("LogUp buses do not balance across tables")

    alpha = L.to64(ch.sample_ext())
    quots = []
    for i, air in enumerate(airs):
        with tm.phase("quotient"):
            q_h = _quotient(
                air,
                log_ns[i],
                mains[i],
                preps[i],
                perms[i],
                publics[i],
                challenges,
                final_sums[i],
                alpha,
                lb,
            )
        quot = _lde_commit(q_h, lb, tm, QUOTIENT_ROWS_PER_LEAF)
        ch.observe_digest(quot.tree.root)
        quots.append(quot)

    with tm.phase("open"):
        zeta = L.to64(ch.sample_ext())
        tables: list[TableProof] = []
        openings: list[list[tuple[_Committed | None, list[tuple[L.U64, U32]]]]] = []
        for i, air in enumerate(airs):
            log_n = log_ns[i]
            g = two_adic_generator(log_n)
            zeta_next = L.e_mul_base(zeta, np.uint64(g))
            w_z = _barycentric_weights(log_n, zeta)
            # p(zeta * g) = sum_i c_{i-1} p(w^i): the weights at zeta * g are those at zeta, rolled.
            w_zn = np.roll(w_z, 1, axis=0)
            per_matrix: list[tuple[_Committed | None, list[tuple[L.U64, U32]]]] = []
            vals: dict[str, U32] = {}
            for name, com, two in (
                ("prep", preps[i], True),
                ("main", mains[i], True),
                ("perm", perms[i], True),
                ("quotient", quots[i], False),
            ):
                local = _open_at(com, w_z)
                pts = [(zeta, local)]
                if two:
                    nxt = _open_at(com, w_zn)
                    pts.append((zeta_next, nxt))
                    vals[f"{name}_local"] = local
                    vals[f"{name}_next"] = nxt
                else:
                    vals[name] = local
                per_matrix.append((com, pts))
            openings.append(per_matrix)
            ch.observe_digest(opening_digest([vals[k] for k in OPENING_FIELDS]))
            tables.append(
                TableProof(
                    air_digest=air.digest,
                    log_n=log_n,
                    main_root=mains[i].tree.root.reshape(1, 8).astype(np.uint32),
                    perm_root=(
                        np.zeros((0, 8), dtype=np.uint32)
                        if perms[i] is None
                        else perms[i].tree.root.reshape(1, 8).astype(np.uint32)  # type: ignore[union-attr]
                    ),
                    quotient_root=quots[i].tree.root.reshape(1, 8).astype(np.uint32),
                    final_sum=(
                        np.zeros((0, 4), dtype=np.uint32)
                        if perms[i] is None
                        else final_sums[i].reshape(1, 4).astype(np.uint32)
                    ),
                    **vals,
                )
            )

    with tm.phase("deep"):
        # DEEP: one reduced codeword per distinct LDE height. Column k of the batch (tables in
        # order, matrices prep/main/perm/quotient, points zeta then zeta*g, columns in order) gets
        # fri_alpha^k; the verifier assigns the same powers.
        fri_alpha = L.to64(ch.sample_ext())
        inputs: dict[int, L.U64] = {}
        power = np.array([1, 0, 0, 0], dtype=np.uint64)
        for i in range(len(airs)):
            log_h = log_ns[i] + lb
            word, power = _deep_codeword(openings[i], log_ns[i], lb, zeta, fri_alpha, power)
            inputs[log_h] = L.e_add(inputs[log_h], word) if log_h in inputs else word
            del word

    with tm.phase("fri"):
        fri_com, roots = fri_commit(inputs, params, ch)
        # The codewords (32 bytes per LDE row) are in the FRI trees now; the openings read none.
        input_logs = set(inputs)
        del inputs
        nonce = int(ch.grind(params.pow_bits))
    with tm.phase("query"):
        log_max = max(input_logs)
        indices = np.array(sample_queries(ch, params, log_max), dtype=np.int64)
        for i, tp in enumerate(tables):
            local_idx = indices >> (log_max - (log_ns[i] + lb))
            for name, com in (
                ("prep", preps[i]),
                ("main", mains[i]),
                ("perm", perms[i]),
                ("quotient", quots[i]),
            ):
                if com is None:
                    continue
                per_leaf = QUOTIENT_ROWS_PER_LEAF if name == "quotient" else 1
                rows, paths = com.open(local_idx // per_leaf)
                setattr(tp, f"{name}_rows", np.ascontiguousarray(rows, dtype=np.uint32))
                setattr(tp, f"{name}_paths", np.ascontiguousarray(paths, dtype=np.uint32))
        q_rows, q_paths = fri_open(fri_com, input_logs, params, indices)
    fri = FriProof(
        commit_roots=roots,
        final_poly=fri_com.final_poly,
        pow_nonce=nonce,
        query_rows=q_rows,
        query_paths=q_paths,
    )
    return Proof(params=params, tables=tables, fri=fri)
