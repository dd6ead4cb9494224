"""The proposer's side of Universal Proof v1: building a block's recursion root off the event
loop and packing it once ready.

On a version 1 chain a Universal Proof is one recursion proof (execution/universal/proof_v1.py)
over the task proofs of one block: a lift per task proof (minutes each for a zkVM proof under
`conjectured`: docs/benchmarks.md) and joins pairwise up to the root. That is far too long for
the event loop, or for one block interval, so the node that holds the task proofs builds the
tree in a worker process (`python -m node.aggregator_v1 <job> <out> [<keys>]`, one at a time) and the
proposer includes the root in its next block once the worker has written it and its tasks are
still pending. The job and the result are files under the node's data directory, in explicit
byte formats (the job: RLP below; the result: the v1 bytes), and the worker's progress log is
`worker.log` there.

    job = rlp([block_height, block_hash, profile, [[task_id, task_proof], ...]])

A job takes the pooled proofs of the oldest block with pending tasks whose shape the genesis
allows, all of one shape (consensus accepts one lift shape per proof), at most
MAX_JOB_LEAVES of them (the tree's time grows with them; the rest go in a later job).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import rlp
from rlp.sedes import Binary, CountableList, List, big_endian_int, binary

from execution.chain import Chain
from execution.universal import ProofLeaf
from execution.universal.lift_shapes import task_proof_shape
from node.aggregator import ProofSource, pending_blocks
from node.logs import event

logger = logging.getLogger("node.aggregator")

MAX_JOB_LEAVES = 8
# Under the node's data directory: the disk cache of recursion keys (execution/recursion/
# key_store.py), shared by the node's own checks, its worker and `python -m node.warmup`.
RECURSION_KEYS_DIR = "recursion-keys"


def configure_key_store(directory: Path) -> None:
    """Use the disk cache of recursion keys in `directory` in this process (imports the
    recursion stack: a v1 chain only)."""
    from execution.recursion import key_store

    key_store.configure(directory)


_JOB = List(
    [
        big_endian_int,
        Binary.fixed_length(32),
        binary,
        CountableList(List([Binary.fixed_length(32), binary], strict=True)),
    ],
    strict=True,
)


@dataclass(frozen=True)
class Job:
    block_height: int
    block_hash: bytes
    profile: str
    leaves: tuple[tuple[bytes, bytes], ...]  # (task id, task proof) in tree order

    def encode(self) -> bytes:
        leaves = [[t, p] for t, p in self.leaves]
        return rlp.encode(
            [self.block_height, self.block_hash, self.profile.encode(), leaves], sedes=_JOB
        )

    @classmethod
    def decode(cls, data: bytes) -> Job:
        height, block_hash, profile, leaves = rlp.decode(data, sedes=_JOB, strict=True)
        return cls(height, block_hash, profile.decode(), tuple((t, p) for t, p in leaves))

    def task_ids(self) -> tuple[bytes, ...]:
        return tuple(t for t, _ in self.leaves)


def build(job: Job, say: Callable[[str], None] = lambda _m: None) -> bytes:
    """The v1 bytes for `job`: lift every task proof, join pairwise (the tree rule of
    execution/recursion/join.py), wrap with the statements. Runs in the worker process."""
    from execution.recursion.lift import lift
    from execution.stark.params import profile
    from execution.universal.proof_v1 import V1Leaf, prove_v1
    from execution.universal.zkvm_leaf import zkvm_spec
    from execution.zkproof.prover import airs_for, public_values
    from execution.zkproof.task import TaskProof

    fri = profile(job.profile)
    leaves = []
    level = []
    n = len(job.leaves)
    for i, (task_id, raw) in enumerate(job.leaves):
        t0 = time.perf_counter()
        tp = TaskProof.from_bytes(raw)
        st = tp.statement
        airs = airs_for(tp.program, tp.input, st.output).as_list()
        shape = tuple(t.log_n for t in tp.stark.tables)
        spec = zkvm_spec(airs, shape, fri)
        pubs = public_values(st, tp.program, len(tp.input))
        level.append(lift(spec, task_id, tp.stark, pubs, airs))
        leaves.append(V1Leaf(task_id, shape, st.to_bytes()))
        say(f"lift {i + 1}/{n}: {time.perf_counter() - t0:.1f} s")
    joins = [0, time.perf_counter()]

    def joined(span: tuple[int, int]) -> None:
        joins[0] += 1
        say(
            f"join {joins[0]}/{n - 1} (tasks {span[0]}..{span[1] - 1}): "
            f"{time.perf_counter() - joins[1]:.1f} s"
        )
        joins[1] = time.perf_counter()

    up = prove_v1(job.block_height, job.block_hash, leaves, level, fri, on_join=joined)
    return up.encode()


class V1Builder:
    """One worker at a time building a block's v1 root; `proofs` is what the proposer packs."""

    def __init__(
        self,
        directory: Path,
        profile: str,
        shapes: Sequence[tuple[int, ...]],
        keys: Path | None = None,
    ) -> None:
        self.directory = directory
        self.keys = keys  # the recursion key cache the worker uses (None: none)
        self.profile = profile
        self.shapes = set(shapes)
        directory.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._job: Job | None = None
        self._started = 0.0
        self._ready: dict[int, tuple[tuple[bytes, ...], bytes]] = {}
        self._shapes: dict[bytes, tuple[int, ...] | None] = {}
        self._failed: set[tuple[int, tuple[bytes, ...]]] = set()

    def _reap(self) -> None:
        proc, job = self._proc, self._job
        if proc is None or job is None or proc.poll() is None:
            return
        self._proc = self._job = None
        out = self.directory / "root.bin"
        seconds = round(time.monotonic() - self._started, 1)
        if proc.returncode == 0 and out.exists():
            raw = out.read_bytes()
            out.unlink()
            self._ready[job.block_height] = (job.task_ids(), raw)
            event(
                logger,
                "v1_root_built",
                height=job.block_height,
                tasks=len(job.leaves),
                bytes=len(raw),
                seconds=seconds,
            )
        else:
            self._failed.add((job.block_height, job.task_ids()))
            event(
                logger,
                "v1_root_failed",
                logging.WARNING,
                height=job.block_height,
                returncode=proc.returncode,
                seconds=seconds,
                log=str(self.directory / "worker.log"),
            )

    def _start(self, job: Job) -> None:
        path = self.directory / "job.rlp"
        path.write_bytes(job.encode())
        log = open(self.directory / "worker.log", "ab")  # noqa: SIM115 (the child holds it)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "node.aggregator_v1",
                str(path),
                str(self.directory / "root.bin"),
                *([] if self.keys is None else [str(self.keys)]),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()
        self._job = job
        self._started = time.monotonic()
        event(logger, "v1_root_started", height=job.block_height, tasks=len(job.leaves))

    def _shape(self, leaf: ProofLeaf) -> tuple[int, ...] | None:
        if leaf.task_id not in self._shapes:
            self._shapes[leaf.task_id] = task_proof_shape(leaf.task_proof)
        return self._shapes[leaf.task_id]

    def proofs(self, chain: Chain, pool: ProofSource) -> tuple[bytes, ...]:
        """The v1 proof to pack now (at most one: a root is ~0.75 MB), and start a worker
        for the oldest block that has pooled proofs and no root yet."""
        self._reap()
        pending = pending_blocks(chain)
        heights = {pb.height for pb in pending}
        for height in [h for h in self._ready if h not in heights]:
            del self._ready[height]
        packed: tuple[bytes, ...] = ()
        for pb in pending:
            ready = self._ready.get(pb.height)
            if ready is None:
                continue
            ids, raw = ready
            if set(ids) <= set(pb.task_ids):
                packed = (raw,)
                break
            del self._ready[pb.height]  # some of its tasks were answered or expired
        if self._proc is not None:
            return packed
        for pb in pending:
            if pb.height in self._ready:
                continue
            pooled = {leaf.task_id: leaf for leaf in pool.for_block(pb.height)}
            chosen = [pooled[t] for t in pb.task_ids if t in pooled]
            chosen = [leaf for leaf in chosen if self._shape(leaf) in self.shapes]
            if not chosen:
                continue
            first = self._shape(chosen[0])
            chosen = [leaf for leaf in chosen if self._shape(leaf) == first][:MAX_JOB_LEAVES]
            job = Job(
                pb.height,
                pb.block_hash,
                self.profile,
                tuple((leaf.task_id, leaf.task_proof) for leaf in chosen),
            )
            if (job.block_height, job.task_ids()) in self._failed:
                continue
            self._start(job)
            break
        return packed

    def rejected(self, raw: bytes, reason: str = "") -> None:
        """The chain refused a root this builder made: do not offer or rebuild it."""
        for height, (ids, built) in list(self._ready.items()):
            if built == raw:
                del self._ready[height]
                self._failed.add((height, ids))
                event(
                    logger,
                    "v1_root_rejected",
                    logging.WARNING,
                    height=height,
                    tasks=len(ids),
                    reason=reason,
                )

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


def main(argv: list[str]) -> int:
    """Worker: build the root of the job file into the output file (atomically); a third
    argument names the recursion key cache."""
    job_path, out_path = Path(argv[0]), Path(argv[1])
    if len(argv) > 2:
        configure_key_store(Path(argv[2]))
    parent = os.getppid()

    def say(msg: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)
        if os.getppid() != parent:  # the node is gone: nobody will read the root
            raise SystemExit(3)

    job = Job.decode(job_path.read_bytes())
    say(f"block {job.block_height}: {len(job.leaves)} task proofs, profile {job.profile}")
    t0 = time.perf_counter()
    raw = build(job, say)
    tmp = out_path.with_suffix(".tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, out_path)
    say(f"root of {len(raw)} bytes in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
