"""The proof pool: only verified proofs enter, one per task, bounded, and kept across reopen."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from prover_helpers import PROFILE, PROVER, T1, T2, T3, ProofFor, make_task

from execution.state import TaskStatus
from execution.zkproof import TaskProof
from node.proof_pool import InvalidPoolProof, ProofPool, verify_proof


def test_verified_proof_is_pooled_once_and_survives_reopen(
    tmp_path: Path, sample_proof: bytes
) -> None:
    pool = ProofPool.open(tmp_path / "proofs")
    proof = verify_proof(make_task(T1), T1, PROVER, sample_proof, PROFILE)
    assert pool.add(proof)
    assert not pool.add(proof)  # idempotent: the first valid one is kept
    again = verify_proof(make_task(T1), T1, PROVER, sample_proof, PROFILE)
    assert not pool.add(again)
    assert pool.prover(T1) == PROVER
    assert [leaf.task_id for leaf in pool.for_block(3)] == [T1]
    assert pool.for_block(4) == []

    reopened = ProofPool.open(tmp_path / "proofs")
    got = reopened.get(T1)
    assert got is not None
    assert got.leaf.task_proof == sample_proof and got.leaf.prover == PROVER
    assert got.height == 3 and got.statement == proof.statement
    assert reopened.size_bytes == pool.size_bytes == len(sample_proof)

    assert reopened.discard([T1, T2]) == 1
    assert ProofPool.open(tmp_path / "proofs").get(T1) is None
    assert list((tmp_path / "proofs").iterdir()) == []


def test_corrupt_and_partial_files_are_dropped_at_open(tmp_path: Path, proof_for: ProofFor) -> None:
    pool = ProofPool.open(tmp_path / "p")
    pool.add(verify_proof(make_task(T1), T1, PROVER, proof_for(T1), PROFILE))
    pool.add(verify_proof(make_task(T2, height=4), T2, PROVER, proof_for(T2), PROFILE))
    files = sorted((tmp_path / "p").iterdir())
    files[0].write_bytes(files[0].read_bytes()[:-1])  # truncated
    (tmp_path / "p" / "x.proof.tmp").write_bytes(b"half a write")
    (tmp_path / "p" / "junk.proof").write_bytes(b"IVCPPL01" + b"\x00" * 10)
    reopened = ProofPool.open(tmp_path / "p")
    assert reopened.task_ids() == [T2]
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == [files[1].name]


def test_budget_drops_oldest_heights_first(tmp_path: Path, proof_for: ProofFor) -> None:
    size = max(len(proof_for(t)) for t in (T1, T2, T3))
    pool = ProofPool.open(tmp_path / "p", budget_bytes=2 * size)
    for task_id, height in ((T2, 5), (T1, 4), (T3, 6)):
        pool.add(
            verify_proof(make_task(task_id, height), task_id, PROVER, proof_for(task_id), PROFILE)
        )
    assert pool.heights() == [5, 6] and T1 not in pool
    assert pool.size_bytes <= pool.budget_bytes
    # an old height's proof does not push out newer ones
    assert not pool.add(verify_proof(make_task(T1, 2), T1, PROVER, proof_for(T1), PROFILE))
    assert ProofPool.open(tmp_path / "p", budget_bytes=size).heights() == [6]


def test_proofs_that_do_not_answer_the_task_are_refused(
    sample_proof: bytes, other_proof: bytes
) -> None:
    task = make_task(T1)
    with pytest.raises(InvalidPoolProof, match="no such task"):
        verify_proof(None, T1, PROVER, sample_proof, PROFILE)
    with pytest.raises(InvalidPoolProof, match="image"):
        verify_proof(task, T1, PROVER, other_proof, PROFILE)  # another program's proof
    with pytest.raises(InvalidPoolProof, match="another input"):
        verify_proof(replace(task, input=b"x"), T1, PROVER, sample_proof, PROFILE)
    with pytest.raises(InvalidPoolProof, match="budget"):
        verify_proof(replace(task, max_cycles=10), T1, PROVER, sample_proof, PROFILE)
    with pytest.raises(InvalidPoolProof, match="proven"):
        verify_proof(replace(task, status=TaskStatus.PROVEN), T1, PROVER, sample_proof, PROFILE)
    with pytest.raises(InvalidPoolProof, match="profile"):
        verify_proof(task, T1, PROVER, sample_proof, "proven")
    with pytest.raises(InvalidPoolProof):
        verify_proof(task, T1, PROVER, sample_proof[:-7], PROFILE)
    tampered = TaskProof.from_bytes(sample_proof)
    tampered.statement = replace(tampered.statement, exit_code=tampered.statement.exit_code ^ 1)
    with pytest.raises(InvalidPoolProof):  # what --prover-fault tampered-statement publishes
        verify_proof(task, T1, PROVER, tampered.to_bytes(), PROFILE)
    with pytest.raises(InvalidPoolProof, match="made for prover"):
        verify_proof(task, T1, b"\x55" * 20, sample_proof, PROFILE)  # a stolen proof
    with pytest.raises(InvalidPoolProof, match="20 bytes"):
        verify_proof(task, T1, b"\x01", sample_proof, PROFILE)
    with pytest.raises(InvalidPoolProof, match="no such task"):
        verify_proof(task, T2, PROVER, sample_proof, PROFILE)  # record of another task
    with pytest.raises(InvalidPoolProof, match="made for task"):
        verify_proof(make_task(T2), T2, PROVER, sample_proof, PROFILE)  # T1's proof for T2
