"""Proposer priorities across membership changes (CometBFT's updateWithChangeSet rule)."""

from __future__ import annotations

from consensus import Validator, ValidatorSet, bls

A, B, C = (bls.secret_to_public(bls.keygen(bytes([i + 1]) * 32)) for i in range(3))


def test_newcomer_enters_at_minus_one_and_an_eighth_of_the_new_total() -> None:
    # Worked by hand (docs/staking.md):
    # height 1: A1 B1, priorities [0, 0].
    # height 2: increment [1, 1] -> A picked (tie: lower index) -> [-1, 1].
    # height 3: C2 joins; new total 4, C enters at -(4 + (4 >> 3)) = -4: [-1, 1, -4];
    #   centred (floor(-4 / 3) = -2): [1, 3, -2]; increment [2, 4, 0] -> B -> [2, 0, 0].
    #   Proposers of height 3: round 0 increments [3, 1, 2] -> A ([-1, 1, 2]);
    #   round 1 increments [0, 2, 4] -> C.
    h1 = ValidatorSet([Validator(A, 1), Validator(B, 1)], check_keys=False)
    h2 = h1.next_height()
    assert h2.priorities == (-1, 1)
    h3 = h2.with_members([Validator(A, 1), Validator(B, 1), Validator(C, 2)]).next_height()
    assert h3.priorities == (2, 0, 0)
    assert [h3.proposer_index(r) for r in range(2)] == [0, 2]


def test_a_leaver_is_dropped_and_the_rest_keep_their_priorities() -> None:
    h = ValidatorSet([Validator(A, 3), Validator(B, 2), Validator(C, 1)], check_keys=False)
    h = h.next_height().next_height()  # [A, B, C] priorities (0, -2, 2) by hand:
    # h2: inc [3,2,1] -> A -> [-3,2,1]; h3: inc [0,4,2] -> B -> [0,-2,2]
    assert h.priorities == (0, -2, 2)
    after = h.with_members([Validator(A, 3), Validator(C, 1)])
    # [0, 2] with total 4: window 8 holds, mean 1 -> [-1, 1]
    assert after.priorities == (-1, 1)
    assert after.next_height().priorities == (-2, 2)  # inc [2, 2] -> A (tie) -> [-2, 2]


def test_power_change_keeps_priority_and_every_pick_follows_power() -> None:
    h = ValidatorSet([Validator(A, 1), Validator(B, 1)], check_keys=False).next_height()
    h = h.with_members([Validator(A, 1), Validator(B, 3)])
    picks = []
    for _ in range(40):
        h = h.next_height()
        picks.append(h.proposer_index(0))
    assert picks.count(1) == 30 and picks.count(0) == 10


def test_newcomer_priority_counts_the_leavers_power_as_cometbft_does() -> None:
    # C3 replaces B1 in the same change: T = 1 + 3 (new total) + 1 (B leaving) = 5, so C enters
    # at -(5 + 0) = -5 (not -4 from the new total alone): A keeps 0 -> [0, -5]; window 8 holds;
    # mean floor(-5 / 2) = -3 -> [3, -2]; increment [4, 1] -> A -> [0, 1].
    h = ValidatorSet([Validator(A, 1), Validator(B, 1)], check_keys=False)
    changed = h.with_members([Validator(A, 1), Validator(C, 3)])
    assert changed.priorities == (3, -2)
    assert changed.next_height().priorities == (0, 1)
