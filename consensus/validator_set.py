"""The validator set: BLS keys with voting power, quorum arithmetic, proposer selection.

Proposer selection is CometBFT's proposer-priority algorithm (weighted round robin):
one *increment* adds every validator's power to its priority, picks the validator with the
highest priority (ties go to the lowest index in the set) and subtracts the total power from
the pick. Before a run of increments the priorities are rescaled so that max - min stays
within 2 * total power and are shifted so that their average is zero, as CometBFT does; for
a set that does not change neither has any effect, because the sum stays 0.

A `ValidatorSet` object is the set *for one height*, with that height's priorities P_h:
the proposer of round r is the pick of the (r + 1)-th increment of P_h, and the set for
the next height carries P_h after one increment (`next_height()`). A set that starts at
height 1 from zero priorities therefore names the same proposers as CometBFT. Over a run of
total-power increments each validator is picked exactly power times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import rlp
import sha3
from rlp.sedes import CountableList, List, big_endian_int, binary

from consensus import bls
from consensus.errors import DecodeError, InvalidValidatorSet
from consensus.messages import rlp_decode

# Keeps priority arithmetic far from any 64-bit bound another implementation might use.
MAX_TOTAL_POWER = 2**60
MAX_VALIDATORS = 2**16

_MEMBERS_SEDES = CountableList(List([binary, big_endian_int], strict=True))
_STATE_SEDES = CountableList(List([binary, big_endian_int, big_endian_int], strict=True))


def _zigzag(n: int) -> int:
    return 2 * n if n >= 0 else -2 * n - 1


def _unzigzag(z: int) -> int:
    return z // 2 if z % 2 == 0 else -(z + 1) // 2


@dataclass(frozen=True, slots=True)
class Validator:
    public_key: bytes  # 48-byte compressed BLS12-381 G1 point
    power: int


class ValidatorSet:
    """An immutable, ordered validator set with the proposer priorities of one height."""

    __slots__ = ("_by_key", "_proposers", "priorities", "total_power", "validators")

    def __init__(
        self,
        validators: Sequence[Validator],
        priorities: Sequence[int] | None = None,
        *,
        check_keys: bool = True,
    ) -> None:
        if not validators:
            raise InvalidValidatorSet("a validator set needs at least one validator")
        by_key: dict[bytes, int] = {}
        total = 0
        for i, v in enumerate(validators):
            if not isinstance(v.power, int) or v.power <= 0:
                raise InvalidValidatorSet(f"validator {i} has non-positive power {v.power!r}")
            if len(v.public_key) != bls.PUBKEY_LEN:
                raise InvalidValidatorSet(f"validator {i} public key is not 48 bytes")
            if v.public_key in by_key:
                raise InvalidValidatorSet(
                    f"validator {i} duplicates validator {by_key[v.public_key]}"
                )
            # Subgroup check (~20 ms with py_ecc): done once when the set is admitted.
            if check_keys and not bls.key_validate(v.public_key):
                raise InvalidValidatorSet(f"validator {i} public key is not a valid G1 point")
            by_key[v.public_key] = i
            total += v.power
        if len(validators) > MAX_VALIDATORS:
            raise InvalidValidatorSet("more than 2**16 validators")
        if total > MAX_TOTAL_POWER:
            raise InvalidValidatorSet("total voting power exceeds 2**60")
        if priorities is None:
            priorities = [0] * len(validators)
        if len(priorities) != len(validators):
            raise InvalidValidatorSet("one priority per validator is needed")
        self.validators: tuple[Validator, ...] = tuple(validators)
        self.priorities: tuple[int, ...] = tuple(int(p) for p in priorities)
        self.total_power = total
        self._by_key = by_key
        self._proposers: dict[int, int] = {}

    # ---- encodings ----------------------------------------------------------------------

    def members_encoding(self) -> bytes:
        """RLP [[public_key, power], ...]: the membership, without priorities."""
        return bytes(
            rlp.encode([[v.public_key, v.power] for v in self.validators], sedes=_MEMBERS_SEDES)
        )

    def hash(self) -> bytes:
        """keccak-256 of members_encoding(): what a header commits to (priorities excluded,
        as in CometBFT, because they follow from the membership history)."""
        return bytes(sha3.keccak_256(self.members_encoding()).digest())

    def encode(self) -> bytes:
        """RLP [[public_key, power, zigzag(priority)], ...]: the full state of one height,
        for a node to persist so that it never replays the priority history."""
        rows = [
            [v.public_key, v.power, _zigzag(p)]
            for v, p in zip(self.validators, self.priorities, strict=True)
        ]
        return bytes(rlp.encode(rows, sedes=_STATE_SEDES))

    @classmethod
    def decode(cls, data: bytes, *, check_keys: bool = True) -> ValidatorSet:
        rows = rlp_decode(data, _STATE_SEDES, "validator set")
        if len(rows) > MAX_VALIDATORS:
            raise DecodeError("validator set: too many validators")
        try:
            return cls(
                [Validator(pk, power) for pk, power, _ in rows],
                [_unzigzag(z) for _, _, z in rows],
                check_keys=check_keys,
            )
        except InvalidValidatorSet as exc:
            raise DecodeError(f"validator set: {exc}") from exc

    def __len__(self) -> int:
        return len(self.validators)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ValidatorSet)
            and self.validators == other.validators
            and self.priorities == other.priorities
        )

    def __hash__(self) -> int:
        return hash((self.validators, self.priorities))

    def __repr__(self) -> str:
        return f"ValidatorSet(n={len(self)}, total_power={self.total_power})"

    @property
    def public_keys(self) -> list[bytes]:
        return [v.public_key for v in self.validators]

    def power_of(self, index: int) -> int:
        return self.validators[index].power

    def index_of(self, public_key: bytes) -> int | None:
        return self._by_key.get(public_key)

    # Quorums. With f the power the protocol tolerates as faulty (total > 3f):
    # "2f+1" means strictly more than 2/3 of the total, "f+1" strictly more than 1/3.

    def has_two_thirds(self, power: int) -> bool:
        return 3 * power > 2 * self.total_power

    def has_one_third(self, power: int) -> bool:
        return 3 * power > self.total_power

    def power_of_indices(self, indices: Sequence[int] | set[int]) -> int:
        return sum(self.validators[i].power for i in indices)

    # Proposer selection.

    def proposer_index(self, round_: int) -> int:
        if round_ < 0:
            raise ValueError("round must be non-negative")
        cached = self._proposers.get(round_)
        if cached is not None:
            return cached
        prios = _rescale_and_center(list(self.priorities), self.total_power)
        # Rounds arrive in order in practice, so memoise every pick along the way.
        pick = 0
        for r in range(round_ + 1):
            pick = _increment(prios, self.validators, self.total_power)
            self._proposers.setdefault(r, pick)
        return pick

    def proposer(self, round_: int) -> Validator:
        return self.validators[self.proposer_index(round_)]

    def next_height(self) -> ValidatorSet:
        """The same validators with the priorities of the following height."""
        prios = _rescale_and_center(list(self.priorities), self.total_power)
        _increment(prios, self.validators, self.total_power)
        return ValidatorSet(self.validators, prios, check_keys=False)

    def with_members(self, members: Sequence[Validator]) -> ValidatorSet:
        """This set's priorities carried over to new membership `members` (in that order), as
        CometBFT's updateWithChangeSet does: a validator that stays keeps its priority (with
        its new power), a newcomer enters at -1.125 times the total power after the updates
        but before the removals (T = new total + the leavers' old power; -(T + (T >> 3)), as
        CometBFT's tvpAfterUpdatesBeforeRemovals) so that it cannot propose at once by joining,
        a leaver is dropped; then the priorities are rescaled to a window of twice the new
        total and centred on zero. The set of the height where the change applies is
        `with_members(...).next_height()` of the set of the height before (CometBFT updates
        NextValidators, then increments once)."""
        old = dict(zip((v.public_key for v in self.validators), self.priorities, strict=True))
        total = sum(m.power for m in members)
        staying = {m.public_key for m in members}
        removed = sum(v.power for v in self.validators if v.public_key not in staying)
        before_removals = total + removed
        entering = -(before_removals + (before_removals >> 3))
        prios = [old.get(m.public_key, entering) for m in members]
        if members:
            prios = _rescale_and_center(prios, total)
        return ValidatorSet(members, prios, check_keys=False)

    def at_height(self, height: int, start_height: int = 1) -> ValidatorSet:
        """For a set that never changes: the set of `height` given this is `start_height`'s."""
        if height < start_height:
            raise ValueError("height is below the set's start height")
        out = self
        for _ in range(height - start_height):
            out = out.next_height()
        return out


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding toward zero (Go's `/` on int64), for bit-exact priorities."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _rescale_and_center(prios: list[int], total: int) -> list[int]:
    diff_max = 2 * total
    diff = max(prios) - min(prios)
    if diff > diff_max:
        ratio = (diff + diff_max - 1) // diff_max
        prios = [_trunc_div(p, ratio) for p in prios]
    avg = sum(prios) // len(prios)  # floor, as Go's big.Int Div for a positive divisor
    return [p - avg for p in prios]


def _increment(prios: list[int], validators: Sequence[Validator], total: int) -> int:
    best = 0
    for i, v in enumerate(validators):
        prios[i] += v.power
        # Strictly greater: a tie keeps the lower index (deterministic tie-break).
        if prios[i] > prios[best]:
            best = i
    prios[best] -= total
    return best
