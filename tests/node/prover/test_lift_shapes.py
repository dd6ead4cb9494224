"""Review finding (a) of issue 8: on a v1 chain a task proof of a shape outside the genesis
allow-list `universal_proof_lift_shapes` verifies (its prover is not slashable) but no root can
take it. Pooled first, it held the task's one pool slot and stopped the exchange from fetching
another proof, so the task could only expire. Now the pool's entry check refuses it
(`ShapeNotAllowed`, before verification), the exchange records no evidence and fetches again on
the next announcement, and the prover service does not publish such a proof.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from chain_helpers import make_genesis
from prover_helpers import PROFILE, PROVER, PROVER_KEY, T1, ProofFor, build_task_chain
from test_exchange import _open_nodes, _replicas, _until

from execution.staking import InvalidProofEvidence, sign_proof
from execution.universal.lift_shapes import task_proof_shape
from genesis.params import UNIVERSAL_PROOF_V1, ProtocolParams
from node.proof_pool import InvalidPoolProof, ProofPool, ShapeNotAllowed, verify_proof
from node.prover import ProofExchange


def _v1(shapes: tuple[tuple[int, ...], ...]) -> ProtocolParams:
    return replace(
        ProtocolParams(),
        universal_proof_version=UNIVERSAL_PROOF_V1,
        universal_proof_lift_shapes=shapes,
    )


def _shapes(proof_for: ProofFor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The sample proof's shape (every proof of the sample program has it) and another one."""
    shape = task_proof_shape(proof_for(T1))
    assert shape is not None
    return shape, (shape[0] + 1, *shape[1:])


def test_the_pool_refuses_a_shape_outside_the_allow_list(
    tmp_path: Path, proof_for: ProofFor
) -> None:
    shape, other = _shapes(proof_for)
    chain, _, task_id = build_task_chain(tmp_path / "c", make_genesis(params=_v1((other,))))
    try:
        proof = proof_for(task_id)
        task = chain.state().task(task_id)
        with pytest.raises(ShapeNotAllowed, match=r"lift shape \[.*\] is not in"):
            verify_proof(task, task_id, PROVER, proof, PROFILE, lift_shapes={other})
        verified = verify_proof(task, task_id, PROVER, proof, PROFILE, lift_shapes={shape, other})
        assert verified.statement.task_id == task_id
        assert verify_proof(task, task_id, PROVER, proof, PROFILE).height == task.submitted_height
        # A proof that does not parse is an invalid proof (evidence), not a refused shape.
        with pytest.raises(InvalidPoolProof) as info:
            verify_proof(task, task_id, PROVER, proof[:-7], PROFILE, lift_shapes={other})
        assert not isinstance(info.value, ShapeNotAllowed)
    finally:
        chain.close()


async def test_the_exchange_refuses_a_disallowed_shape_without_evidence_and_fetches_again(
    tmp_path: Path, proof_for: ProofFor
) -> None:
    _, other = _shapes(proof_for)
    chain, blocks, task_id = build_task_chain(
        tmp_path / "chain0", make_genesis(params=_v1((other,)))
    )
    victim_chain, server_chain = _replicas(tmp_path, chain, blocks, 2)
    proof = proof_for(task_id)
    task = server_chain.state().task(task_id)
    signature = sign_proof(PROVER_KEY.private_key, server_chain.genesis_hash, task_id, proof)
    # The serving node pools it with the v0 rules: what a node without the allow-list check did.
    verified = verify_proof(task, task_id, PROVER, proof, PROFILE, signature)
    victim_pool = ProofPool.open(tmp_path / "victim")
    server_pool = ProofPool.open(tmp_path / "server")
    assert server_pool.add(verified)
    evidence: list[InvalidProofEvidence] = []
    try:
        async with AsyncExitStack() as stack:
            victim, server = await _open_nodes(stack, tmp_path, 2)
            async with trio.open_nursery() as nursery:
                victim_ex = ProofExchange(victim_chain, victim_pool, victim, 3600)
                server_ex = ProofExchange(server_chain, server_pool, server, 3600)
                victim_ex.on_invalid_proof = evidence.append
                victim_ex.attach(nursery)
                server_ex.attach(nursery)
                statement = verified.statement.to_bytes()
                for round_ in (1, 2):  # a refused shape does not end the search for the task
                    await server_ex.announce(task_id, PROVER, statement, len(proof))
                    await _until(lambda n=round_: victim_ex.rejected == n, 30)
                    await _until(lambda: task_id not in victim_ex._fetching, 10)
                nursery.cancel_scope.cancel()
        assert task_id not in victim_pool
        assert evidence == []
    finally:
        victim_chain.close()
        server_chain.close()


async def test_the_prover_skips_a_task_of_a_disallowed_shape_before_proving(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Review finding: the prover proved such a task for minutes before its own pool refused
    the proof; it now runs the task's shape (`run_shape`, an execution) first and skips it."""
    import logging

    from prover_helpers import ELF

    from execution.universal.lift_shapes import run_shape
    from node.prover import ProverService

    caplog.set_level(logging.INFO, logger="node.prover")
    shape = run_shape(ELF, b"")
    other = (shape[0] + 1, *shape[1:])
    for i, (allowed, expected) in enumerate(
        (((other,), "prove_skipped_shape"), ((shape, other), "prove_start"))
    ):
        chain, _, task_id = build_task_chain(tmp_path / f"c{i}", make_genesis(params=_v1(allowed)))
        caplog.clear()
        try:
            async with AsyncExitStack() as stack:
                (host,) = await _open_nodes(stack, tmp_path / f"h{i}", 1)
                async with trio.open_nursery() as nursery:
                    exchange = ProofExchange(chain, ProofPool.open(tmp_path / f"p{i}"), host)
                    exchange.attach(nursery)
                    service = ProverService(chain, exchange, PROVER_KEY, workers=1)
                    nursery.start_soon(service.run)

                    def seen(name: str) -> list[dict[str, object]]:
                        fields = [getattr(r, "fields", {}) for r in caplog.records]
                        return [f for f in fields if f.get("event") == name]

                    await _until(lambda e=expected: bool(seen(e)), 60)
                    nursery.cancel_scope.cancel()
            if expected == "prove_skipped_shape":
                assert not seen("prove_start")
                assert seen(expected)[0]["task"] == task_id.hex()
                assert seen(expected)[0]["shape"] == list(shape)
        finally:
            chain.close()
