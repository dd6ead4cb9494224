"""Which bonded keys validate, with what power, and from which height.

At the end of a block that may have changed stakes (a staking transaction or evidence), the
members are chosen again: every BONDED key whose stake is at least `min_validator_stake`, with
power `stake // power_unit`, the `max_validators` largest by (power desc, key asc). Members of
the current latest set keep their relative order and newcomers follow them in selection order,
so the index of a validator (its bit in commit bitmaps) changes only when someone leaves. If the
choice differs from the latest scheduled set it is scheduled at `height + validator_set_delay`.
A choice that would leave no validator at all is not scheduled (the chain could not go on).
"""

from __future__ import annotations

from execution.staking.records import (
    StakeStatus,
    ValidatorStake,
    schedule_validators,
    stake_keys,
    validator_stake,
)
from execution.state import State, ValidatorRecord
from genesis.keys import validator_address
from genesis.params import ProtocolParams


def _candidates(
    records: list[ValidatorStake], params: ProtocolParams
) -> list[tuple[int, bytes, ValidatorStake]]:
    out = []
    for r in records:
        if r.status is StakeStatus.BONDED and r.stake >= params.min_validator_stake:
            power = r.stake // params.power_unit
            if power > 0:
                out.append((power, r.bls_public_key, r))
    out.sort(key=lambda c: (-c[0], c[1]))
    return out[: params.max_validators]


def choose_members(
    state: State, params: ProtocolParams, extra: ValidatorStake | None = None
) -> list[ValidatorRecord]:
    """The members the current stakes give (with `extra` standing in for its key's record:
    what a bond would give, for the set-full rule)."""
    records = []
    for key in stake_keys(state):
        record = validator_stake(state, key)
        if record is None:
            continue
        if extra is not None and key == extra.bls_public_key:
            record = extra
        records.append(record)
    if extra is not None and extra.bls_public_key not in {r.bls_public_key for r in records}:
        records.append(extra)
    chosen = {key: (power, r) for power, key, r in _candidates(records, params)}
    ordered: list[ValidatorRecord] = []
    for v in state.validators():
        if v.bls_public_key in chosen:
            power, r = chosen.pop(v.bls_public_key)
            ordered.append(ValidatorRecord(v.address, v.bls_public_key, power, r.owner))
    for key, (power, r) in sorted(chosen.items(), key=lambda kv: (-kv[1][0], kv[0])):
        ordered.append(ValidatorRecord(validator_address(key), key, power, r.owner))
    return ordered


def reschedule(state: State, params: ProtocolParams, height: int) -> bool:
    """Schedule the members the stakes now give at `height + delay` if they changed."""
    members = choose_members(state, params)
    if not members or members == state.validators():
        return False
    schedule_validators(state, height + params.validator_set_delay, members)
    return True
