"""Algorithm 1's upon-rules, one scenario each, on the bare state machine (no crypto)."""

from __future__ import annotations

from collections.abc import Callable

from consensus import (
    NIL,
    BroadcastProposal,
    BroadcastVote,
    Decide,
    ProposalEvent,
    RestoredVote,
    ScheduleTimeout,
    Step,
    Tendermint,
    TimeoutConfig,
    TimeoutEvent,
    ValidatorSet,
    VoteEvent,
    VoteType,
    keccak256,
)
from consensus.state_machine import Action

PV, PC = VoteType.PREVOTE, VoteType.PRECOMMIT
V, W, BAD = b"value V", b"value W", b"invalid value"
IV, IW = keccak256(V), keccak256(W)
TIMEOUTS = TimeoutConfig(
    propose=1.0, propose_delta=0.5, prevote=1.0, prevote_delta=0.25, precommit=2.0, precommit_delta=0.25
)
ME = 3  # with 4 equal validators the proposer of round r is r % 4, so we propose in round 3


class Node:
    """A state machine under test plus the actions it has emitted."""

    def __init__(self, vset: ValidatorSet, valid: Callable[[bytes], bool] = lambda v: v != BAD):
        self.sm = Tendermint(
            my_index=ME, get_value=lambda h: b"own value", is_valid=valid, timeouts=TIMEOUTS
        )
        self.vset = vset
        self.log: list[Action] = []

    def _take(self, actions: list[Action]) -> list[Action]:
        self.log += actions
        return actions

    def start(self) -> list[Action]:
        return self._take(self.sm.start_height(1, self.vset))

    def proposal(self, r: int, value: bytes, vr: int = -1, sender: int | None = None) -> list[Action]:
        s = self.vset.proposer_index(r) if sender is None else sender
        return self._take(self.sm.on_proposal(ProposalEvent(1, r, value, vr, s)))

    def votes(self, t: VoteType, r: int, vid: bytes, senders: list[int]) -> list[Action]:
        out: list[Action] = []
        for s in senders:
            out += self._take(self.sm.on_vote(VoteEvent(1, r, t, vid, s)))
        return out

    def timeout(self, step: Step, r: int) -> list[Action]:
        return self._take(self.sm.on_timeout(TimeoutEvent(step, 1, r)))


def votes_of(actions: list[Action]) -> list[tuple[VoteType, int, bytes]]:
    return [(a.vote_type, a.round, a.value_id) for a in actions if isinstance(a, BroadcastVote)]


def timeouts_of(actions: list[Action], step: Step) -> list[ScheduleTimeout]:
    return [a for a in actions if isinstance(a, ScheduleTimeout) and a.step == step]


def four(make_vset: Callable[..., ValidatorSet]) -> ValidatorSet:
    vset = make_vset(1, 1, 1, 1)
    assert [vset.proposer_index(r) for r in range(4)] == [0, 1, 2, 3]
    return vset


def test_happy_path_decides_in_round_0(make_vset: Callable[..., ValidatorSet]) -> None:
    n = Node(four(make_vset))
    assert n.start() == [ScheduleTimeout(Step.PROPOSE, 1, 0, 1.0)]
    assert votes_of(n.proposal(0, V)) == [(PV, 0, IV)]  # line 22
    out = n.votes(PV, 0, IV, [0, 1])
    assert votes_of(out) == [(PC, 0, IV)]  # line 36
    assert (n.sm.locked_value, n.sm.locked_round) == (V, 0)
    assert (n.sm.valid_value, n.sm.valid_round) == (V, 0)
    out = n.votes(PC, 0, IV, [0, 1])
    assert [a for a in out if isinstance(a, Decide)] == [Decide(1, 0, V, IV, (0, 1, 3))]  # line 49
    assert n.sm.step == Step.DECIDED
    assert n.votes(PC, 0, IV, [2]) == []  # decided: nothing more for this height


def test_proposal_from_non_proposer_is_ignored(make_vset: Callable[..., ValidatorSet]) -> None:
    n = Node(four(make_vset))
    n.start()
    assert n.proposal(0, V, sender=1) == []
    assert n.proposal(0, V, vr=0) == []  # valid_round must be below the round


