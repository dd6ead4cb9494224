"""BLS12-381 costs for consensus and genesis, and decisions/s of the 4-validator in-process
simulation. One JSON line per figure.

    .venv/bin/python bench/bench_consensus_bls.py [--quick]

The hot path (consensus.bls / genesis.bls_native on py-arkworks-bls12381) is measured next to
py_ecc's G2ProofOfPossession (the test reference) and, if it is still installed,
milagro_bls_binding (the previous backend, deprecated upstream). The native backends
alternate, best of two rounds each, so that the other engineers' load hits them alike.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consensus import (
    MemorySignerStore,
    PrivValidator,
    Validator,
    ValidatorSet,
    bls,
)
from consensus.driver import SignatureCache
from consensus.simulation import CoreNode, DriverNode, Network
from genesis import Genesis, bls_native, init_local_chain

MSG = b"\x5a" * 80  # about the size of precommit sign bytes


def load_milagro() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import milagro_bls_binding

        return milagro_bls_binding
    except ImportError:
        return None


def per_call(fn: Callable[[], object], iters: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t) / iters


def emit(name: str, value: float, unit: str, **params: object) -> None:
    print(
        json.dumps({"name": name, "value": round(value, 6), "unit": unit, "params": params}),
        flush=True,
    )


def import_seconds() -> None:
    # Fresh interpreters: the import cost a node pays before its first genesis check.
    import subprocess

    for mod in ("py_arkworks_bls12381", "py_ecc.bls.ciphersuites"):
        code = f"import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        emit("bls_import", float(out.stdout) * 1e3, "ms", module=mod)


def bls_figures(quick: bool) -> None:
    from py_ecc.bls.ciphersuites import G2ProofOfPossession as PyEcc

    milagro = load_milagro()
    sks = [bls.keygen(bytes([i + 1]) * 32) for i in range(64)]
    pks = [bls.secret_to_public(k) for k in sks]
    sigs = [bls.sign(k, MSG) for k in sks]
    pops = [bls.pop_prove(k) for k in sks[:2]]
    ints = [int.from_bytes(k, "big") for k in sks]
    n_fast = 20 if quick else 60
    n_slow = 1 if quick else 2

    def cold_keys(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            bls_native._decode_public_key.cache_clear()  # pay every key's subgroup check
            return fn()

        return run

    # op -> (arkworks, py_ecc, milagro or None)
    ops: dict[str, tuple[Callable[[], object], Callable[[], object], Callable[[], object] | None]]
    ops = {
        "secret_to_public": (
            lambda: bls.secret_to_public(sks[1]),
            lambda: PyEcc.SkToPk(ints[1]),
            milagro and (lambda: milagro.SkToPk(sks[1])),
        ),
        "sign": (
            lambda: bls.sign(sks[0], MSG),
            lambda: PyEcc.Sign(ints[0], MSG),
            milagro and (lambda: milagro.Sign(sks[0], MSG)),
        ),
        "verify": (
            lambda: bls.verify(pks[0], MSG, sigs[0]),
            lambda: PyEcc.Verify(pks[0], MSG, sigs[0]),
            milagro and (lambda: milagro.Verify(pks[0], MSG, sigs[0])),
        ),
        "key_validate": (
            cold_keys(lambda: bls.key_validate(pks[1])),
            lambda: PyEcc.KeyValidate(pks[1]),
            None,  # milagro has no KeyValidate (it was py_ecc's before)
        ),
        "pop_prove": (lambda: bls.pop_prove(sks[0]), lambda: PyEcc.PopProve(ints[0]), None),
        "pop_verify": (
            cold_keys(lambda: bls.pop_verify(pks[0], pops[0])),
            lambda: PyEcc.PopVerify(pks[0], pops[0]),
            None,
        ),
    }
    for n in (4, 16, 64):
        agg = bls.aggregate(sigs[:n])
        ops[f"fast_aggregate_verify_{n}"] = (
            lambda n=n, agg=agg: bls.fast_aggregate_verify(pks[:n], MSG, agg),
            lambda n=n, agg=agg: PyEcc.FastAggregateVerify(pks[:n], MSG, agg),
            milagro and (lambda n=n, agg=agg: milagro.FastAggregateVerify(pks[:n], MSG, agg)),
        )
        ops[f"fast_aggregate_verify_{n}_cold_keys"] = (
            cold_keys(lambda n=n, agg=agg: bls.fast_aggregate_verify(pks[:n], MSG, agg)),
            lambda n=n, agg=agg: PyEcc.FastAggregateVerify(pks[:n], MSG, agg),
            None,
        )
        ops[f"aggregate_{n}"] = (
            lambda n=n: bls.aggregate(sigs[:n]),
            lambda n=n: PyEcc.Aggregate(sigs[:n]),
            milagro and (lambda n=n: milagro.Aggregate(sigs[:n])),
        )
    for op, (ark, ref, mil) in ops.items():
        ark_s = min(per_call(ark, n_fast), per_call(ark, n_fast))
        mil_s = min(per_call(mil, n_fast), per_call(mil, n_fast)) if mil else None
        if op.endswith("_cold_keys"):  # py_ecc's figure is the same call as the warm one
            emit(f"bls_{op}", ark_s * 1e3, "ms", library="py-arkworks-bls12381")
            continue
        ref_s = per_call(ref, n_slow)
        params: dict[str, object] = {
            "library": "py-arkworks-bls12381",
            "baseline_py_ecc_ms": round(ref_s * 1e3, 3),
            "speedup_vs_py_ecc": round(ref_s / ark_s, 1),
        }
        if mil_s is not None:
            params["baseline_milagro_ms"] = round(mil_s * 1e3, 3)
            params["speedup_vs_milagro"] = round(mil_s / ark_s, 2)
        emit(f"bls_{op}", ark_s * 1e3, "ms", **params)


def genesis_figures() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        chain = init_local_chain(Path(tmp) / "chain", "bench", validators=4, accounts=4)
        init_s = time.perf_counter() - t
        doc = chain.genesis.to_json()
        t = time.perf_counter()
        Genesis.from_json(doc, verify_keys=True)
        load_s = time.perf_counter() - t
    emit("genesis_init_4_validators", init_s * 1e3, "ms", what="init_local_chain, 4 PopProve")
    emit("genesis_load_4_validators", load_s * 1e3, "ms", what="Genesis.from_json, 4 PopVerify")


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
             crypto="arkworks BLS, every node verifies every message" if not shared
             else "arkworks BLS, one signature cache shared by the 4 in-process nodes")


def main() -> None:
    quick = "--quick" in sys.argv
    import_seconds()
    bls_figures(quick)
    genesis_figures()
    simulation_figures(quick)


if __name__ == "__main__":
    main()
