"""Tendermint BFT (arXiv 1807.04938, Algorithm 1) with BLS12-381 votes and commits.

The state machine (`Tendermint`) is pure; `ConsensusDriver` adds signatures, the fsynced
double-sign guard and WAL (`PrivValidator`), duplicate-vote evidence and commits.
"""

from consensus.bls import (
    aggregate,
    fast_aggregate_verify,
    keygen,
    pop_prove,
    pop_verify,
    secret_to_public,
    sign,
    verify,
)
from consensus.commit import Commit, bitmap_from_indices, build_commit, verify_commit
from consensus.driver import (
    ConsensusDriver,
    Decided,
    EvidenceFound,
    Output,
    SendProposal,
    SendVote,
    SignatureCache,
    SignRefused,
)
from consensus.errors import (
    ConsensusError,
    DecodeError,
    DoubleSignRefused,
    InvalidCommit,
    InvalidEvidence,
    InvalidMessage,
    InvalidSignature,
    InvalidValidatorSet,
    WALError,
)
from consensus.evidence import DuplicateVoteEvidence, verify_evidence
from consensus.messages import NIL, Proposal, ProposalBundle, Vote, VoteType
from consensus.signer import FileSignerStore, LastSigned, MemorySignerStore, PrivValidator
from consensus.state_machine import (
    BroadcastProposal,
    BroadcastVote,
    Decide,
    ProposalEvent,
    RestoredProposal,
    RestoredVote,
    ScheduleTimeout,
    Step,
    Tendermint,
    TimeoutConfig,
    TimeoutEvent,
    VoteEvent,
    keccak256,
)
from consensus.validator_set import Validator, ValidatorSet
from consensus.wal import WAL, WalRecord

__all__ = [
    "NIL",
    "WAL",
    "BroadcastProposal",
    "BroadcastVote",
    "Commit",
    "ConsensusDriver",
    "ConsensusError",
    "Decide",
    "Decided",
    "DecodeError",
    "DoubleSignRefused",
    "DuplicateVoteEvidence",
    "EvidenceFound",
    "FileSignerStore",
    "InvalidCommit",
    "InvalidEvidence",
    "InvalidMessage",
    "InvalidSignature",
    "InvalidValidatorSet",
    "LastSigned",
    "MemorySignerStore",
    "Output",
    "PrivValidator",
    "Proposal",
    "ProposalBundle",
    "ProposalEvent",
    "RestoredProposal",
    "RestoredVote",
    "ScheduleTimeout",
    "SendProposal",
    "SendVote",
    "SignRefused",
    "SignatureCache",
    "Step",
    "Tendermint",
    "TimeoutConfig",
    "TimeoutEvent",
    "Validator",
    "ValidatorSet",
    "Vote",
    "VoteEvent",
    "VoteType",
    "WALError",
    "WalRecord",
    "aggregate",
    "bitmap_from_indices",
    "build_commit",
    "fast_aggregate_verify",
    "keccak256",
    "keygen",
    "pop_prove",
    "pop_verify",
    "secret_to_public",
    "sign",
    "verify",
    "verify_commit",
    "verify_evidence",
]
