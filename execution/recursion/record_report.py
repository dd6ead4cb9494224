"""Program sizes: record the verifier program of an example proof and run it (for docs figures).

    python -m execution.recursion.record_report fibonacci 10
    python -m execution.recursion.record_report logup 8
    python -m execution.recursion.record_report zkvm 20     (fib_loop guest, 20 iterations)
    python -m execution.recursion.record_report fibonacci 10 --prove


Proves one proof under the conjectured profile, records its program, runs the interpreter on it,
and prints the instruction counts by kind with the recording and interpreting times. With
--prove it also proves the run with the recursion AIR (same profile) and verifies that proof.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from execution.recursion.interpret import run
from execution.recursion.record import program_inputs, record_program
from execution.stark.air import compile_air
from execution.stark.air.compiled import CompiledAir
from execution.stark.examples import (
    ByteRangeTableAir,
    ByteSumAir,
    FibonacciAir,
    byte_sum_traces,
    fibonacci_trace,
)
from execution.stark.params import CONJECTURED
from execution.stark.proof import Proof
from execution.stark.prover import prove


def _example(name: str, size: int) -> tuple[list[CompiledAir], list[list[int]], Proof]:
    if name == "fibonacci":
        trace, pub = fibonacci_trace(size)
        airs = [compile_air(FibonacciAir())]
        return airs, [pub], prove(airs, [trace], [pub], CONJECTURED)
    if name == "logup":
        main, counts, pub = byte_sum_traces(size)
        airs = [compile_air(ByteSumAir()), compile_air(ByteRangeTableAir())]
        return airs, [pub, []], prove(airs, [main, counts], [pub, []], CONJECTURED)
    if name == "zkvm":
        from execution.zkproof import prove as zk_prove
        from execution.zkproof.prover import airs_for, public_values
        from execution.zkproof.samples import fib_loop_program

        program = fib_loop_program(size)
        tp = zk_prove(program, b"some input", CONJECTURED.name)
        st = tp.statement
        zk_airs = airs_for(tp.program, tp.input, st.output).as_list()
        return zk_airs, public_values(st, tp.program, len(tp.input)), tp.stark
    raise SystemExit(f"unknown example {name!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("example", choices=["fibonacci", "logup", "zkvm"])
    ap.add_argument("size", type=int, help="log2 trace height (zkvm: loop iterations)")
    ap.add_argument("--prove", action="store_true", help="also prove the run (recursion AIR)")
    args = ap.parse_args()
    airs, publics, proof = _example(args.example, args.size)
    t0 = time.perf_counter()
    rec = record_program(airs, proof, CONJECTURED)
    t1 = time.perf_counter()
    verdict = run(rec.program, program_inputs(rec, proof, publics))
    t2 = time.perf_counter()
    prog = rec.program
    print(f"tables (log2 heights): {[tp.log_n for tp in proof.tables]}")
    print(f"instructions {len(prog.instructions):,}  cells {prog.num_cells:,}", end="  ")
    print(f"inputs {prog.num_inputs:,}  accepted {verdict.accepted}")
    print("by kind:", ", ".join(f"{k} {v:,}" for k, v in prog.counts().items()))
    print(f"record {t1 - t0:.1f} s  interpret {t2 - t1:.1f} s")
    print("control id:", np.asarray(prog.control_id()).tolist())
    if args.prove:
        from execution.recursion import prove as rp

        inputs = program_inputs(rec, proof, publics)
        key = rp.program_key(prog)
        t3 = time.perf_counter()
        rproof = rp.prove(prog, inputs, CONJECTURED, key=key)
        t4 = time.perf_counter()
        rp.verify(rproof.proof, key, prog.control_id(), rproof.outputs, CONJECTURED)
        t5 = time.perf_counter()
        print(f"recursion shape {key.shape.log_heights}: prove {t4 - t3:.1f} s", end="  ")
        print(f"verify {t5 - t4:.2f} s  proof {rproof.proof.size() / 1024:.0f} KB")


if __name__ == "__main__":
    main()
