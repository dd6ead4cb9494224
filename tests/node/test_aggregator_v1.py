"""The v1 aggregator (node/aggregator_v1.py): the job file is an explicit RLP layout that the
worker process reads back exactly, refusing anything else; the builder starts one worker for
the oldest block's pooled proofs of an allowed shape (a real process, stopped here: the lift
itself is the slow network test's), and none for a shape the genesis does not allow."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import rlp
from chain_helpers import make_genesis

from execution.chain import Chain
from execution.types import Block, Transaction
from execution.zkproof.task import TaskProof
from node.aggregator_v1 import Job, V1Builder
from node.proof_pool import ProofPool, verify_proof

sys.path.insert(0, str(Path(__file__).parents[1] / "execution" / "universal"))

import test_accept_v1
from test_accept_v1 import PROVER, open_chain, shape_of, task_tx, v1_params

# The accept tests' module-scoped fixture: one proof of their task per module.
task_proof = test_accept_v1.task_proof


def test_job_round_trips_and_malformed_jobs_are_refused() -> None:
    job = Job(7, bytes(range(32)), "conjectured", ((b"\x01" * 32, b"proof-a"), (b"\x02" * 32, b"")))
    assert Job.decode(job.encode()) == job
    assert job.task_ids() == (b"\x01" * 32, b"\x02" * 32)
    raw = job.encode()
    for bad in (raw[:-1], raw + b"\x00", rlp.encode([7, b"short", b"x", []])):
        with pytest.raises((rlp.DecodingError, rlp.DeserializationError)):
            Job.decode(bad)


def test_nothing_pooled_means_nothing_packed_and_no_worker(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "c", make_genesis())
    try:
        pool = ProofPool.open(tmp_path / "proofs")
        builder = V1Builder(tmp_path / "v1", "conjectured", [(1, 2, 3)])
        assert builder.proofs(chain, pool) == ()
        assert not (tmp_path / "v1" / "job.rlp").exists()  # no worker was given a job
        builder.close()
    finally:
        chain.close()


@dataclass
class Pooled:
    chain: Chain
    block: Block
    pool: ProofPool
    task_id: bytes
    shape: tuple[int, ...]


@pytest.fixture
def pooled(tmp_path: Path, task_proof: TaskProof) -> Iterator[Pooled]:
    """A v1 chain whose block 2 holds one task, and a pool holding a valid proof of it."""
    task_id, tp = bytes(Transaction.decode(task_tx()).hash), task_proof
    shape = shape_of(tp)
    chain, block, created = open_chain(tmp_path / "c", v1_params((shape,)))
    try:
        assert created == task_id
        pool = ProofPool.open(tmp_path / "proofs")
        task = chain.state().task(task_id)
        assert pool.add(verify_proof(task, task_id, PROVER, tp.to_bytes(), "conjectured"))
        yield Pooled(chain, block, pool, task_id, shape)
    finally:
        chain.close()


def _started(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.getMessage() == "v1_root_started" for r in caplog.records)


def test_a_worker_starts_for_pooled_proofs_of_an_allowed_shape(
    tmp_path: Path, pooled: Pooled, caplog: pytest.LogCaptureFixture
) -> None:
    chain, pool, shape = pooled.chain, pooled.pool, pooled.shape
    caplog.set_level("INFO", logger="node.aggregator")
    other = V1Builder(tmp_path / "other", "conjectured", [(shape[0] + 1, *shape[1:])])
    assert other.proofs(chain, pool) == ()
    assert _started(caplog) == 0  # no allowed shape among the pooled proofs
    assert not (tmp_path / "other" / "job.rlp").exists()
    builder = V1Builder(tmp_path / "v1", "conjectured", [shape])
    try:
        assert builder.proofs(chain, pool) == ()  # nothing built yet
        assert _started(caplog) == 1
        job = Job.decode((tmp_path / "v1" / "job.rlp").read_bytes())
        assert (job.block_height, job.block_hash) == (pooled.block.height, pooled.block.hash)
        assert job.task_ids() == (pooled.task_id,) and job.profile == "conjectured"
        assert builder.proofs(chain, pool) == ()
        assert _started(caplog) == 1  # one worker at a time
    finally:
        builder.close()


def test_a_root_the_chain_refuses_is_logged_and_never_offered_or_built_again(
    tmp_path: Path, pooled: Pooled, caplog: pytest.LogCaptureFixture
) -> None:
    chain, pool = pooled.chain, pooled.pool
    caplog.set_level("INFO", logger="node.aggregator")
    builder = V1Builder(tmp_path / "v1", "conjectured", [pooled.shape])
    # What a worker that finished leaves (building a root takes minutes: the slow test's).
    builder._ready[pooled.block.height] = ((pooled.task_id,), b"root-bytes")
    assert builder.proofs(chain, pool) == (b"root-bytes",)  # offered, and no worker needed
    builder.rejected(b"other-bytes", "not ours")
    assert builder.proofs(chain, pool) == (b"root-bytes",)
    assert not [r for r in caplog.records if r.getMessage() == "v1_root_rejected"]
    builder.rejected(b"root-bytes", "root proof rejected: x")
    (record,) = [r for r in caplog.records if r.getMessage() == "v1_root_rejected"]
    assert record.levelname == "WARNING"
    # Not offered again, and no worker is given the same block and tasks to build again.
    assert builder.proofs(chain, pool) == ()
    assert _started(caplog) == 0 and not (tmp_path / "v1" / "job.rlp").exists()
    builder.close()
