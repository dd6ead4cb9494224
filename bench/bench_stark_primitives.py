"""Benchmarks of the STARK primitives; one JSON line per figure.

Run: .venv/bin/python bench/bench_stark_primitives.py [--quick]

Figures: NTT of one 2^20 column, LDE 2^18 x 64 -> 2^20, Poseidon2 permutations/s over 2^20 states,
Merkle commit of an LDE of 2^20 x 64, and the "commit floor" (LDE + leaf hashing + inner nodes) of
2^16 and 2^18 rows at 32 and 128 columns, blowup 4. ``commit_floor`` is importable (scripts in
bench/ run with bench/ on sys.path) so the prover benchmark can measure the floor in its own run.

Each figure reports wall time and the process CPU time: the machine is shared, and CPU time over
wall time shows how much of the 2 cores this process actually got.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from execution.stark.challenger import Challenger
from execution.stark.merkle import MerkleTree, hash_leaves, verify_batch
from execution.stark.ntt import coset_lde, ntt
from execution.stark.poseidon2 import COMPRESS_DOMAIN_NODE, compress_pairs, permute

P = 2013265921
# Figures from shared/notes/performance-floor.md (throwaway kernels, 2 threads).
FLOOR_NOTE = {
    "ntt_2^20_ms": 7.9,
    "lde_2^18x64_s": 0.27,
    "poseidon2_perm_per_s": 6.4e6,
    "commit_2^18x64_s": 1.8,
    "commit_2^18x128_s": 3.4,
}


def _threads() -> int:
    try:
        import numba

        return int(numba.get_num_threads())
    except Exception:  # pragma: no cover - numba is a dependency
        return os.cpu_count() or 1


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall = time.perf_counter()
    cpu = time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _emit(name: str, value: float, unit: str, **extra: Any) -> None:
    line = {"name": name, "value": round(value, 6), "unit": unit, "threads": _threads(), **extra}
    print(json.dumps(line), flush=True)


@dataclass(frozen=True)
class CommitFloor:
    """Bare cost of committing a trace: LDE, leaf hashing, inner nodes (seconds)."""

    log_n: int
    width: int
    log_blowup: int
    lde_s: float
    leaves_s: float
    inner_s: float
    cpu_s: float

    @property
    def total_s(self) -> float:
        return self.lde_s + self.leaves_s + self.inner_s


def commit_floor(log_n: int, width: int, log_blowup: int = 2, seed: int = 0) -> CommitFloor:
    """Measure LDE + Merkle commit of a random (2^log_n, width) trace, as a prover must do."""
    rng = np.random.default_rng(seed)
    trace = rng.integers(0, P, size=(1 << log_n, width), dtype=np.uint32)
    cpu0 = time.process_time()
    lde, lde_s, _ = _timed(lambda: coset_lde(trace, log_blowup))
    leaves, leaves_s, _ = _timed(lambda: hash_leaves(lde))

    def inner() -> np.ndarray:
        level = leaves
        while level.shape[0] > 1:
            level = compress_pairs(level.reshape(-1, 16), COMPRESS_DOMAIN_NODE)
        return level

    _, inner_s, _ = _timed(inner)
    return CommitFloor(
        log_n, width, log_blowup, lde_s, leaves_s, inner_s, time.process_time() - cpu0
    )


def warm_up() -> None:
    """Compile (or load from cache) every kernel on tiny inputs so timings exclude it."""
    small = np.arange(64 * 4, dtype=np.uint32).reshape(64, 4)
    MerkleTree.build(coset_lde(small, 1))
    ntt(small[:, 0])
    permute(np.zeros((4, 16), np.uint32))


def _bench_ntt(rng: np.random.Generator, big: int) -> None:
    col = rng.integers(0, P, size=1 << big, dtype=np.uint32)
    _, wall, cpu = _timed(lambda: ntt(col))
    _emit(
        f"ntt_2^{big}_one_column",
        wall * 1e3,
        "ms",
        cpu_ms=round(cpu * 1e3, 3),
        baseline_ms=FLOOR_NOTE["ntt_2^20_ms"],
    )


def _bench_lde_and_merkle(rng: np.random.Generator, big: int) -> None:
    trace = rng.integers(0, P, size=(1 << (big - 2), 64), dtype=np.uint32)
    lde, wall, cpu = _timed(lambda: coset_lde(trace, 2))
    _emit(
        f"lde_2^{big - 2}x64_to_2^{big}",
        wall,
        "s",
        cpu_s=round(cpu, 3),
        ns_per_output=round(wall / lde.size * 1e9, 3),
        baseline_s=FLOOR_NOTE["lde_2^18x64_s"],
    )
    tree, wall, cpu = _timed(lambda: MerkleTree.build(lde))
    # 8 leaf permutations per 64-element row plus one compression per inner node
    perms = lde.shape[0] * 8 + lde.shape[0] - 1
    _emit(
        f"merkle_commit_lde_2^{big}x64",
        wall,
        "s",
        cpu_s=round(cpu, 3),
        perm_per_s=round(perms / wall),
    )
    # The verifier's side: 43 queries (the conjectured profile at blowup 4), best of 5.
    idx = rng.integers(0, lde.shape[0], size=43)
    rows, paths = tree.open(idx)
    runs = [
        _timed(lambda: verify_batch(tree.root, tree.height, idx, rows, paths)) for _ in range(5)
    ]
    if not all(ok for ok, _, _ in runs):
        raise RuntimeError("verify_batch rejected an honest opening")
    _emit(
        f"merkle_verify_batch_43_queries_2^{big}x64",
        min(w for _, w, _ in runs) * 1e3,
        "ms",
        cpu_ms=round(min(c for _, _, c in runs) * 1e3, 3),
    )


def _bench_grind(bits: int) -> None:
    ch = Challenger()
    ch.observe(np.arange(8, dtype=np.uint32))
    witness, wall, cpu = _timed(lambda: ch.grind(bits))
    _emit(f"challenger_grind_{bits}_bits", wall, "s", cpu_s=round(cpu, 3), witness=witness)


def _bench_poseidon2(rng: np.random.Generator, big: int) -> None:
    states = rng.integers(0, P, size=(1 << big, 16), dtype=np.uint32)
    _, wall, cpu = _timed(lambda: permute(states))
    _emit(
        "poseidon2_permutations_per_s",
        (1 << big) / wall,
        "perm/s",
        states=1 << big,
        cpu_s=round(cpu, 3),
        baseline=FLOOR_NOTE["poseidon2_perm_per_s"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    big = 14 if args.quick else 20
    warm_up()
    rng = np.random.default_rng(1)
    _bench_ntt(rng, big)
    _bench_lde_and_merkle(rng, big)
    _bench_poseidon2(rng, big)
    _bench_grind(12 if args.quick else 16)
    sizes = [(12, 32), (12, 128)] if args.quick else [(16, 32), (16, 128), (18, 32), (18, 128)]
    for log_n, width in sizes:
        fl = commit_floor(log_n, width)
        _emit(
            f"commit_floor_2^{log_n}x{width}_blowup4",
            fl.total_s,
            "s",
            lde_s=round(fl.lde_s, 3),
            leaves_s=round(fl.leaves_s, 3),
            inner_s=round(fl.inner_s, 3),
            cpu_s=round(fl.cpu_s, 3),
        )


if __name__ == "__main__":
    main()
