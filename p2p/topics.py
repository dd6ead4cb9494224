"""Gossip topics of ivcnet and the byte limit of each.

Every topic carries opaque bytes that the consumer (mempool, consensus, provers)
decodes and validates; the p2p layer only enforces the size limit and, for the
transaction topic, the batch framing (see `txbatch`).
"""

from __future__ import annotations

from dataclasses import dataclass

KIB = 1024
MIB = 1024 * KIB

TOPIC_TRANSACTIONS = "/ivcnet/tx/1"
TOPIC_PROPOSALS = "/ivcnet/proposal/1"
TOPIC_VOTES = "/ivcnet/vote/1"
TOPIC_EVIDENCE = "/ivcnet/evidence/1"
# Prover claims and proof announcements (layouts: node/prover/messages.py); the proofs
# themselves travel over PROTOCOL_PROOF, requested by task id.
TOPIC_PROOF_ANNOUNCEMENTS = "/ivcnet/proof-announce/1"
# Invalid-proof evidence (node/evidence_gossip.py): one item carries a whole task proof, up to
# the lone-leaf bound (2 MiB + 256 bytes of evidence, execution.staking.proof_evidence).
TOPIC_PROOF_EVIDENCE = "/ivcnet/proof-evidence/1"

# Request/response protocol ids; handlers are supplied by the consumers.
PROTOCOL_BLOCKS = "/ivcnet/blocks/1"
PROTOCOL_PROOF = "/ivcnet/proof/1"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    max_size: int


# Limits: a vote or an announcement is a few hundred bytes; a proposal carries a
# whole block body (transactions included) so it gets the largest budget; bulky
# objects (proofs, old blocks) travel over request/response streams instead.
DEFAULT_TOPICS: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in (
        TopicSpec(TOPIC_TRANSACTIONS, 1 * MIB),
        TopicSpec(TOPIC_PROPOSALS, 4 * MIB),
        TopicSpec(TOPIC_VOTES, 4 * KIB),
        TopicSpec(TOPIC_EVIDENCE, 64 * KIB),
        TopicSpec(TOPIC_PROOF_ANNOUNCEMENTS, 16 * KIB),
        TopicSpec(TOPIC_PROOF_EVIDENCE, 2 * MIB + 4 * KIB),
    )
}

ALL_TOPICS: tuple[str, ...] = tuple(DEFAULT_TOPICS)
