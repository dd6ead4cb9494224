"""The consensus driver: signatures, the signer guard, evidence and commits around the core.

`ConsensusDriver` is what a node runs. It takes wire messages (signed votes, proposal
bundles) and timeout firings, checks them (chain id, height, round window, proposer, value
hash, BLS signature), records every validator's first vote per (round, type) so that a second,
different one becomes DuplicateVoteEvidence, and feeds the core (`Tendermint`). It turns the
core's actions into signed messages through the `PrivValidator` (WAL + last-signed guard)
and a decision into a `Commit`. With a signer in deferred mode (the node) the signed
messages in an output list are not durable yet: the caller must run `signer.sync()` (in a
worker thread; no driver call meanwhile) before it sends any of them or acts on a `Decided`
(whose commit may hold this node's precommit); `signer.pending` says whether that is due.

The driver does no I/O of its own besides the signer's files and reads no clock: the caller
delivers messages, fires the `ScheduleTimeout`s it returns, and calls `start_height(h + 1,
validators)` once it has applied the decided block of h.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from consensus import bls
from consensus.commit import Commit, build_commit
from consensus.errors import ConsensusError, DoubleSignRefused
from consensus.evidence import DuplicateVoteEvidence
from consensus.messages import NIL, Proposal, ProposalBundle, Vote, VoteType
from consensus.signer import PrivValidator
from consensus.state_machine import (
    MAX_ROUNDS_AHEAD,
    MAX_VALUES_PER_SENDER,
    Action,
    BroadcastProposal,
    BroadcastVote,
    Decide,
    ProposalEvent,
    RestoredMessage,
    RestoredProposal,
    RestoredVote,
    ScheduleTimeout,
    Tendermint,
    TimeoutConfig,
    TimeoutEvent,
    VoteEvent,
    keccak256,
)
from consensus.validator_set import ValidatorSet
from storage.lru_cache import LruCache


@dataclass(frozen=True, slots=True)
class SendProposal:
    bundle: ProposalBundle


@dataclass(frozen=True, slots=True)
class SendVote:
    vote: Vote


@dataclass(frozen=True, slots=True)
class Decided:
    height: int
    round: int
    value: bytes
    block_hash: bytes
    commit: Commit


@dataclass(frozen=True, slots=True)
class EvidenceFound:
    evidence: DuplicateVoteEvidence


@dataclass(frozen=True, slots=True)
class SignRefused:
    """The signer refused (double-sign guard); nothing was sent."""

    reason: str


Output = SendProposal | SendVote | ScheduleTimeout | Decided | EvidenceFound | SignRefused


class SignatureCache:
    """Remembers signatures that verified (bounded LRU): gossip delivers the same vote
    several times, and a BLS verify costs milliseconds."""

    def __init__(self, capacity: int = 65536) -> None:
        self.capacity = capacity
        self._ok: LruCache[bytes, bool] = LruCache(capacity)
        self.verifications = 0

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        key = keccak256(public_key + signature + message)
        if self._ok.get(key):
            return True
        self.verifications += 1
        if not bls.verify(public_key, message, signature):
            return False
        self._ok.put(key, True)
        return True


class ConsensusDriver:
    def __init__(
        self,
        chain_id: int,
        *,
        signer: PrivValidator | None,
        get_value: Callable[[int], bytes],
        is_valid: Callable[[bytes], bool],
        value_hash: Callable[[bytes], bytes] = keccak256,
        timeouts: TimeoutConfig | None = None,
        signatures: SignatureCache | None = None,
        max_buffered: int = 4096,
    ) -> None:
        self.chain_id = chain_id
        self.signer = signer
        self.value_hash = value_hash
        self.signatures = signatures or SignatureCache()
        self.core = Tendermint(
            my_index=None,
            get_value=get_value,
            is_valid=is_valid,
            value_id=value_hash,
            timeouts=timeouts,
        )
        self.height = 0
        self.validators: ValidatorSet | None = None
        self.my_index: int | None = None
        self._max_buffered = max_buffered
        self._future: list[Vote | ProposalBundle] = []
        # Every verified vote by (round, type, validator, block hash); the first per
        # (round, type, validator) is kept apart as the reference for evidence.
        self._votes: dict[tuple[int, VoteType, int, bytes], Vote] = {}
        self._first: dict[tuple[int, VoteType, int], Vote] = {}
        self._n_values: dict[tuple[int, VoteType, int], int] = {}
        self._own: list[SendProposal | SendVote] = []
        self._evidence_seen: set[bytes] = set()

    # ---- inputs ---------------------------------------------------------------------------

    def start_height(self, height: int, validators: ValidatorSet) -> list[Output]:
        self.height = height
        self.validators = validators
        self._votes = {}
        self._first = {}
        self._n_values = {}
        self._own = []
        self._evidence_seen = set()  # votes of older heights are ignored, so is their evidence
        self.my_index = None
        restored: list[RestoredMessage] = []
        if self.signer is not None:
            self.my_index = validators.index_of(self.signer.public_key)
            self.signer.prune_below(height, lazy=True)
            if self.my_index is not None:
                for rec in self.signer.wal_records(height):
                    m = rec.message
                    if isinstance(m, Proposal):
                        restored.append(RestoredProposal(m.round, rec.value, m.valid_round))
                        self._own.append(SendProposal(ProposalBundle(m, rec.value)))
                    else:
                        restored.append(
                            RestoredVote(m.round, m.vote_type, m.block_hash, rec.value or None)
                        )
                        self._remember(m)
                        self._own.append(SendVote(m))
        self.core.my_index = self.my_index
        # Own messages from the WAL go out again first: peers may never have received them.
        out: list[Output] = list(self._own)
        out += self._translate(self.core.start_height(height, validators, restored))
        pending, self._future = self._future, []
        for msg in pending:
            if msg.height == height + 1:
                self._future.append(msg)
            elif isinstance(msg, Vote):
                out += self.on_vote(msg)
            else:
                out += self.on_proposal(msg)
        return out

    def on_vote(self, vote: Vote) -> list[Output]:
        if vote.chain_id != self.chain_id or self._buffer_if_next(vote, vote.height):
            return []
        vset = self.validators
        if vset is None or vote.height != self.height:
            return []
        idx = vote.validator_index
        if idx >= len(vset) or vote.round > self.core.round + MAX_ROUNDS_AHEAD:
            return []
        key = (vote.round, vote.vote_type, idx)
        if (*key, vote.block_hash) in self._votes:
            return []  # a re-delivery
        if self._n_values.get(key, 0) >= MAX_VALUES_PER_SENDER:
            return []  # an equivocator past the cap: already reported
        if not self.signatures.verify(
            vset.validators[idx].public_key, vote.sign_bytes(), vote.signature
        ):
            return []
        first = self._first.get(key)
        self._remember(vote)
        out: list[Output] = []
        if first is not None:
            out += self._evidence(first, vote)
        ev = VoteEvent(vote.height, vote.round, vote.vote_type, vote.block_hash, idx)
        return out + self._translate(self.core.on_vote(ev))

    def on_proposal(self, bundle: ProposalBundle) -> list[Output]:
        p = bundle.proposal
        if p.chain_id != self.chain_id or self._buffer_if_next(bundle, p.height):
            return []
        vset = self.validators
        if vset is None or p.height != self.height:
            return []
        if p.round > self.core.round + MAX_ROUNDS_AHEAD:
            return []
        if not self.signed_by_proposer(bundle, vset):
            return []
        ev = ProposalEvent(p.height, p.round, bundle.value, p.valid_round, p.proposer_index)
        return self._translate(self.core.on_proposal(ev))

    def signed_by_proposer(self, bundle: ProposalBundle, vset: ValidatorSet) -> bool:
        """Whether `bundle` is signed by the proposer of its round in `vset`, for its value.

        The caller bounds the round first: picking the proposer of round r costs r steps."""
        # Rule: the value is the one the proposer signed.
        if self.value_hash(bundle.value) != bundle.proposal.block_hash:
            return False
        return self.proposal_signed(bundle.proposal, vset)

    def proposal_signed(self, p: Proposal, vset: ValidatorSet) -> bool:
        """Whether `p` is of this chain and signed by the proposer of its round in `vset` (its
        value not looked at: the compact proposal transport checks this before it has one)."""
        if p.chain_id != self.chain_id:
            return False
        # Rule: only proposer(h, r) proposes in round r.
        if p.proposer_index != vset.proposer_index(p.round):
            return False
        key = vset.validators[p.proposer_index].public_key
        return self.signatures.verify(key, p.sign_bytes(), p.signature)

    def on_timeout(self, ev: TimeoutEvent) -> list[Output]:
        return self._translate(self.core.on_timeout(ev))

    def own_messages(self) -> list[SendProposal | SendVote]:
        """This node's signed messages of the current height, for gossip to re-send."""
        return list(self._own)

    # ---- helpers --------------------------------------------------------------------------

    def _buffer_if_next(self, msg: Vote | ProposalBundle, height: int) -> bool:
        """Keep messages of the next height until it starts (bounded)."""
        if height != self.height + 1:
            return False
        if len(self._future) < self._max_buffered:
            self._future.append(msg)
        return True

    def _remember(self, vote: Vote) -> None:
        key = (vote.round, vote.vote_type, vote.validator_index)
        self._votes[(*key, vote.block_hash)] = vote
        self._first.setdefault(key, vote)
        self._n_values[key] = self._n_values.get(key, 0) + 1

    def _evidence(self, first: Vote, second: Vote) -> list[Output]:
        ev = DuplicateVoteEvidence.create(first, second)
        h = ev.hash()
        if h in self._evidence_seen:
            return []
        self._evidence_seen.add(h)
        return [EvidenceFound(ev)]

    def _translate(self, actions: list[Action]) -> list[Output]:
        out: list[Output] = []
        for a in actions:
            if isinstance(a, ScheduleTimeout):
                out.append(a)
            elif isinstance(a, BroadcastVote):
                out += self._sign_vote(a)
            elif isinstance(a, BroadcastProposal):
                out += self._sign_proposal(a)
            elif isinstance(a, Decide):
                out.append(self._decided(a))
        return out

    def _sign_vote(self, a: BroadcastVote) -> list[Output]:
        if self.signer is None or self.my_index is None:
            return []
        vote = Vote(self.chain_id, a.height, a.round, a.vote_type, a.value_id, self.my_index)
        try:
            signed = self.signer.sign_vote(vote, a.value)
        except DoubleSignRefused as exc:
            return [SignRefused(str(exc))]
        self._remember(signed)
        msg = SendVote(signed)
        self._own.append(msg)
        return [msg]

    def _sign_proposal(self, a: BroadcastProposal) -> list[Output]:
        if self.signer is None or self.my_index is None:
            return []
        proposal = Proposal(self.chain_id, a.height, a.round, a.value_id, a.valid_round, self.my_index)
        try:
            signed = self.signer.sign_proposal(proposal, a.value)
        except DoubleSignRefused as exc:
            return [SignRefused(str(exc))]
        msg = SendProposal(ProposalBundle(signed, a.value))
        self._own.append(msg)
        return [msg]

    def _decided(self, d: Decide) -> Decided | SignRefused:
        vset = self.validators
        if vset is None:
            raise ConsensusError("decided before start_height")
        precommits = [
            v
            for i in d.signers
            if (v := self._votes.get((d.round, VoteType.PRECOMMIT, i, d.value_id))) is not None
            and d.value_id != NIL
        ]
        # The core counts this node's own vote before the signer has signed it; when the signer
        # refused (its last-signed state is ahead of the chain, e.g. a restored database), that
        # phantom vote can complete a "quorum". Only signed precommits make a commit: without
        # +2/3 of them there is no decision to report, and the block must come from peers.
        signed_power = vset.power_of_indices({v.validator_index for v in precommits})
        if not vset.has_two_thirds(signed_power):
            return SignRefused(
                f"height {d.height}: decided without +2/3 signed precommits "
                "(own vote refused by the signer); waiting for the commit from peers"
            )
        commit = build_commit(precommits, len(vset))
        return Decided(d.height, d.round, d.value, d.value_id, commit)
