"""One zkVM task (fib_loop_program(20)) through Universal Proof v1 under `conjectured`: task
prove, lift program record and key, lift prove, root bytes, root verify (3 runs, caches warm),
peak RSS. `PYTHONPATH=$PWD .venv/bin/python bench/bench_lift_zkvm.py` (minutes, ~2 GB)."""

from __future__ import annotations

import resource
import time

from execution.recursion.lift import lift, lift_key, lift_recording
from execution.stark.params import profile
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf, prove_v1
from execution.universal.zkvm_leaf import zkvm_leaf, zkvm_leaf_of
from execution.zkproof import prove
from execution.zkproof.prover import airs_for, public_values
from execution.zkproof.samples import fib_loop_program

FRI = profile("conjectured")
TASK = bytes(range(32))
PROVER = bytes(range(20))
t = time.perf_counter()
program = fib_loop_program(20)
tp = prove(program, b"some input", "conjectured", task_id=TASK, prover=PROVER)
print("task prove", time.perf_counter() - t, "bytes", len(tp.to_bytes()), flush=True)
st = tp.statement
shape = tuple(t.log_n for t in tp.stark.tables)
print("shape", shape, flush=True)
leaf, spec = zkvm_leaf(TASK, st, program, tp.input, shape, FRI)
t = time.perf_counter()
rec = lift_recording(spec)
print("record", time.perf_counter() - t, flush=True)
t = time.perf_counter()
key = lift_key(spec)
print("key", time.perf_counter() - t, flush=True)
airs = airs_for(tp.program, tp.input, st.output).as_list()
pubs = public_values(st, tp.program, len(tp.input))
t = time.perf_counter()
node = lift(spec, TASK, tp.stark, pubs, airs)
print("lift prove", time.perf_counter() - t, flush=True)
up = prove_v1(5, bytes(32), [V1Leaf(TASK, shape, st.to_bytes())], [node], FRI)
raw = up.encode()
print("v1 bytes", len(raw), flush=True)
for _ in range(3):
    t = time.perf_counter()
    UniversalProofV1.decode(raw).verify(
        zkvm_leaf_of(lambda tid: (program, b"some input"), FRI), FRI
    )
    print("verify", time.perf_counter() - t, flush=True)
print("maxrss MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
