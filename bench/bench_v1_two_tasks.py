"""Two zkVM tasks through the v1 worker's build (node/aggregator_v1.build: two lifts and one
join under `conjectured`), then the root verified as a validator does (`zkvm_leaf_of`), next to
v0's verification of the same two task proofs. Minutes and ~2-3 GB:
`PYTHONPATH=$PWD .venv/bin/python bench/bench_v1_two_tasks.py`."""

from __future__ import annotations

import os
import resource
import time

from execution.stark.params import profile
from execution.universal.proof_v1 import UniversalProofV1
from execution.universal.zkvm_leaf import zkvm_leaf_of
from execution.zkproof import prove, verify
from execution.zkproof.samples import fib_loop_program
from execution.zkvm.image import image_id
from node.aggregator_v1 import Job, build


def main() -> None:
    fri = profile("conjectured")
    program = fib_loop_program(20)
    inputs = {bytes([i]) * 32: f"input {i}".encode() for i in (1, 2)}
    proofs = []
    for task_id, data in inputs.items():
        t0 = time.perf_counter()
        proofs.append((task_id, prove(program, data, fri, task_id=task_id).to_bytes()))
        print(f"task prove {time.perf_counter() - t0:.1f} s", flush=True)

    def say(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg} (load {os.getloadavg()[0]:.1f})", flush=True)

    t0 = time.perf_counter()
    raw = build(Job(9, bytes(32), fri.name, tuple(proofs)), say)
    print(f"build {time.perf_counter() - t0:.1f} s, v1 bytes {len(raw)}", flush=True)

    def lookup(task_id: bytes) -> tuple[object, bytes]:
        return program, inputs[task_id]

    up = UniversalProofV1.decode(raw)
    for _ in range(3):
        t0 = time.perf_counter()
        up.verify(zkvm_leaf_of(lookup, fri), fri)  # type: ignore[arg-type]
        print(f"root verify {time.perf_counter() - t0:.3f} s", flush=True)
    img = image_id(program).astype("<u4").tobytes()
    for _ in range(3):
        t0 = time.perf_counter()
        for _task_id, p in proofs:
            verify(p, img, profile="conjectured")
        print(f"v0 verify of both {time.perf_counter() - t0:.3f} s", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.0f} MB, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
