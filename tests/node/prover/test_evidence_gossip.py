"""Invalid-proof evidence over gossip (node/evidence_gossip.py), real libp2p hosts on 127.0.0.1
in a line A - B - C: A is a full node that met a bad proof, B a full node that relays, C the
proposer that never saw the proof. Junk is refused before relaying (malformed bytes) or after
the proof verification (a proof that verifies), its author scored down; the bad proof's
evidence reaches C's pool and C's block slashes the prover."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

from chain_helpers import make_genesis, validator_key
from prover_helpers import PROVER, PROVER_KEY, T1, ProofFor, build_task_chain
from test_exchange import _open_nodes, _replicas, _until

from execution.chain import Chain
from execution.staking import InvalidProofEvidence, ProverStatus, prover_stake, sign_proof
from node.evidence_gossip import EvidenceGossip
from node.evidence_pool import EvidencePool
from p2p import P2PService
from p2p.topics import TOPIC_PROOF_EVIDENCE


def _pool(chain: Chain) -> EvidencePool:
    return EvidencePool(
        chain.chain_id,
        lambda h: None,  # type: ignore[arg-type,return-value]
        chain.genesis.params,
        chain.genesis_hash,
        chain.state,
    )


def _score(node: P2PService, peer: str) -> float:
    return next((s.score for s in node.peers() if s.peer_id == peer), 0.0)


async def test_evidence_crosses_a_relay_to_the_proposer_and_junk_is_refused(
    tmp_path: Path, proof_for: ProofFor
) -> None:
    # PROVER is a genesis prover (registered, zero stake): evidence against it convicts.
    genesis = replace(make_genesis(), provers=(PROVER,))
    chain, blocks, task_id = build_task_chain(tmp_path / "chain0", genesis)
    chains = _replicas(tmp_path, chain, blocks, 3)
    good = proof_for(task_id)
    bad = proof_for(T1)  # a valid proof of another task: wrong for task_id

    def item(proof: bytes) -> InvalidProofEvidence:
        sig = sign_proof(PROVER_KEY.private_key, chain.genesis_hash, task_id, proof)
        return InvalidProofEvidence(task_id, PROVER, sig, proof)

    pools = [_pool(c) for c in chains]
    try:
        async with AsyncExitStack() as stack:
            a, b, c = await _open_nodes(stack, tmp_path, 3, connected=0)
            gossips = [
                EvidenceGossip(ch, p, n) for ch, p, n in zip(chains, pools, (a, b, c), strict=True)
            ]
            for g in gossips:
                g.attach()
            await a.connect(b.listen_addrs[0])
            await b.connect(c.listen_addrs[0])
            await b.wait_for_topic_peers(TOPIC_PROOF_EVIDENCE, 2, timeout=10)
            await a.wait_for_topic_peers(TOPIC_PROOF_EVIDENCE, 1, timeout=10)
            await c.wait_for_topic_peers(TOPIC_PROOF_EVIDENCE, 1, timeout=10)
            # 1. Bytes that are no evidence: B refuses them before relaying; A scored down.
            await a.publish(TOPIC_PROOF_EVIDENCE, b"\xc3\x01\x02\x03")
            await _until(lambda: _score(b, a.peer_id) < 0, 20)
            # 2. A proof that verifies, signed by its prover, sent as evidence: relayed (its
            # cheap rules pass), then refused by B and C after verifying, and its author A
            # scored down at C too (not B, the relay).
            before = _score(c, b.peer_id)
            await gossips[0].publish(item(good))
            await _until(lambda: gossips[1].refused == 1 and gossips[2].refused == 1, 60)
            assert _score(c, a.peer_id) < 0 and _score(c, b.peer_id) >= before
            assert pools[2].proof_evidence == []
            # The refused junk comes again: B drops it before relaying, without verifying it
            # again and without blaming the sender for what only B's memory knows.
            score_a = _score(b, a.peer_id)
            await gossips[0].publish(item(good))
            await _until(lambda: b.gate.stats.not_relayed >= 1, 20)
            assert gossips[1].refused == 1 and gossips[2].refused == 1
            assert _score(b, a.peer_id) >= score_a
            # 3. A's exchange met the bad proof (node.prover.role pools, then publishes): the
            # evidence crosses B to C, which never fetched the proof.
            assert pools[0].add_proof(item(bad), chains[0].state(), chains[0].height)
            await gossips[0].publish(item(bad))
            await _until(lambda: len(pools[2].proof_evidence) == 1, 60)
            assert pools[1].proof_evidence == [item(bad)]
        # C proposes: its block slashes the prover (a genesis prover: unregistered).
        proposer = chains[2]
        evidence = pools[2].for_block(proposer.height + 1)
        assert evidence == (item(bad).encode(),)
        proposer.commit_block(
            proposer.build_block(
                [], validator_key()[0].address, proposer.head.header.time_ms + 1000, b"", evidence
            )
        )
        record = prover_stake(proposer.state(), PROVER)
        assert record is not None and record.status is ProverStatus.UNREGISTERED
    finally:
        for ch in chains:
            ch.close()
