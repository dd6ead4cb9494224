"""Real libp2p hosts on 127.0.0.1: a prover proves a committed sample task; the other nodes
fetch the proof over /ivcnet/proof/1, verify it against their own chain and pool it. A
malicious prover's proof is rejected by every pool and the next prover in line takes over."""

from __future__ import annotations

import logging
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from chain_helpers import make_genesis
from prover_helpers import PROVER as GOOD
from prover_helpers import PROVER_KEY as GOOD_KEY
from prover_helpers import build_task_chain, empty_block

from execution.chain import Chain
from execution.staking import InvalidProofEvidence
from execution.zkproof.samples import fib_loop_result
from genesis import AccountKey, ProtocolParams
from node.proof_pool import ProofPool
from node.prover import ProofExchange, ProverService, rank_provers
from p2p import TOPIC_PROOF_ANNOUNCEMENTS, DialConfig, P2PConfig, P2PService, open_p2p_service

BAD_KEY = AccountKey((0xBA).to_bytes(32, "big"))
BAD = BAD_KEY.address
FAST_DIAL = DialConfig(attempts=3, backoff_initial_s=0.05, backoff_max_s=0.5, reconnect_check_s=0.1)


async def _open_nodes(
    stack: AsyncExitStack, tmp: Path, n: int, connected: int | None = None
) -> list[P2PService]:
    """n hosts; the first `connected` (default all) in a full mesh."""
    nodes = [
        await stack.enter_async_context(
            open_p2p_service(P2PConfig(home=tmp / f"p2p{i}", dial=FAST_DIAL))
        )
        for i in range(n)
    ]
    m = n if connected is None else connected
    for i, a in enumerate(nodes[:m]):
        for b in nodes[i + 1 : m]:
            await a.connect(b.listen_addrs[0])
    for node in nodes[:m]:
        await node.wait_for_topic_peers(TOPIC_PROOF_ANNOUNCEMENTS, m - 1, timeout=10)
    return nodes


def _replicas(tmp: Path, chain: Chain, blocks: list, n: int) -> list[Chain]:  # type: ignore[type-arg]
    out = [chain]
    for i in range(1, n):
        replica = Chain.open(tmp / f"chain{i}", chain.genesis)
        for block in blocks:
            replica.commit_block(block)
        out.append(replica)
    return out


async def _until(cond, timeout: float = 90) -> None:  # type: ignore[no-untyped-def]
    with trio.fail_after(timeout):
        while not cond():
            await trio.sleep(0.05)


async def test_a_proof_reaches_every_pool(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="node.prover")
    chain, blocks, task_id = build_task_chain(tmp_path / "chain0", make_genesis())
    chains = _replicas(tmp_path, chain, blocks, 3)
    pools = [ProofPool.open(tmp_path / f"proofs{i}") for i in range(3)]
    try:
        async with AsyncExitStack() as stack:
            nodes = await _open_nodes(stack, tmp_path, 3, connected=2)
            async with trio.open_nursery() as nursery:
                exchanges = [
                    ProofExchange(c, p, n, reannounce_interval=1.0)
                    for c, p, n in zip(chains, pools, nodes, strict=True)
                ]
                for ex in exchanges:
                    ex.attach(nursery)
                prover = ProverService(chains[0], exchanges[0], GOOD_KEY, workers=1)
                started = time.perf_counter()
                nursery.start_soon(prover.run)
                await _until(lambda: task_id in pools[1])
                elapsed = time.perf_counter() - started
                # a node that connects later (to the fetcher only) gets it by re-announcement
                await nodes[2].connect(nodes[1].listen_addrs[0])
                await _until(lambda: task_id in pools[2], 30)
                fields = [getattr(r, "fields", {}) for r in caplog.records]
                prove_s = [f["prove_s"] for f in fields if f.get("event") == "proof_done"]
                fetch_ms = [f["ms"] for f in fields if f.get("event") == "proof_fetched"]
                print(
                    f"committed task -> proof in another node's pool: {elapsed:.2f} s "
                    f"(prove in a worker process {prove_s} s, fetch + verify {fetch_ms} ms)"
                )
                # garbage on the topic: dropped (not relayed) and its sender scored down
                await nodes[2].publish(TOPIC_PROOF_ANNOUNCEMENTS, b"\xff not a message")

                def scored_down(node: P2PService) -> bool:
                    return any(s.peer_id == nodes[2].peer_id and s.score < 0 for s in node.peers())

                await _until(lambda: scored_down(nodes[1]), 20)
                nursery.cancel_scope.cancel()
        exit_code, cycles = fib_loop_result(5)
        for pool in pools:
            pooled = pool.get(task_id)
            assert pooled is not None and pooled.leaf.prover == GOOD
            assert (pooled.statement.exit_code, pooled.statement.cycles) == (exit_code, cycles)
        assert exchanges[1].fetched + exchanges[2].fetched == 2
        assert not any(ex.rejected for ex in exchanges)
    finally:
        for c in chains:
            c.close()