def test_invalid_value_gets_nil_prevote_and_is_never_decided(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    n = Node(four(make_vset))
    n.start()
    assert votes_of(n.proposal(0, BAD)) == [(PV, 0, NIL)]
    out = n.votes(PC, 0, keccak256(BAD), [0, 1, 2])
    assert not [a for a in out if isinstance(a, Decide)]


def test_locked_validator_only_prevotes_locked_value_or_nil_until_a_newer_polka(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    n = Node(four(make_vset))
    n.start()
    # Round 0: polka for V, we lock V.
    n.proposal(0, V)
    n.votes(PV, 0, IV, [0, 1])
    assert (n.sm.locked_value, n.sm.locked_round) == (V, 0)
    n.votes(PC, 0, NIL, [0, 1, 2])
    n.timeout(Step.PRECOMMIT, 0)
    assert n.sm.round == 1
    # Round 1: W proposed without a valid round: we are locked on V, so nil (line 22-26).
    assert votes_of(n.proposal(1, W)) == [(PV, 1, NIL)]
    n.votes(PV, 1, IW, [0, 1])  # validator 2's prevote for W is delayed: no polka yet
    n.timeout(Step.PREVOTE, 1)
    n.votes(PC, 1, NIL, [0, 1, 2])
    n.timeout(Step.PRECOMMIT, 1)
    # Round 2: V proposed again: it is our locked value, so we prevote it.
    assert votes_of(n.proposal(2, V)) == [(PV, 2, IV)]
    n.votes(PV, 2, NIL, [0, 1, 2])
    assert votes_of(n.log)[-1] == (PC, 2, NIL)  # line 44
    n.votes(PC, 2, NIL, [0, 1])
    n.timeout(Step.PRECOMMIT, 2)
    # Round 3: we propose; our valid value is V from round 0, so V with valid_round 0.
    props = [a for a in n.log if isinstance(a, BroadcastProposal)]
    assert props == [BroadcastProposal(1, 3, V, IV, 0)]
    # No polka for V at round 0 from our view besides ours... the others move on.
    n.votes(PV, 3, NIL, [0, 1])
    n.votes(PC, 3, NIL, [0, 1, 2])
    n.timeout(Step.PRECOMMIT, 3)
    # Round 4: W with valid_round 1, but the polka for W in round 1 is not complete: wait.
    assert n.proposal(4, W, vr=1) == []
    # The delayed prevote arrives: 2f+1 prevotes for W in round 1 >= locked round 0, so the
    # lock no longer binds (line 28-33): prevote W.
    assert votes_of(n.votes(PV, 1, IW, [2])) == [(PV, 4, IW)]


def test_proposal_with_valid_round_below_lock_gets_nil(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    n = Node(four(make_vset))
    n.start()
    n.votes(PV, 0, IW, [0, 1, 2])  # a polka for W in round 0 that we did not take part in
    n.timeout(Step.PROPOSE, 0)
    n.votes(PC, 0, NIL, [0, 1, 2])
    n.timeout(Step.PRECOMMIT, 0)
    n.timeout(Step.PROPOSE, 1)
    n.votes(PC, 1, NIL, [0, 1, 2])
    n.timeout(Step.PRECOMMIT, 1)
    # Round 2: polka for V, we lock V at round 2.
    n.proposal(2, V)
    n.votes(PV, 2, IV, [0, 1])
    assert (n.sm.locked_value, n.sm.locked_round) == (V, 2)
    n.votes(PC, 2, NIL, [0, 1])
    n.timeout(Step.PRECOMMIT, 2)
    n.votes(PC, 3, NIL, [0, 1, 2])
    n.timeout(Step.PRECOMMIT, 3)
    # Round 4: W justified by the round-0 polka, older than our lock: nil.
    assert votes_of(n.proposal(4, W, vr=0)) == [(PV, 4, NIL)]


def test_silent_proposer_round_changes_with_growing_timeouts(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    n = Node(four(make_vset))
    n.start()
    for r in range(3):
        assert timeouts_of(n.log, Step.PROPOSE)[-1] == ScheduleTimeout(
            Step.PROPOSE, 1, r, 1.0 + 0.5 * r
        )
        assert votes_of(n.timeout(Step.PROPOSE, r)) == [(PV, r, NIL)]  # OnTimeoutPropose
        n.votes(PV, r, NIL, [0, 1])
        assert votes_of(n.log)[-1] == (PC, r, NIL)
        n.votes(PC, r, NIL, [0, 1])
        assert timeouts_of(n.log, Step.PRECOMMIT)[-1] == ScheduleTimeout(
            Step.PRECOMMIT, 1, r, 2.0 + 0.25 * r
        )
        n.timeout(Step.PRECOMMIT, r)
    assert n.sm.round == 3
    assert [a.duration for a in timeouts_of(n.log, Step.PROPOSE)] == [1.0, 1.5, 2.0]
    assert [a.duration for a in timeouts_of(n.log, Step.PREVOTE)] == [1.0, 1.25, 1.5]


def test_stale_timeouts_are_ignored(make_vset: Callable[..., ValidatorSet]) -> None:
    n = Node(four(make_vset))
    n.start()
    n.proposal(0, V)
    assert n.timeout(Step.PROPOSE, 0) == []  # step is already prevote
    assert n.timeout(Step.PREVOTE, 5) == []  # other round
    assert n.sm.step == Step.PREVOTE


def test_f_plus_one_messages_from_higher_round_skip_to_it(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    n = Node(four(make_vset))
    n.start()
    assert n.votes(PV, 5, IV, [0]) == []  # 1/4 of the power: not f+1
    assert n.votes(PC, 6, IV, [1]) == []  # another round: still no round with f+1
    out = n.votes(PC, 5, NIL, [1])  # 2/4 in round 5 > 1/3: StartRound(5) (line 55)
    assert n.sm.round == 5 and n.sm.step == Step.PROPOSE
    assert out == [ScheduleTimeout(Step.PROPOSE, 1, 5, 1.0 + 0.5 * 5)]


def test_weighted_f_plus_one(make_vset: Callable[..., ValidatorSet]) -> None:
    vset = make_vset(1, 1, 1, 4)  # total 7: validator 3 alone holds more than 1/3
    sm = Tendermint(my_index=0, get_value=lambda h: V, is_valid=lambda v: True, timeouts=TIMEOUTS)
    sm.start_height(1, vset)
    assert sm.on_vote(VoteEvent(1, 4, PV, NIL, 1)) == [] and sm.round == 0
    sm.on_vote(VoteEvent(1, 4, PV, NIL, 3))
    assert sm.round == 4


def test_timeouts_scheduled_only_the_first_time(make_vset: Callable[..., ValidatorSet]) -> None:
    n = Node(four(make_vset))
    n.start()
    n.timeout(Step.PROPOSE, 0)
    n.votes(PV, 0, IV, [0])
    n.votes(PV, 0, IW, [1])  # 3 prevotes of any kind: line 34 fires
    n.votes(PV, 0, NIL, [2])
    assert len(timeouts_of(n.log, Step.PREVOTE)) == 1
    n.timeout(Step.PREVOTE, 0)
    n.votes(PC, 0, IV, [0, 1])  # 3 precommits of any kind: line 47 fires
    n.votes(PC, 0, IW, [2])
    assert len(timeouts_of(n.log, Step.PRECOMMIT)) == 1


def test_polka_after_precommit_updates_valid_value_only_once(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    n = Node(four(make_vset))
    n.start()
    n.timeout(Step.PROPOSE, 0)
    n.votes(PV, 0, IV, [0, 1])
    n.timeout(Step.PREVOTE, 0)  # we precommit nil: step = precommit
    assert votes_of(n.log)[-1] == (PC, 0, NIL)
    before = len(votes_of(n.log))
    n.proposal(0, V)
    n.votes(PV, 0, IV, [2])  # now proposal + 2f+1 prevotes for V, step > prevote
    assert len(votes_of(n.log)) == before  # line 36 with step = precommit: no precommit
    assert (n.sm.valid_value, n.sm.valid_round) == (V, 0)
    assert (n.sm.locked_value, n.sm.locked_round) == (None, -1)


def test_decides_on_a_previous_round(make_vset: Callable[..., ValidatorSet]) -> None:
    n = Node(four(make_vset))
    n.start()
    n.votes(PV, 2, NIL, [0, 1])  # skip to round 2
    assert n.sm.round == 2
    n.proposal(0, V)
    out = n.votes(PC, 0, IV, [0, 1, 2])
    assert [a for a in out if isinstance(a, Decide)] == [Decide(1, 0, V, IV, (0, 1, 2))]


def test_restore_keeps_lock_and_does_not_revote(make_vset: Callable[..., ValidatorSet]) -> None:
    vset = four(make_vset)
    sm = Tendermint(my_index=ME, get_value=lambda h: W, is_valid=lambda v: True, timeouts=TIMEOUTS)
    out = sm.start_height(
        1, vset, [RestoredVote(0, PV, IV), RestoredVote(0, PC, IV, V)]
    )
    assert not [a for a in out if isinstance(a, BroadcastVote | BroadcastProposal)]
    assert (sm.locked_value, sm.locked_round, sm.step) == (V, 0, Step.PRECOMMIT)
    # The round-0 proposal arriving again cannot make us prevote a second time.
    assert sm.on_proposal(ProposalEvent(1, 0, V, -1, 0)) == []
    out = []
    for s in (0, 1):
        out += sm.on_vote(VoteEvent(1, 0, PC, IV, s))
    assert [a for a in out if isinstance(a, Decide)] == [Decide(1, 0, V, IV, (0, 1, 3))]


def test_observer_never_broadcasts(make_vset: Callable[..., ValidatorSet]) -> None:
    vset = four(make_vset)
    sm = Tendermint(my_index=None, get_value=lambda h: V, is_valid=lambda v: True)
    sm.start_height(1, vset)
    out = sm.on_proposal(ProposalEvent(1, 0, V, -1, 0))
    for s in (0, 1, 2):
        out += sm.on_vote(VoteEvent(1, 0, PV, IV, s))
    for s in (0, 1, 2):
        out += sm.on_vote(VoteEvent(1, 0, PC, IV, s))
    assert not [a for a in out if isinstance(a, BroadcastVote | BroadcastProposal)]
    assert [a for a in out if isinstance(a, Decide)] == [Decide(1, 0, V, IV, (0, 1, 2))]


def test_restore_after_proposing_does_not_propose_again(
    make_vset: Callable[..., ValidatorSet],
) -> None:
    from consensus import RestoredProposal

    vset = four(make_vset)
    # Validator 0 proposes round 0; its get_value would now return something else.
    sm = Tendermint(my_index=0, get_value=lambda h: W, is_valid=lambda v: True, timeouts=TIMEOUTS)
    out = sm.start_height(1, vset, [RestoredProposal(0, V, -1)])
    assert not [a for a in out if isinstance(a, BroadcastProposal)]
    assert votes_of(out) == [(PV, 0, IV)]  # rule 22 on its own restored proposal


def test_restore_resumes_in_the_highest_round(make_vset: Callable[..., ValidatorSet]) -> None:
    vset = four(make_vset)
    sm = Tendermint(my_index=ME, get_value=lambda h: W, is_valid=lambda v: True, timeouts=TIMEOUTS)
    restored = [
        RestoredVote(0, PV, NIL),
        RestoredVote(0, PC, NIL),
        RestoredVote(2, PV, IV),
        RestoredVote(2, PC, IV, V),
        RestoredVote(4, PV, NIL),
    ]
    out = sm.start_height(1, vset, restored)
    assert (sm.round, sm.step) == (4, Step.PREVOTE)
    assert (sm.locked_value, sm.locked_round) == (V, 2)
    assert not [a for a in out if isinstance(a, BroadcastVote | BroadcastProposal)]
    # Round 4's nil polka: precommit nil, a new message at a later step.
    assert votes_of(sm.on_vote(VoteEvent(1, 4, PV, NIL, 0)) + sm.on_vote(VoteEvent(1, 4, PV, NIL, 1))) == [
        (PC, 4, NIL)
    ]
