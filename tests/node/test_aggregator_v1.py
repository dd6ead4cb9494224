"""The v1 aggregator's job file (node/aggregator_v1.py): an explicit RLP layout that the
worker process reads back exactly, refusing anything else; with no pooled proofs the builder
packs nothing and starts no worker."""

from __future__ import annotations

from pathlib import Path

import pytest
import rlp
from chain_helpers import make_genesis

from execution.chain import Chain
from node.aggregator_v1 import Job, V1Builder
from node.proof_pool import ProofPool


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
