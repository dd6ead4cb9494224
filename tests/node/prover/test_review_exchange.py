"""Review: one peer that announces a proof and then stalls (or answers "not held") must not
make a node drop every other peer's announcement of that proof.

Before the fix, `_consider` ignored any announcement of a task already being fetched, and a
fetch tried only the first announcement's peers. A staller that announced each pending task
first held each fetch for FETCH_TIMEOUT_S (30 s) without any penalty (a timeout or "not held"
is not an offence), the honest announcements that arrived meanwhile were dropped, and the
proof came only with the next re-announcement (30 s later), which the staller could race
again: proofs held out of pools indefinitely by one peer. Real libp2p hosts on 127.0.0.1.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest
import trio
from chain_helpers import make_genesis
from prover_helpers import PROFILE, PROVER, PROVER_KEY, ProofFor, build_task_chain
from test_exchange import _open_nodes, _replicas, _until

import node.prover.exchange as exchange_module
from execution.staking import sign_proof
from execution.types.hashing import keccak256
from node.proof_pool import ProofPool, verify_proof
from node.prover import ProofExchange
from node.prover.messages import Announcement
from p2p import PROTOCOL_PROOF, TOPIC_PROOF_ANNOUNCEMENTS


async def test_a_stalling_announcer_does_not_hide_the_honest_announcement(
    tmp_path: Path, proof_for: ProofFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange_module, "FETCH_TIMEOUT_S", 3.0)
    chain, blocks, task_id = build_task_chain(tmp_path / "chain0", make_genesis())
    sample_proof = proof_for(task_id)
    victim_chain, honest_chain = _replicas(tmp_path, chain, blocks, 2)
    task = victim_chain.state().task(task_id)
    signature = sign_proof(PROVER_KEY.private_key, victim_chain.genesis_hash, task_id, sample_proof)
    verified = verify_proof(task, task_id, PROVER, sample_proof, PROFILE, signature)
    victim_pool = ProofPool.open(tmp_path / "victim")
    honest_pool = ProofPool.open(tmp_path / "honest")
    assert honest_pool.add(verified)
    stalled = trio.Event()
    try:
        async with AsyncExitStack() as stack:
            victim, honest, staller = await _open_nodes(stack, tmp_path, 3)
            async with trio.open_nursery() as nursery:
                victim_ex = ProofExchange(victim_chain, victim_pool, victim, 3600)
                honest_ex = ProofExchange(honest_chain, honest_pool, honest, 3600)
                victim_ex.attach(nursery)
                honest_ex.attach(nursery)

                async def stall(peer: str, data: bytes) -> bytes:
                    stalled.set()
                    await trio.sleep(3600)
                    return b""

                staller.register_handler(PROTOCOL_PROOF, stall)
                statement = verified.statement.to_bytes()
                ann = Announcement(task_id, PROVER, keccak256(statement), len(sample_proof))
                await staller.publish(TOPIC_PROOF_ANNOUNCEMENTS, ann.encode())
                with trio.fail_after(20):
                    await stalled.wait()  # the victim is fetching from the staller
                await honest_ex.announce(task_id, PROVER, statement, len(sample_proof))
                await _until(lambda: task_id in victim_pool, 30)
                nursery.cancel_scope.cancel()
        pooled = victim_pool.get(task_id)
        assert pooled is not None and pooled.leaf.task_proof == sample_proof
        assert victim_ex.rejected == 0
    finally:
        victim_chain.close()
        honest_chain.close()
