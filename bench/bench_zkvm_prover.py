"""zkVM prover: cycles per second, proof size, verify time and peak memory for the vertical
slice (execution/zkproof) on the hand-built Fibonacci-loop program, at 2^12..2^16 cycles.

Run: .venv/bin/python bench/bench_zkvm_prover.py [--min-log 12] [--max-log 16]
Prints one JSON line per figure. The issue's targets (at least 5,000 cycles/s on this machine,
verify under 100 ms, at most 4 KB peak memory per cycle) are printed as the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from execution.zkproof import ProveReport, airs_for, prove, verify
from execution.zkproof.samples import CYCLES_PER_ITERATION, fib_loop_program


def emit(name: str, value: float, unit: str, **params: object) -> None:
    print(
        json.dumps({"name": name, "value": value, "unit": unit, "parameters": params}), flush=True
    )


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def column_counts() -> None:
    """Committed base-field columns per table (main + 4 x LogUp + 4 x quotient chunks)."""
    airs = airs_for(fib_loop_program(1))
    for air in airs.as_list():
        total = air.width + 4 * air.perm_width + 4 * air.quotient_degree
        emit(
            f"columns_{air.name.split('_v1')[0]}",
            total,
            "committed columns",
            main=air.width,
            preprocessed=air.preprocessed_width,
            logup_ext=air.perm_width,
            quotient_chunks=air.quotient_degree,
            interactions=air.num_interactions,
            constraints=len(air.constraints),
            max_degree=air.max_degree,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-log", type=int, default=12)
    ap.add_argument("--max-log", type=int, default=16)
    args = ap.parse_args()
    column_counts()
    prove(fib_loop_program(1))  # warm numba kernels and the fixed tables' caches
    for log_n in range(args.min_log, args.max_log + 1):
        iterations = ((1 << log_n) - 13) // CYCLES_PER_ITERATION
        program = fib_loop_program(iterations)
        report = ProveReport()
        rss_before = peak_rss_bytes()
        t0 = time.perf_counter()
        proof = prove(program, b"", "conjectured", report=report)
        seconds = time.perf_counter() - t0
        cycles = proof.statement.cycles
        data = proof.to_bytes()
        verify(data, program)  # first verify builds this program's table commitment
        t1 = time.perf_counter()
        verify(data, program)
        verify_ms = (time.perf_counter() - t1) * 1000
        p = {"log_rows": log_n, "cycles": cycles, "profile": "conjectured"}
        emit(
            "zkvm_prove_cycles_per_second",
            round(cycles / seconds, 1),
            "cycles/s",
            baseline="issue 5 target: >= 5000 cycles/s",
            **p,
        )
        emit("zkvm_prove_seconds", round(seconds, 3), "s", **p)
        for phase, sec in report.phases.items():
            emit(f"zkvm_prove_phase_{phase}", round(sec, 3), "s", **p)
        emit("zkvm_proof_bytes", len(data), "bytes", **p)
        emit("zkvm_verify_ms", round(verify_ms, 1), "ms", baseline="target < 100 ms", **p)
        emit(
            "zkvm_peak_rss_bytes_per_cycle",
            round(peak_rss_bytes() / cycles, 1),
            "bytes/cycle",
            rss_before=rss_before,
            baseline="target <= 4096 bytes/cycle (process peak, includes fixed tables)",
            **p,
        )


if __name__ == "__main__":
    main()