@pytest.mark.slow
async def test_a_malicious_proof_is_rejected_and_the_next_prover_takes_over(
    tmp_path: Path,
) -> None:
    genesis = make_genesis(params=ProtocolParams(prover_timeout_blocks=1))
    genesis = replace(genesis, provers=(BAD, GOOD))
    chain, blocks, task_id = build_task_chain(
        tmp_path / "chain0",
        genesis,
        lambda block, task_id: rank_provers(block.hash, task_id, (BAD, GOOD))[0] == BAD,
    )
    chains = _replicas(tmp_path, chain, blocks, 3)
    pools = [ProofPool.open(tmp_path / f"proofs{i}") for i in range(3)]
    try:
        async with AsyncExitStack() as stack:
            nodes = await _open_nodes(stack, tmp_path, 3)
            async with trio.open_nursery() as nursery:
                exchanges = [
                    ProofExchange(c, p, n) for c, p, n in zip(chains, pools, nodes, strict=True)
                ]
                evidence: list[InvalidProofEvidence] = []
                for ex in exchanges:
                    ex.on_invalid_proof = evidence.append
                    ex.attach(nursery)
                bad = ProverService(
                    chains[0], exchanges[0], BAD_KEY, workers=1, fault="other-input"
                )
                good = ProverService(chains[1], exchanges[1], GOOD_KEY, workers=1)
                nursery.start_soon(bad.run)
                nursery.start_soon(good.run)
                # both honest nodes fetch the bad proof, reject it and score its server down
                await _until(lambda: exchanges[1].rejected >= 1 and exchanges[2].rejected >= 1)
                assert not any(task_id in p for p in pools)
                # ... and turn the signed bad proof into evidence against its prover
                assert evidence and all((e.task_id, e.prover) == (task_id, BAD) for e in evidence)
                assert good.proven == 0  # not its turn yet: one block of timeout
                bad_peer = nodes[0].peer_id
                assert any(s.peer_id == bad_peer and s.score < 0 for s in nodes[2].peers())
                # one more block: the next in line proves, and its proof reaches every honest pool
                block = empty_block(chains[0], 4_000)
                for c, ex, svc in zip(chains, exchanges, (bad, good, None), strict=True):
                    c.commit_block(block)
                    ex.on_commit()
                    if svc is not None:
                        svc.on_commit(block)
                await _until(lambda: task_id in pools[1] and task_id in pools[2])
                nursery.cancel_scope.cancel()
        for pool in pools:  # the malicious node's own pool holds only the honest proof, if any
            pooled = pool.get(task_id)
            assert pooled is None or pooled.leaf.prover == GOOD
        assert task_id in pools[1] and task_id in pools[2]
    finally:
        for c in chains:
            c.close()


@pytest.mark.slow
async def test_a_prover_stops_when_another_proof_arrives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="node.prover")
    chain, blocks, task_id = build_task_chain(tmp_path / "chain0", make_genesis())
    chains = _replicas(tmp_path, chain, blocks, 2)
    pools = [ProofPool.open(tmp_path / f"proofs{i}") for i in range(2)]
    late_key = AccountKey((0x1A).to_bytes(32, "big"))
    try:
        async with AsyncExitStack() as stack:
            nodes = await _open_nodes(stack, tmp_path, 2)
            async with trio.open_nursery() as nursery:
                exchanges = [
                    ProofExchange(c, p, n) for c, p, n in zip(chains, pools, nodes, strict=True)
                ]
                for ex in exchanges:
                    ex.attach(nursery)
                first = ProverService(chains[0], exchanges[0], GOOD_KEY, workers=1)
                nursery.start_soon(first.run)
                # the second prover starts 4 s later and has not heard the first one's claim,
                # so it proves too (an open prover set, each knowing only itself)
                await trio.sleep(4.0)
                second = ProverService(chains[1], exchanges[1], late_key, workers=1)
                nursery.start_soon(second.run)
                await _until(lambda: task_id in pools[0] and task_id in pools[1])

                def events(name: str) -> list[dict[str, object]]:
                    fields = [getattr(r, "fields", {}) for r in caplog.records]
                    return [f for f in fields if f.get("event") == name]

                await _until(lambda: len(events("prove_abandoned")) == 1, 30)
                nursery.cancel_scope.cancel()
        assert first.proven == 1 and second.proven == 0
        assert len(events("prove_start")) == 2
        pooled = pools[1].get(task_id)
        assert pooled is not None and pooled.leaf.prover == GOOD
    finally:
        for c in chains:
            c.close()
