"""Tendermint, Algorithm 1 of arXiv 1807.04938, as a deterministic state machine.

`Tendermint` consumes events (a proposal, a prevote, a precommit, a timeout firing, the start
of a height) whose senders are already authenticated, and returns actions (broadcast a
proposal or a vote, schedule a timeout, decide). It performs no I/O, reads no clock and signs
nothing: `consensus.driver` wraps it with signatures, the signer guard and the WAL.

Every `upon` rule of Algorithm 1 is one method named after its first line in the paper
(`_rule_22_...`); docs/consensus.md maps each line to its method. Values are opaque bytes
identified by `value_id(value)` (32 bytes); a vote for nil carries the empty id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import sha3  # safe-pysha3: C keccak

from consensus.messages import NIL, VoteType
from consensus.validator_set import ValidatorSet

# Votes further ahead of our round than this are dropped: a faulty validator could otherwise
# make us store one tally per round it invents. Honest validators are never that far ahead.
MAX_ROUNDS_AHEAD = 1000

# Algorithm 1 counts messages, so an equivocating validator's conflicting votes each count
# toward the value they name (dropping all but the first can stall honest validators that
# saw different first votes: the simulation tests found exactly that). Its power counts once
# toward "2f+1 of any value". The number of distinct values kept per validator, round and
# vote type, and of proposals per round, is capped to bound memory; the driver turns the
# second value into duplicate-vote evidence.
MAX_VALUES_PER_SENDER = 4


def keccak256(data: bytes) -> bytes:
    return bytes(sha3.keccak_256(data).digest())


class Step(IntEnum):
    PROPOSE = 1
    PREVOTE = 2
    PRECOMMIT = 3
    DECIDED = 4  # the height is decided; waiting for start_height(h + 1)


@dataclass(frozen=True, slots=True)
class TimeoutConfig:
    """timeout(step, round) = base + round * delta, in seconds; tests shrink these."""

    propose: float = 3.0
    propose_delta: float = 0.5
    prevote: float = 1.0
    prevote_delta: float = 0.5
    precommit: float = 1.0
    precommit_delta: float = 0.5

    def duration(self, step: Step, round_: int) -> float:
        if step == Step.PROPOSE:
            return self.propose + round_ * self.propose_delta
        if step == Step.PREVOTE:
            return self.prevote + round_ * self.prevote_delta
        if step == Step.PRECOMMIT:
            return self.precommit + round_ * self.precommit_delta
        raise ValueError(f"no timeout for step {step!r}")


# ---- input events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProposalEvent:
    """<PROPOSAL, height, round, value, valid_round> from validator `sender`."""

    height: int
    round: int
    value: bytes
    valid_round: int
    sender: int


@dataclass(frozen=True, slots=True)
class VoteEvent:
    """<PREVOTE|PRECOMMIT, height, round, value_id> from validator `sender` (NIL id = nil)."""

    height: int
    round: int
    vote_type: VoteType
    value_id: bytes
    sender: int


@dataclass(frozen=True, slots=True)
class TimeoutEvent:
    step: Step
    height: int
    round: int


@dataclass(frozen=True, slots=True)
class RestoredProposal:
    """A proposal this node signed before a restart (read back from its WAL)."""

    round: int
    value: bytes
    valid_round: int


@dataclass(frozen=True, slots=True)
class RestoredVote:
    """A vote this node signed before a restart; `value` is kept for non-nil precommits,
    because such a precommit is exactly the moment the node locked that value."""

    round: int
    vote_type: VoteType
    value_id: bytes
    value: bytes | None = None


RestoredMessage = RestoredProposal | RestoredVote


# ---- output actions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BroadcastProposal:
    height: int
    round: int
    value: bytes
    value_id: bytes
    valid_round: int


@dataclass(frozen=True, slots=True)
class BroadcastVote:
    height: int
    round: int
    vote_type: VoteType
    value_id: bytes
    # The value behind a non-nil precommit (what the node locks), for the WAL.
    value: bytes | None = None


@dataclass(frozen=True, slots=True)
class ScheduleTimeout:
    step: Step
    height: int
    round: int
    duration: float


@dataclass(frozen=True, slots=True)
class Decide:
    height: int
    round: int
    value: bytes
    value_id: bytes
    signers: tuple[int, ...]  # validators whose precommits for value_id in `round` decided


Action = BroadcastProposal | BroadcastVote | ScheduleTimeout | Decide


# ---- vote tallies -------------------------------------------------------------------------


@dataclass(slots=True)
class _Tally:
    """The votes of one (round, type): per validator the value ids it voted for (one for an
    honest validator), power per value id, and the power of distinct voters."""

    votes: dict[int, list[bytes]] = field(default_factory=dict)
    power_by_id: dict[bytes, int] = field(default_factory=dict)
    power: int = 0

    def add(self, sender: int, value_id: bytes, power: int) -> bool:
        ids = self.votes.get(sender)
        if ids is None:
            self.votes[sender] = [value_id]
            self.power += power
        elif value_id in ids or len(ids) >= MAX_VALUES_PER_SENDER:
            return False
        else:
            ids.append(value_id)
        self.power_by_id[value_id] = self.power_by_id.get(value_id, 0) + power
        return True

    def signers_for(self, value_id: bytes) -> tuple[int, ...]:
        return tuple(sorted(s for s, ids in self.votes.items() if value_id in ids))


@dataclass(frozen=True, slots=True)
class _Proposal:
    value: bytes
    value_id: bytes
    valid_round: int


class Tendermint:
    """One validator's (or observer's) consensus state for the current height."""

    def __init__(
        self,
        *,
        my_index: int | None,
        get_value: Callable[[int], bytes],
        is_valid: Callable[[bytes], bool],
        value_id: Callable[[bytes], bytes] = keccak256,
        timeouts: TimeoutConfig | None = None,
    ) -> None:
        self.my_index = my_index
        self._get_value = get_value
        self._is_valid = is_valid
        self._value_id = value_id
        self.timeouts = timeouts or TimeoutConfig()
        self.height = 0
        self.round = 0
        self.step = Step.DECIDED
        self.validators: ValidatorSet | None = None
        self._reset()

    def _reset(self) -> None:
        self.locked_value: bytes | None = None
        self.locked_round = -1
        self.valid_value: bytes | None = None
        self.valid_round = -1
        # Proposals by round, in arrival order (several only from an equivocating proposer).
        self._proposals: dict[int, list[_Proposal]] = {}
        self._prevotes: dict[int, _Tally] = {}
        self._precommits: dict[int, _Tally] = {}
        self._senders: dict[int, set[int]] = {}  # round -> validators heard from in it
        self._validity: dict[bytes, bool] = {}
        # "for the first time" guards of lines 34, 36 and 47, per round.
        self._done_34: set[int] = set()
        self._done_36: set[int] = set()
        self._done_47: set[int] = set()

    # ---- public inputs --------------------------------------------------------------------

    def start_height(
        self,
        height: int,
        validators: ValidatorSet,
        restored: Sequence[RestoredMessage] = (),
    ) -> list[Action]:
        """Start `height` at round 0, or, after a restart, from this node's own messages
        of `height` read back from its WAL (so it neither re-signs nor forgets its lock)."""
        if self.my_index is not None and not 0 <= self.my_index < len(validators):
            raise ValueError("my_index is outside the validator set")
        self.height = height
        self.validators = validators
        self.round = 0
        self.step = Step.PROPOSE
        self._reset()
        out: list[Action] = []
        if not restored:
            self._start_round(0, out)
        else:
            self._restore(restored, out)
        self._apply_rules(out)
        return out

    def on_proposal(self, ev: ProposalEvent) -> list[Action]:
        out: list[Action] = []
        if self._accept_proposal(ev):
            self._apply_rules(out)
        return out

    def on_vote(self, ev: VoteEvent) -> list[Action]:
        out: list[Action] = []
        if self._accept_vote(ev):
            self._apply_rules(out)
        return out

    def on_timeout(self, ev: TimeoutEvent) -> list[Action]:
        out: list[Action] = []
        if ev.height != self.height or ev.round != self.round or self.step == Step.DECIDED:
            return out
        if ev.step == Step.PROPOSE and self.step == Step.PROPOSE:
            self._on_timeout_propose(out)
        elif ev.step == Step.PREVOTE and self.step == Step.PREVOTE:
            self._on_timeout_prevote(out)
        elif ev.step == Step.PRECOMMIT:
            self._on_timeout_precommit(out)
        self._apply_rules(out)
        return out

    def handle(self, ev: ProposalEvent | VoteEvent | TimeoutEvent) -> list[Action]:
        if isinstance(ev, ProposalEvent):
            return self.on_proposal(ev)
        if isinstance(ev, VoteEvent):
            return self.on_vote(ev)
        return self.on_timeout(ev)

    # ---- queries --------------------------------------------------------------------------

    def proposer_index(self, round_: int) -> int:
        return self._vset.proposer_index(round_)

    def precommit_signers(self, round_: int, value_id: bytes) -> tuple[int, ...]:
        tally = self._precommits.get(round_)
        return tally.signers_for(value_id) if tally else ()

    @property
    def _vset(self) -> ValidatorSet:
        if self.validators is None:
            raise RuntimeError("start_height has not been called")
        return self.validators

    # ---- message intake -------------------------------------------------------------------

    def _in_window(self, height: int, round_: int, sender: int) -> bool:
        return (
            self.validators is not None
            and height == self.height
            and self.step != Step.DECIDED
            and 0 <= sender < len(self.validators)
            and 0 <= round_ <= self.round + MAX_ROUNDS_AHEAD
        )

    def _accept_proposal(self, ev: ProposalEvent) -> bool:
        if not self._in_window(ev.height, ev.round, ev.sender):
            return False
        # Only proposer(h, r) proposes in round r (several values only if it equivocates).
        if ev.sender != self._vset.proposer_index(ev.round):
            return False
        if not -1 <= ev.valid_round < ev.round:
            return False
        if not self._add_proposal(
            ev.round, _Proposal(ev.value, self._value_id(ev.value), ev.valid_round)
        ):
            return False
        self._senders.setdefault(ev.round, set()).add(ev.sender)
        return True

    def _add_proposal(self, round_: int, p: _Proposal) -> bool:
        known = self._proposals.setdefault(round_, [])
        if len(known) >= MAX_VALUES_PER_SENDER or any(
            k.value_id == p.value_id and k.valid_round == p.valid_round for k in known
        ):
            return False
        known.append(p)
        return True

    def _proposal_for(self, round_: int, value_id: bytes) -> _Proposal | None:
        return next((p for p in self._proposals.get(round_, ()) if p.value_id == value_id), None)

    def _accept_vote(self, ev: VoteEvent) -> bool:
        if not self._in_window(ev.height, ev.round, ev.sender):
            return False
        tallies = self._prevotes if ev.vote_type == VoteType.PREVOTE else self._precommits
        tally = tallies.setdefault(ev.round, _Tally())
        if not tally.add(ev.sender, ev.value_id, self._vset.power_of(ev.sender)):
            return False
        self._senders.setdefault(ev.round, set()).add(ev.sender)
        return True

    def _valid(self, p: _Proposal) -> bool:
        ok = self._validity.get(p.value_id)
        if ok is None:
            ok = bool(self._is_valid(p.value))
            self._validity[p.value_id] = ok
        return ok

    def _two_thirds(self, tally: _Tally | None, value_id: bytes | None = None) -> bool:
        """2f+1 votes in `tally` (any value when value_id is None, else for value_id)."""
        if tally is None:
            return False
        power = tally.power if value_id is None else tally.power_by_id.get(value_id, 0)
        return self._vset.has_two_thirds(power)

    # ---- broadcasting (the node receives its own messages at once) ------------------------

    def _broadcast_vote(self, vote_type: VoteType, value_id: bytes, out: list[Action]) -> None:
        if self.my_index is None:
            return  # an observer follows the steps but has no vote
        value = None
        if vote_type == VoteType.PRECOMMIT and value_id != NIL:
            p = self._proposal_for(self.round, value_id)
            value = p.value if p is not None else None
        out.append(BroadcastVote(self.height, self.round, vote_type, value_id, value))
        self._accept_vote(VoteEvent(self.height, self.round, vote_type, value_id, self.my_index))

    def _schedule(self, step: Step, out: list[Action]) -> None:
        out.append(
            ScheduleTimeout(step, self.height, self.round, self.timeouts.duration(step, self.round))
        )

    # ---- Algorithm 1 ----------------------------------------------------------------------

    def _start_round(self, round_: int, out: list[Action]) -> None:
        """Lines 11-21: StartRound(round)."""
        self.round = round_
        self.step = Step.PROPOSE
        if self.my_index is not None and self._vset.proposer_index(round_) == self.my_index:
            if self.valid_value is not None:
                value, vr = self.valid_value, self.valid_round
            else:
                value, vr = self._get_value(self.height), -1
            vid = self._value_id(value)
            out.append(BroadcastProposal(self.height, round_, value, vid, vr))
            self._accept_proposal(ProposalEvent(self.height, round_, value, vr, self.my_index))
        else:
            self._schedule(Step.PROPOSE, out)

    def _apply_rules(self, out: list[Action]) -> None:
        """Fire enabled upon-rules until none is: each firing can enable others."""
        while self.step != Step.DECIDED:
            if self._rule_49_decide(out):
                return
            if (
                self._rule_55_round_skip(out)
                or self._rule_22_proposal_no_valid_round(out)
                or self._rule_28_proposal_with_valid_round(out)
                or self._rule_34_any_prevotes(out)
                or self._rule_36_prevotes_for_value(out)
                or self._rule_44_prevotes_for_nil(out)
                or self._rule_47_any_precommits(out)
            ):
                continue
            return

    def _rule_22_proposal_no_valid_round(self, out: list[Action]) -> bool:
        """upon <PROPOSAL, h, round_p, v, -1> from proposer(h, round_p) while step = propose."""
        if self.step != Step.PROPOSE:
            return False
        p = next((q for q in self._proposals.get(self.round, ()) if q.valid_round == -1), None)
        if p is None:
            return False
        if self._valid(p) and (self.locked_round == -1 or self.locked_value == p.value):
            self._broadcast_vote(VoteType.PREVOTE, p.value_id, out)
        else:
            self._broadcast_vote(VoteType.PREVOTE, NIL, out)
        self.step = Step.PREVOTE
        return True

    def _rule_28_proposal_with_valid_round(self, out: list[Action]) -> bool:
        """upon <PROPOSAL, h, round_p, v, vr> from proposer(h, round_p) AND 2f+1
        <PREVOTE, h, vr, id(v)> while step = propose and (vr >= 0 and vr < round_p)."""
        if self.step != Step.PROPOSE:
            return False
        p = next(
            (
                q
                for q in self._proposals.get(self.round, ())
                if 0 <= q.valid_round < self.round
                and self._two_thirds(self._prevotes.get(q.valid_round), q.value_id)
            ),
            None,
        )
        if p is None:
            return False
        if self._valid(p) and (self.locked_round <= p.valid_round or self.locked_value == p.value):
            self._broadcast_vote(VoteType.PREVOTE, p.value_id, out)
        else:
            self._broadcast_vote(VoteType.PREVOTE, NIL, out)
        self.step = Step.PREVOTE
        return True

    def _rule_34_any_prevotes(self, out: list[Action]) -> bool:
        """upon 2f+1 <PREVOTE, h, round_p, *> while step = prevote for the first time."""
        r = self.round
        if self.step != Step.PREVOTE or r in self._done_34:
            return False
        if not self._two_thirds(self._prevotes.get(r)):
            return False
        self._done_34.add(r)
        self._schedule(Step.PREVOTE, out)
        return True

    def _rule_36_prevotes_for_value(self, out: list[Action]) -> bool:
        """upon <PROPOSAL, h, round_p, v, *> from proposer(h, round_p) AND 2f+1
        <PREVOTE, h, round_p, id(v)> while valid(v) and step >= prevote for the first time."""
        r = self.round
        if self.step < Step.PREVOTE or r in self._done_36:
            return False
        p = next(
            (
                q
                for q in self._proposals.get(r, ())
                if self._two_thirds(self._prevotes.get(r), q.value_id) and self._valid(q)
            ),
            None,
        )
        if p is None:
            return False
        self._done_36.add(r)
        if self.step == Step.PREVOTE:
            self.locked_value, self.locked_round = p.value, r
            self._broadcast_vote(VoteType.PRECOMMIT, p.value_id, out)
            self.step = Step.PRECOMMIT
        self.valid_value, self.valid_round = p.value, r
        return True

    def _rule_44_prevotes_for_nil(self, out: list[Action]) -> bool:
        """upon 2f+1 <PREVOTE, h, round_p, nil> while step = prevote."""
        if self.step != Step.PREVOTE or not self._two_thirds(self._prevotes.get(self.round), NIL):
            return False
        self._broadcast_vote(VoteType.PRECOMMIT, NIL, out)
        self.step = Step.PRECOMMIT
        return True

    def _rule_47_any_precommits(self, out: list[Action]) -> bool:
        """upon 2f+1 <PRECOMMIT, h, round_p, *> for the first time."""
        r = self.round
        if r in self._done_47 or not self._two_thirds(self._precommits.get(r)):
            return False
        self._done_47.add(r)
        self._schedule(Step.PRECOMMIT, out)
        return True

    def _rule_49_decide(self, out: list[Action]) -> bool:
        """upon <PROPOSAL, h, r, v, *> from proposer(h, r) AND 2f+1 <PRECOMMIT, h, r, id(v)>
        while decision_p[h] = nil (any round r, not only the current one)."""
        for r, props in sorted(self._proposals.items()):
            for p in props:
                if self._two_thirds(self._precommits.get(r), p.value_id) and self._valid(p):
                    self.step = Step.DECIDED
                    signers = self.precommit_signers(r, p.value_id)
                    out.append(Decide(self.height, r, p.value, p.value_id, signers))
                    return True
        return False

    def _rule_55_round_skip(self, out: list[Action]) -> bool:
        """upon f+1 <*, h, round, *, *> with round > round_p: StartRound(round)."""
        vset = self._vset
        target = -1
        for r, senders in self._senders.items():
            if r > self.round and r > target and vset.has_one_third(vset.power_of_indices(senders)):
                target = r
        if target < 0:
            return False
        self._start_round(target, out)
        return True

    def _on_timeout_propose(self, out: list[Action]) -> None:
        """Lines 57-60: OnTimeoutPropose: prevote nil."""
        self._broadcast_vote(VoteType.PREVOTE, NIL, out)
        self.step = Step.PREVOTE

    def _on_timeout_prevote(self, out: list[Action]) -> None:
        """Lines 61-64: OnTimeoutPrevote: precommit nil."""
        self._broadcast_vote(VoteType.PRECOMMIT, NIL, out)
        self.step = Step.PRECOMMIT

    def _on_timeout_precommit(self, out: list[Action]) -> None:
        """Lines 65-67: OnTimeoutPrecommit: StartRound(round_p + 1)."""
        self._start_round(self.round + 1, out)

    # ---- restart --------------------------------------------------------------------------

    def _restore(self, restored: Sequence[RestoredMessage], out: list[Action]) -> None:
        me = self.my_index
        if me is None:
            raise ValueError("only a validator has its own messages to restore")
        top = max(m.round for m in restored)
        self.round = top  # before counting: votes are only taken within the round window
        step_at_top = Step.PROPOSE
        for m in restored:
            if isinstance(m, RestoredProposal):
                self._add_proposal(
                    m.round, _Proposal(m.value, self._value_id(m.value), m.valid_round)
                )
                self._senders.setdefault(m.round, set()).add(me)
                continue
            self._accept_vote(VoteEvent(self.height, m.round, m.vote_type, m.value_id, me))
            if m.vote_type == VoteType.PRECOMMIT and m.value_id != NIL and m.value is not None:
                # A non-nil precommit was signed together with lockedValue := v (line 40);
                # the value is needed to decide it (line 49) and to re-propose it.
                if self._proposal_for(m.round, m.value_id) is None:
                    self._add_proposal(m.round, _Proposal(m.value, m.value_id, -1))
                if m.round >= self.locked_round:
                    self.locked_value, self.locked_round = m.value, m.round
                if m.round >= self.valid_round:
                    self.valid_value, self.valid_round = m.value, m.round
            if m.round == top:
                step_at_top = max(step_at_top, Step(m.vote_type + 1))
        self.step = step_at_top
        if step_at_top == Step.PROPOSE:
            # Our own proposal of `top` is back in place, so rule 22 will prevote it at once;
            # if it carries a valid round whose polka we no longer hold, the timeout keeps
            # the round live (OnTimeoutPropose only acts while the step is still propose).
            self._schedule(Step.PROPOSE, out)
