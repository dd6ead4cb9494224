"""Gossip of invalid-proof evidence, so that a bad proof a node met reaches a block.

A prover could serve its bad proof only to full nodes; their pools would then hold the only
evidence and no proposer would ever see it. So a node whose proof exchange pools a signed
invalid proof (node.prover.role) publishes the item on TOPIC_PROOF_EVIDENCE, and every node
takes what it receives there into its own pool (node.evidence_pool) for its next proposal.

What a receiver checks, and when:

- before relaying (the topic validator, on the event loop, `EvidencePool.admits`): the canonical
  layout, the proof size, the envelope, and the state rules against the head. An item that
  passes is signed by a prover with something at stake, for a task of this chain, and has not
  been convicted or refused here; anything else is refused and the peer that sent it scored
  down as malformed (the gossip layer's rule). Junk that passes needs a real prover's signature
  over a proof of a real task, and each such proof costs a node one verification (below);
- after: the proof verification (0.1-0.3 s, in a worker thread, one at a time). A proof that
  verifies is no evidence: that item is refused from then on (`EvidencePool.refuse`) and its
  origin (the message's signed author, not the honest relay that passed it on, which could
  not know before verifying) is scored down as invalid; once banned, nothing it authored is
  relayed by anyone.

An item's (prover, task) that the pool already holds is relayed but not verified again: two
nodes that met the same bad proof both publish it.
"""

from __future__ import annotations

import contextlib
import logging

import trio

from execution.chain import Chain
from execution.staking import InvalidProofEvidence, RejectedEvidence, check_proof_fails
from node.evidence_pool import EvidencePool
from node.logs import event
from p2p import GossipMessage, Offence, P2PError, P2PService
from p2p.topics import TOPIC_PROOF_EVIDENCE

logger = logging.getLogger("node.evidence")


class EvidenceGossip:
    def __init__(self, chain: Chain, pool: EvidencePool, p2p: P2PService) -> None:
        self.chain = chain
        self.pool = pool
        self.p2p = p2p
        self.profile = chain.genesis.params.proof.profile
        self._verify_limiter = trio.CapacityLimiter(1)
        self.received = 0
        self.refused = 0

    def attach(self) -> None:
        self.p2p.set_topic_validator(TOPIC_PROOF_EVIDENCE, self._admits)
        self.p2p.subscribe(TOPIC_PROOF_EVIDENCE, self._on_message)

    def _admits(self, data: bytes) -> bool:
        return self.pool.admits(data, self.chain.state(), self.chain.height)

    async def publish(self, ev: InvalidProofEvidence) -> None:
        with contextlib.suppress(P2PError):
            await self.p2p.publish(TOPIC_PROOF_EVIDENCE, ev.encode())

    async def _on_message(self, msg: GossipMessage) -> None:
        try:
            ev = InvalidProofEvidence.decode(msg.data)
        except RejectedEvidence:
            return  # the validator refused it already
        if self.pool.knows(ev):
            return
        task = self.chain.state().task(ev.task_id)
        if task is None:
            return  # the validator saw it; the head moved on since (cannot happen: tasks stay)
        try:
            await trio.to_thread.run_sync(
                check_proof_fails, task, ev, self.profile, limiter=self._verify_limiter
            )
        except RejectedEvidence:
            # A proof that verifies, gossiped as evidence: junk, once per (prover, task).
            self.pool.refuse(ev)
            self.refused += 1
            with contextlib.suppress(P2PError):
                self.p2p.report_peer(msg.origin, Offence.INVALID)
            event(
                logger,
                "proof_evidence_refused",
                logging.WARNING,
                task=ev.task_id.hex(),
                prover=ev.prover.hex(),
                origin=msg.origin,
            )
            return
        if self.pool.add_proof(ev, self.chain.state(), self.chain.height):
            self.received += 1
            event(
                logger,
                "proof_evidence",
                logging.WARNING,
                task=ev.task_id.hex(),
                prover=ev.prover.hex(),
                bytes=len(ev.proof),
                peer=msg.from_peer,
            )
