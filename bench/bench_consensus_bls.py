"""BLS12-381 costs for consensus (milagro vs py_ecc) and decisions/s of the 4-validator
in-process simulation. One JSON line per figure.

    .venv/bin/python bench/bench_consensus_bls.py [--quick]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEcc

from consensus import (
    MemorySignerStore,
    PrivValidator,
    Validator,
    ValidatorSet,
    bls,
)
from consensus.driver import SignatureCache
from consensus.simulation import CoreNode, DriverNode, Network

MSG = b"\x5a" * 80  # about the size of precommit sign bytes


def per_call(fn: Callable[[], object], iters: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t) / iters


def emit(name: str, value: float, unit: str, **params: object) -> None:
    print(json.dumps({"name": name, "value": round(value, 6), "unit": unit, "params": params}),
          flush=True)


def bls_figures(quick: bool) -> None:
    sks = [bls.keygen(bytes([i + 1]) * 32) for i in range(64)]
    pks = [bls.secret_to_public(k) for k in sks]
    sigs = [bls.sign(k, MSG) for k in sks]
    sk_ints = [int.from_bytes(k, "big") for k in sks]
    n_fast = 20 if quick else 100
    n_slow = 1 if quick else 3

    fast: dict[str, float] = {}
    slow: dict[str, float] = {}
    fast["sign"] = per_call(lambda: bls.sign(sks[0], MSG), n_fast)
    slow["sign"] = per_call(lambda: PyEcc.Sign(sk_ints[0], MSG), n_slow)
    fast["verify"] = per_call(lambda: bls.verify(pks[0], MSG, sigs[0]), n_fast)
    slow["verify"] = per_call(lambda: PyEcc.Verify(pks[0], MSG, sigs[0]), n_slow)
    for n in (4, 16, 64):
        agg = bls.aggregate(sigs[:n])
        fast[f"fast_aggregate_verify_{n}"] = per_call(
            lambda n=n, agg=agg: bls.fast_aggregate_verify(pks[:n], MSG, agg), n_fast
        )
        slow[f"fast_aggregate_verify_{n}"] = per_call(
            lambda n=n, agg=agg: PyEcc.FastAggregateVerify(pks[:n], MSG, agg), n_slow
        )
        fast[f"aggregate_{n}"] = per_call(lambda n=n: bls.aggregate(sigs[:n]), n_fast)
        slow[f"aggregate_{n}"] = per_call(lambda n=n: PyEcc.Aggregate(sigs[:n]), n_slow)
    for op, seconds in fast.items():
        emit(f"bls_{op}", seconds * 1e3, "ms", library="milagro_bls_binding",
             baseline_py_ecc_ms=round(slow[op] * 1e3, 3),
             speedup_vs_py_ecc=round(slow[op] / seconds, 1))
    for op, seconds in slow.items():
        emit(f"bls_{op}", seconds * 1e3, "ms", library="py_ecc", iterations=n_slow)


def four_validators() -> tuple[list[bytes], ValidatorSet]:
    sks = [bls.keygen(bytes([i + 1]) * 32) for i in range(4)]
    return sks, ValidatorSet([Validator(bls.secret_to_public(k), 1) for k in sks])


def simulation_figures(quick: bool) -> None:
    sks, vset = four_validators()
    heights = 200 if quick else 1000
    net = Network([CoreNode(i, vset) for i in range(4)], seed=1)
    t = time.perf_counter()
    net.start()
    net.run(until_height=heights)
    dt = time.perf_counter() - t
    emit("sim_core_decisions_per_s", heights / dt, "decisions/s", validators=4,
         heights=heights, crypto="none (state machines only)")

    heights = 10 if quick else 30
    for shared in (False, True):
        cache = SignatureCache() if shared else None
        nodes = [
            DriverNode(i, 1, vset, PrivValidator(sks[i], MemorySignerStore()),
                       driver_kwargs={"signatures": cache or SignatureCache()})
            for i in range(4)
        ]
        net = Network(nodes, seed=1)
        t = time.perf_counter()
        net.start()
        net.run(until_height=heights)
        dt = time.perf_counter() - t
        emit("sim_bls_decisions_per_s", heights / dt, "decisions/s", validators=4,
             heights=heights,
             crypto="milagro BLS, every node verifies every message" if not shared
             else "milagro BLS, one signature cache shared by the 4 in-process nodes")


def main() -> None:
    quick = "--quick" in sys.argv
    bls_figures(quick)
    simulation_figures(quick)


if __name__ == "__main__":
    main()
