"""Random event sequences against one state machine: whatever arrives, in whatever order,
it never broadcasts two different votes for one (round, type), never proposes twice in a
round, never goes back a round, decides at most once, and only ever decides a value that
+2/3 of the power precommitted in a round where that value was proposed."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from consensus import (
    NIL,
    BroadcastProposal,
    BroadcastVote,
    Decide,
    ProposalEvent,
    Step,
    Tendermint,
    TimeoutConfig,
    TimeoutEvent,
    ValidatorSet,
    VoteEvent,
    VoteType,
    keccak256,
)

VALUES = [b"value %d" % i for i in range(3)] + [b"bad"]
IDS = [keccak256(v) for v in VALUES]


def random_run(seed: int, vset: ValidatorSet, me: int, steps: int = 250) -> tuple[int, int]:
    rng = random.Random(seed)
    n = len(vset)
    sm = Tendermint(
        my_index=me,
        get_value=lambda h: rng.choice(VALUES[:3]),
        is_valid=lambda v: v != b"bad",
        timeouts=TimeoutConfig(),
    )
    actions = sm.start_height(1, vset)
    votes: dict[tuple[int, VoteType], bytes] = {}
    proposals: dict[int, bytes] = {}
    decided: list[Decide] = []
    # Everything delivered or sent, as (round, sender, value id); proposals as (round, id).
    delivered: dict[VoteType, set[tuple[int, int, bytes]]] = {
        VoteType.PREVOTE: set(),
        VoteType.PRECOMMIT: set(),
    }
    proposed: set[tuple[int, bytes]] = set()
    last_round = 0
    for _ in range(steps):
        for a in actions:
            if isinstance(a, BroadcastVote):
                key = (a.round, a.vote_type)
                assert votes.setdefault(key, a.value_id) == a.value_id, f"double vote {key}"
                assert a.round >= last_round
                last_round = a.round
                if a.value_id != NIL and a.vote_type == VoteType.PREVOTE:
                    # A prevote for a value needs that value proposed in the round.
                    assert (a.round, a.value_id) in proposed
                if a.value_id != NIL and a.vote_type == VoteType.PRECOMMIT:
                    # A precommit for a value needs a polka for it in the round (line 36).
                    polka = {s for rr, s, v in delivered[VoteType.PREVOTE]
                             if rr == a.round and v == a.value_id}
                    assert vset.has_two_thirds(vset.power_of_indices(polka))
                delivered[a.vote_type].add((a.round, me, a.value_id))
            elif isinstance(a, BroadcastProposal):
                assert a.round not in proposals, f"proposed twice in round {a.round}"
                proposals[a.round] = a.value_id
                proposed.add((a.round, a.value_id))
                assert vset.proposer_index(a.round) == me
                assert a.round >= last_round
                last_round = a.round
            elif isinstance(a, Decide):
                decided.append(a)
        if decided:
            break
        r = max(0, sm.round + rng.choice([-1, 0, 0, 0, 0, 1, 2]))
        kind = rng.random()
        if kind < 0.15:
            vr = rng.choice([-1, -1, *range(r)])
            value = rng.choice(VALUES)
            proposer = vset.proposer_index(r)
            if proposer == me:
                actions = []
                continue
            if -1 <= vr < r:
                proposed.add((r, keccak256(value)))
            actions = sm.on_proposal(ProposalEvent(1, r, value, vr, proposer))
        elif kind < 0.85:
            sender = rng.randrange(n)
            if sender == me:
                actions = []
                continue
            t = rng.choice([VoteType.PREVOTE, VoteType.PRECOMMIT])
            hot = [v for rr, v in sorted(proposed) if rr == r]
            # Mostly vote for something proposed in that round, so polkas and locks happen.
            vid = rng.choice(hot) if hot and rng.random() < 0.7 else rng.choice([NIL, *IDS])
            delivered[t].add((r, sender, vid))
            actions = sm.on_vote(VoteEvent(1, r, t, vid, sender))
        else:
            step = rng.choice([Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT])
            actions = sm.on_timeout(TimeoutEvent(step, 1, rng.choice([sm.round, r])))
    assert len(decided) <= 1
    for d in decided:
        # Rule 49: +2/3 precommits for the value in the deciding round, from its signers.
        assert d.value != b"bad"
        signers = {s for rr, s, v in delivered[VoteType.PRECOMMIT]
                   if rr == d.round and v == d.value_id}
        assert set(d.signers) <= signers
        assert (d.round, d.value_id) in proposed
        assert vset.has_two_thirds(vset.power_of_indices(set(d.signers)))
    locked_precommits = sum(1 for (_, t), v in votes.items() if t == VoteType.PRECOMMIT and v != NIL)
    return len(decided), locked_precommits


@pytest.mark.parametrize("powers", [(1, 1, 1, 1), (3, 1, 2, 1), (1, 1, 1, 1, 1, 1, 1)])
def test_random_event_sequences_never_make_the_node_equivocate(
    powers: tuple[int, ...], make_vset: Callable[..., ValidatorSet]
) -> None:
    vset = make_vset(*powers)
    decisions = locks = 0
    for seed in range(60):
        d, lk = random_run(seed, vset, me=seed % len(powers))
        decisions += d
        locks += lk
    # The runs reach the interesting states, not only nil votes and timeouts.
    assert decisions >= 5 and locks >= 5, (decisions, locks)
