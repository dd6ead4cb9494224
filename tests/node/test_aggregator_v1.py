"""The v1 aggregator (node/aggregator_v1.py): the job file is an explicit RLP layout that the
worker process reads back exactly, refusing anything else; the builder starts one worker for
the oldest block's pooled proofs of an allowed shape (a real process, stopped here: the lift
itself is the slow network test's), and none for a shape the genesis does not allow."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import rlp
from chain_helpers import make_genesis

from execution.chain import Chain
from execution.types import Transaction
from execution.zkproof import prove
from node.aggregator_v1 import Job, V1Builder
from node.proof_pool import ProofPool, verify_proof

sys.path.insert(0, str(Path(__file__).parents[1] / "execution" / "universal"))

from test_accept_v1 import ELF, PROVER, open_chain, shape_of, task_tx, v1_params


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
        assert builder._proc is None
        builder.close()
    finally:
        chain.close()


def test_a_worker_starts_for_pooled_proofs_of_an_allowed_shape(tmp_path: Path) -> None:
    task_id = bytes(Transaction.decode(task_tx()).hash)
    tp = prove(ELF, b"", "conjectured", prover=PROVER, task_id=task_id)
    shape = shape_of(tp)
    chain, block, created = open_chain(tmp_path / "c", v1_params((shape,)))
    try:
        assert created == task_id
        pool = ProofPool.open(tmp_path / "proofs")
        task = chain.state().task(task_id)
        assert pool.add(verify_proof(task, task_id, PROVER, tp.to_bytes(), "conjectured"))
        other = V1Builder(tmp_path / "other", "conjectured", [(shape[0] + 1, *shape[1:])])
        assert other.proofs(chain, pool) == ()
        assert other._proc is None  # no allowed shape among the pooled proofs
        builder = V1Builder(tmp_path / "v1", "conjectured", [shape])
        try:
            assert builder.proofs(chain, pool) == ()  # nothing built yet
            assert builder._proc is not None and builder._proc.poll() is None
            job = Job.decode((tmp_path / "v1" / "job.rlp").read_bytes())
            assert (job.block_height, job.block_hash) == (block.height, block.hash)
            assert job.task_ids() == (task_id,) and job.profile == "conjectured"
            assert builder.proofs(chain, pool) == ()  # one worker at a time
        finally:
            builder.close()
        assert builder._proc is None
    finally:
        chain.close()


def test_a_root_the_chain_refuses_is_logged_and_never_offered_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    builder = V1Builder(tmp_path / "v1", "conjectured", [(1, 2, 3)])
    ids = (b"\x01" * 32,)
    builder._ready[5] = (ids, b"root-bytes")
    with caplog.at_level("WARNING", logger="node.aggregator"):
        builder.rejected(b"other-bytes", "not ours")
        assert builder._ready and not caplog.records
        builder.rejected(b"root-bytes", "root proof rejected: x")
    assert builder._ready == {} and (5, ids) in builder._failed
    (record,) = caplog.records
    assert record.getMessage() == "v1_root_rejected"
    builder.close()
