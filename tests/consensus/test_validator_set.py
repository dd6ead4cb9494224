from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from consensus import InvalidValidatorSet, Validator, ValidatorSet

VSetFactory = Callable[..., ValidatorSet]


def sequence(vset: ValidatorSet, n: int) -> list[int]:
    """Proposers of rounds 0..n-1 of the set's height."""
    return [vset.proposer_index(r) for r in range(n)]


def test_equal_powers_round_robin(make_vset: VSetFactory) -> None:
    assert sequence(make_vset(1, 1, 1, 1), 9) == [0, 1, 2, 3, 0, 1, 2, 3, 0]


def test_uneven_powers_match_hand_computed_sequence(make_vset: VSetFactory) -> None:
    # Powers 1, 2, 3 (total 6), priorities from 0; each step adds the powers, picks the max
    # (ties to the lower index) and subtracts 6 from the pick:
    #   [1,2,3]->2 [2,-2,0]  [2,4,0]->1 [2,-2,0]... written out in docs/consensus.md:
    #   picks 2, 1, 0 (tie 3 vs 3), 2, 1, 2, then the priorities are back to [0,0,0].
    assert sequence(make_vset(1, 2, 3), 12) == [2, 1, 0, 2, 1, 2] * 2


def test_dominant_validator_sequence(make_vset: VSetFactory) -> None:
    # Powers 5, 1, 1 (total 7): [5,1,1]->0, [3,2,2]->0, [1,3,3]->1 (tie), [6,-3,4]->0,
    # [4,-2,5]->2, [9,-1,-1]->0, [7,0,0]->0, back to zero priorities.
    assert sequence(make_vset(5, 1, 1), 7) == [0, 0, 1, 0, 2, 0, 0]


def test_heights_continue_the_sequence(make_vset: VSetFactory) -> None:
    vset = make_vset(1, 2, 3)
    flat = sequence(vset, 20)
    h = vset
    for height in range(1, 10):
        # proposer(height, r) is step (height - 1) + r of the one sequence.
        assert [h.proposer_index(r) for r in range(4)] == flat[height - 1 : height + 3]
        assert vset.at_height(height) == h
        h = h.next_height()


def test_rescale_and_center_with_given_priorities(make_vset: VSetFactory) -> None:
    base = make_vset(1, 1, 1)
    # max - min = 200 > 2 * total = 6: divide by ceil(200 / 6) = 34, rounding toward zero:
    # [100, -100, 0] -> [2, -2, 0]; then +1 each -> [3, -1, 1]: validator 0.
    vset = ValidatorSet(base.validators, [100, -100, 0], check_keys=False)
    assert vset.proposer_index(0) == 0
    assert vset.next_height().priorities == (3 - 3, -1, 1)


def test_each_validator_proposes_in_proportion_to_power(make_vset: VSetFactory) -> None:
    rng = random.Random(7)
    for _ in range(5):
        powers = [rng.randint(1, 9) for _ in range(rng.randint(2, 6))]
        vset = make_vset(*powers)
        total = sum(powers)
        counts = Counter(sequence(vset, total))
        assert [counts[i] for i in range(len(powers))] == powers


def test_quorum_is_strictly_more_than_two_thirds(make_vset: VSetFactory) -> None:
    v4 = make_vset(1, 1, 1, 1)
    assert v4.has_two_thirds(3) and not v4.has_two_thirds(2)
    assert v4.has_one_third(2) and not v4.has_one_third(1)
    v3 = make_vset(1, 1, 1)
    assert not v3.has_two_thirds(2)  # exactly 2/3 is not enough
    assert not v3.has_one_third(1)  # exactly 1/3 is not enough
    assert v3.has_one_third(2)
    uneven = make_vset(5, 1, 1)
    assert uneven.has_two_thirds(5) and not uneven.has_two_thirds(4)


def test_invalid_sets_rejected(make_vset: VSetFactory) -> None:
    good = make_vset(1, 1)
    pk = good.validators[0].public_key
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([])
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([Validator(pk, 0)])
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([Validator(pk, 1), Validator(pk, 2)])
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([Validator(pk[:47], 1)])
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([Validator(b"\xc0" + b"\x00" * 47, 1)])  # identity point
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([Validator(b"\x8f" + b"\x11" * 47, 1)])  # not on the curve
    with pytest.raises(InvalidValidatorSet):
        ValidatorSet([Validator(pk, 2**61)])


def test_encoding_round_trip_and_hash(make_vset: VSetFactory) -> None:
    vset = make_vset(3, 1, 2).at_height(5)
    assert any(p < 0 for p in vset.priorities)  # negative priorities survive the encoding
    decoded = ValidatorSet.decode(vset.encode())
    assert decoded == vset
    assert [decoded.proposer_index(r) for r in range(6)] == [vset.proposer_index(r) for r in range(6)]
    assert vset.hash() == make_vset(3, 1, 2).hash()  # priorities are not in the hash
    assert vset.hash() != make_vset(3, 1, 3).hash()
    from consensus import DecodeError

    for bad in (b"", b"\xc0", vset.encode()[:-1], b"\xc3\xc2\x01\x01"):
        with pytest.raises(DecodeError):
            ValidatorSet.decode(bad)
