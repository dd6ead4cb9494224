"""Compile every numba kernel a node runs into numba's on-disk cache, before any node starts.

    python -m node.warmup          # the install step (make install) runs this once

A kernel compiles on its first call in a process unless numba's cache (`__pycache__` next to
the source, per checkout) already holds it. A validator's first call is on its event loop (a
proposal's Universal Proof, a task proof from a prover) and a cold compile there took long
enough that a fresh clone's single-validator chain stopped (the watchdog's `loop_blocked`).
`execution.zkvm.warm_up` covers only the executor's interpreter; this proves and verifies one
small task too, which compiles the prover's kernels (NTT, Poseidon2, FRI, trace generation)
and the verifier's.
"""

from __future__ import annotations

import sys
import time


def warm_up() -> dict[str, float]:
    """Run each kernel family once; return the seconds each step took (compile or cache load)."""
    from execution.programs import image_id_bytes_of_elf
    from execution.zkproof import prove, verify
    from execution.zkvm import warm_up as warm_executor
    from execution.zkvm.examples import example_elf

    times: dict[str, float] = {}
    started = time.perf_counter()
    warm_executor()
    times["executor"] = time.perf_counter() - started
    elf = example_elf("sha256").read_bytes()
    started = time.perf_counter()
    proof = prove(elf, b"\x01", "conjectured").to_bytes()
    times["prover"] = time.perf_counter() - started
    started = time.perf_counter()
    verify(proof, image_id_bytes_of_elf(elf), profile="conjectured")
    times["verifier"] = time.perf_counter() - started
    return times


def main() -> int:
    times = warm_up()
    print(
        "numba kernels ready: " + ", ".join(f"{name} {secs:.1f} s" for name, secs in times.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
