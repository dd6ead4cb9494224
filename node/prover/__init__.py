"""The prover role of the proving network (docs/proving.md): assignment, claims and
announcements, the proof exchange every node runs, and the prover service."""

from node.prover.assignment import my_start_height, rank_provers, start_height
from node.prover.claims import ClaimBook, ClaimTiming
from node.prover.exchange import ProofExchange
from node.prover.messages import Announcement, BadClaim, Claim, MalformedMessage, sign_claim
from node.prover.service import FAULTS, ProverService, default_workers

__all__ = [
    "FAULTS",
    "Announcement",
    "BadClaim",
    "Claim",
    "ClaimBook",
    "ClaimTiming",
    "MalformedMessage",
    "ProofExchange",
    "ProverService",
    "default_workers",
    "my_start_height",
    "rank_provers",
    "sign_claim",
    "start_height",
]
