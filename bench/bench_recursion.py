"""Universal Proof v1 figures: lift and join time, recursion trace sizes, root proof size and
root verify time for trees over 1, 2, 7 and 16 task proofs, next to v0's cost on the same leaves.

Prints one JSON line per figure. Leaves are Fibonacci 2^6 STARK proofs (the zkVM is not the
point: a lift of a zkVM task proof is a larger lift program, the joins above it are the same
kind), inner and recursion proofs under the `test-fast` profile (6 queries, blowup 4). Trees
over prefixes of one leaf list share their proven nodes (join.build_tree's memo), so the 16-leaf
run pays 15 joins and the 7-leaf tree 2 more. "v0" is what a v0 tree over the same leaves costs
a verifier: one STARK verification per leaf (a zkVM task proof's verify is ~0.2 s, docs/proving.md).

    PYTHONPATH=$PWD python bench/bench_recursion.py [--sizes 1,2,7,16]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "execution", "stark"))

from stark_cases import FAST, statement

from execution.recursion.join import Node, build_tree, root_key
from execution.recursion.lift import LeafStatement, LiftSpec, lift
from execution.recursion.prove import RecursionKey
from execution.stark.verifier import verify as stark_verify
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf, plain_publics, plain_statement

LOG_N = 6
BLOCK_HASH = bytes(32)


def emit(name: str, value: float, unit: str, **params: object) -> None:
    line = {"bench": "recursion", "name": name, "value": round(value, 4), "unit": unit, **params}
    print(json.dumps(line), flush=True)


def cells(key: RecursionKey) -> int:
    """Committed trace cells (main + fixed columns) over every table at its padded height."""
    total = 0
    for air, log_h in zip(key.airs, key.shape.all_log_heights(), strict=True):
        total += (air.width + air.preprocessed_width + 4 * air.perm_width) << log_h
    return total


def spec_of(shape: tuple[int, ...]) -> LiftSpec:
    return LiftSpec((statement("fibonacci", LOG_N).airs[0],), shape, FAST)


def leaf_of(_i: int, leaf: V1Leaf) -> tuple[LeafStatement, LiftSpec]:
    return LeafStatement(leaf.task_id, plain_publics(leaf.statement)), spec_of(leaf.shape)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,2,7,16")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    load = os.getloadavg()[0]
    leaves: list[V1Leaf] = []
    nodes: list[Node] = []
    inner = []
    for seed in range(1, max(sizes) + 1):
        st = statement("fibonacci", LOG_N, seed=seed)
        proof = st.prove(FAST)
        tid = bytes([seed]) * 32
        t0 = time.perf_counter()
        nodes.append(lift(spec_of((LOG_N,)), tid, proof, st.publics))
        dt = time.perf_counter() - t0
        if seed <= 2:  # the first includes recording the lift program and building its key
            emit("lift", dt, "s", first=seed == 1, load=load)
        leaves.append(V1Leaf(tid, (LOG_N,), plain_statement(st.publics)))
        inner.append((st, proof))
    key = nodes[0].key
    emit(
        "lift_trace",
        cells(key),
        "cells",
        log_heights=list(key.shape.all_log_heights()),
        instructions=len(key.layout.program.instructions),
        proof_bytes=len(nodes[0].proof.proof.to_bytes()),
    )
    memo: dict[tuple[int, int], Node] = {}
    roots: dict[int, bytes] = {}
    for n in sizes:
        before = len(memo)
        t0 = time.perf_counter()
        root = build_tree(nodes[:n], FAST, memo)
        dt = time.perf_counter() - t0
        joins = len(memo) - before
        if joins:
            emit("joins", dt / joins, "s_per_join", n=n, joins=joins, load=os.getloadavg()[0])
        roots[n] = UniversalProofV1(
            1,
            BLOCK_HASH,
            tuple(leaves[:n]),
            np.asarray(root.key.control_id, dtype="<u4").tobytes(),
            root.proof.proof,
        ).encode()
        emit(
            "root_trace",
            cells(root.key),
            "cells",
            n=n,
            log_heights=list(root.key.shape.all_log_heights()),
            instructions=len(root.key.layout.program.instructions),
            root_bytes=len(roots[n]),
        )
    # Verify times interleaved across sizes (keys cached: a validator's steady state), so that
    # the machine's load drifts over all sizes alike.
    v1: dict[int, list[float]] = {n: [] for n in sizes}
    v0: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(5):
        for n in sizes:
            t0 = time.perf_counter()
            UniversalProofV1.decode(roots[n]).verify(leaf_of, FAST)
            v1[n].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for st, proof in inner[:n]:
                stark_verify(st.airs, st.publics, proof, FAST)
            v0[n].append(time.perf_counter() - t0)
    for n in sizes:
        emit(
            "root_verify",
            min(v1[n]),
            "s",
            n=n,
            median_s=round(sorted(v1[n])[2], 4),
            v0_verify_s=round(min(v0[n]), 4),
            v0_median_s=round(sorted(v0[n])[2], 4),
            load=os.getloadavg()[0],
        )
    # A verifier's first root of a tree shape: record and key the lift and join programs.
    import execution.recursion.join as join_mod
    import execution.recursion.lift as lift_mod

    for cache in (join_mod._RECORDINGS, join_mod._KEYS, lift_mod._RECORDINGS, lift_mod._KEYS):
        cache.clear()
    n = max(sizes)
    t0 = time.perf_counter()
    root_key([lift_mod.lift_key(spec_of((LOG_N,)))] * n, FAST)
    emit("root_key_cold", time.perf_counter() - t0, "s", n=n, load=os.getloadavg()[0])


if __name__ == "__main__":
    main()
