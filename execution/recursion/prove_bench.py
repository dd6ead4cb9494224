"""Figures of the recursion AIR: rows per instruction kind, widths, prove/verify time, proof size.

    python -m execution.recursion.prove_bench [--queries 43] [--depth 16] [--profile conjectured]
    python -m execution.recursion.prove_bench --program fibonacci [--log-n 6] [--inner test-fast]
        [--levels 2] [--profile conjectured]

`--program fibonacci` measures the recorded verifier of a Fibonacci proof (record.py) and, with
`--levels 2`, the recorded verifier of that run's recursion proof. The merkle program is a synthetic Merkle verifier shaped like a STARK verifier's query phase:
per query the index is decomposed (BITS), then per level the pair (current, sibling) is ordered
by SELECTs, compressed by POSEIDON2 plus the node tag (ADD), and a FRI-like fold does a few
extension multiplications; every root is asserted equal to the public root, which is exposed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from execution.recursion.program import Instruction, Op, Program
from execution.recursion.prove import RecursionKey, RecursionProof, program_key, prove, verify
from execution.recursion.record import Recording, program_inputs, record_program
from execution.recursion.tracegen import generate
from execution.stark import protocol
from execution.stark.air.compiled import compile_air
from execution.stark.examples.fibonacci import FibonacciAir, fibonacci_trace
from execution.stark.field import P
from execution.stark.params import FriParams, profile
from execution.stark.poseidon2 import COMPRESS_DOMAIN_NODE, compress
from execution.stark.proof import Proof
from execution.stark.prover import PhaseTimer
from execution.stark.prover import prove as stark_prove

__all__ = ["describe", "fibonacci_verifier", "merkle_program"]


class _Builder:
    def __init__(self) -> None:
        self.ins: list[Instruction] = []
        self.cells = 0
        self.inputs = 0

    def emit(self, op: Op, n_out: int, ins: tuple[int, ...], imm: tuple[int, ...] = ()) -> int:
        first = self.cells
        self.ins.append(Instruction(op, tuple(range(first, first + n_out)), ins, imm))
        self.cells += n_out
        return first

    def input(self) -> int:
        self.inputs += 1
        return self.emit(Op.INPUT, 1, (), (self.inputs - 1,))

    def const(self, v: int) -> int:
        return self.emit(Op.CONST, 1, (), (v % P, 0, 0, 0))


def merkle_program(queries: int, depth: int, seed: int = 1) -> tuple[Program, list[int]]:
    """A program checking `queries` Merkle paths of `depth` levels into one tree, and its inputs.

    Inputs per query: leaf digest (8), index (1), siblings (8 per level); then the root (8).
    """
    rng = np.random.default_rng(seed)
    leaves = rng.integers(0, P, (1 << depth, 8), dtype=np.uint64).astype(np.uint32)
    levels = [leaves]
    while levels[-1].shape[0] > 1:
        lv = levels[-1]
        levels.append(compress(lv[0::2], lv[1::2]))
    root = levels[-1][0]
    b = _Builder()
    words: list[int] = []
    tag = b.const(COMPRESS_DOMAIN_NODE)
    alpha = b.emit(Op.CONST, 1, (), (7, 3, 5, 1))
    roots = []
    for idx in rng.integers(0, 1 << depth, queries):
        cur = [b.input() for _ in range(8)]
        words += [int(v) for v in leaves[idx]]
        index = b.input()
        words.append(int(idx))
        bits = b.emit(Op.BITS, 31, (index,), (31,))
        acc = cur[0]
        for k in range(depth):
            sib = [b.input() for _ in range(8)]
            words += [int(v) for v in levels[k][(int(idx) >> k) ^ 1]]
            bit = bits + k
            left = [b.emit(Op.SELECT, 1, (bit, s, c)) for s, c in zip(sib, cur, strict=True)]
            right = [b.emit(Op.SELECT, 1, (bit, c, s)) for s, c in zip(sib, cur, strict=True)]
            out = b.emit(Op.POSEIDON2, 16, tuple(left + right))
            cur = [b.emit(Op.ADD, 1, (out, tag)), *range(out + 1, out + 8)]
            # A fold step's worth of extension arithmetic: acc = acc * alpha + (x - y) * x.
            d = b.emit(Op.SUB, 1, (cur[1], cur[2]))
            m = b.emit(Op.MUL, 1, (d, cur[1]))
            acc = b.emit(Op.ADD, 1, (b.emit(Op.MUL, 1, (acc, alpha)), m))
        roots.append(cur)
    pub = [b.input() for _ in range(8)]
    words += [int(v) for v in root]
    for cur in roots:
        for x, y in zip(cur, pub, strict=True):
            b.emit(Op.ASSERT_EQ, 0, (x, y))
    for x in pub:
        b.ins.append(Instruction(Op.OUTPUT, (), (x,)))
    return Program(b.inputs, b.cells, b.ins), words


def describe(key: RecursionKey) -> list[str]:
    lines = []
    total = 0
    for air, log_h in zip(key.airs, key.shape.all_log_heights(), strict=True):
        cols = air.width + 4 * air.perm_width + air.preprocessed_width
        total += cols << log_h
        lines.append(
            f"  {air.name:24s} 2^{log_h:<2d} rows  main {air.width:3d}  logup {4 * air.perm_width:3d}"
            f"  prep {air.preprocessed_width:3d}  quotient chunks {air.quotient_degree}"
        )
    lines.append(f"  committed cells (main + logup + prep) {total:,}")
    return lines


def _run(
    program: Program, words: list[int], params: FriParams
) -> tuple[RecursionKey, RecursionProof]:
    print("instructions:", program.counts(), f"cells {program.num_cells:,}")
    t = time.perf_counter()
    key = program_key(program)
    t_key = time.perf_counter() - t
    print("\n".join(describe(key)))
    t = time.perf_counter()
    generate(key.layout, words)
    t_gen = time.perf_counter() - t
    timer = PhaseTimer()
    t = time.perf_counter()
    run = prove(program, words, params, key=key, timer=timer)
    t_prove = time.perf_counter() - t
    phases = ", ".join(f"{k} {v:.2f}" for k, v in timer.seconds.items())
    print(f"key {t_key:.2f} s, trace generation {t_gen:.2f} s, prove {t_prove:.2f} s ({phases})")
    times = []
    cid = key.control_id  # the verifier holds the allowed control ids as constants
    for _ in range(2):
        t = time.perf_counter()
        verify(run.proof, key, cid, run.outputs, params)
        times.append(time.perf_counter() - t)
    # A verifier that has not committed this program's fixed columns yet: key + columns + check.
    protocol._PREP_CACHE.clear()
    t = time.perf_counter()
    verify(run.proof, program_key(program), cid, run.outputs, params)
    t_cold = time.perf_counter() - t
    print(
        f"verify first {times[0]:.2f} s, steady {times[1]:.2f} s (fixed columns cached),"
        f" {t_cold:.2f} s from the program alone; proof {run.proof.size():,} bytes"
        f" ({params.name})"
    )
    return key, run


def fibonacci_verifier(log_n: int, params: FriParams) -> tuple[Recording, list[int], Proof]:
    """The recorded verifier of a Fibonacci proof at 2^log_n rows, its inputs and the proof."""
    air = compile_air(FibonacciAir())
    trace, pub = fibonacci_trace(log_n)
    proof = stark_prove([air], [trace], [pub], params)
    rec = record_program([air], proof, params)
    return rec, program_inputs(rec, proof, [pub]), proof


# The tests' profile (6 queries, 2 grinding bits): not secure, shows the shape of small runs.
TEST_FAST = FriParams(name="test-fast", log_blowup=2, num_queries=6, pow_bits=2)


def _profile(name: str) -> FriParams:
    return TEST_FAST if name == TEST_FAST.name else profile(name)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", choices=("merkle", "fibonacci"), default="merkle")
    ap.add_argument("--queries", type=int, default=43, help="merkle: queries")
    ap.add_argument("--depth", type=int, default=16, help="merkle: tree depth")
    ap.add_argument("--log-n", type=int, default=6, help="fibonacci: log2 of the trace height")
    ap.add_argument("--inner", default="conjectured", help="fibonacci: the inner proof's profile")
    ap.add_argument(
        "--levels", type=int, default=1, help="fibonacci: 2 = verify the recursion proof"
    )
    ap.add_argument("--profile", default="conjectured", help="profile of the recursion proofs")
    args = ap.parse_args(argv)
    params = _profile(args.profile)
    if args.program == "merkle":
        program, words = merkle_program(args.queries, args.depth)
        _run(program, words, params)
        return
    inner = _profile(args.inner)
    t = time.perf_counter()
    rec, words, _ = fibonacci_verifier(args.log_n, inner)
    print(
        f"level 1: verifier of a Fibonacci 2^{args.log_n} proof ({inner.name}),"
        f" recorded in {time.perf_counter() - t:.2f} s"
    )
    key, run = _run(rec.program, words, params)
    if args.levels > 1:
        publics: list[list[int]] = [[] for _ in key.airs]
        publics[-1] = [int(v) for v in run.outputs.reshape(-1)]
        t = time.perf_counter()
        rec2 = record_program(list(key.airs), run.proof, params)
        print(
            f"level 2: verifier of the level-1 recursion proof ({params.name}),"
            f" recorded in {time.perf_counter() - t:.2f} s"
        )
        _run(rec2.program, program_inputs(rec2, run.proof, publics), params)


if __name__ == "__main__":
    main()
