"""Staking records in the state trie, each at keccak of a domain tag and its id.

| record | key | value |
|---|---|---|
| validator stake | `"ivcnet/stake/" + bls_public_key` | `rlp([bls_public_key, owner, stake, status, slashed])` |
| bonded keys | `"ivcnet/stake-keys"` | `rlp([bls_public_key, ...])`: the BONDED keys, in order of bonding |
| an owner's keys | `"ivcnet/owner/" + owner` | `rlp([bls_public_key, ...])` |
| unbonding funds | `"ivcnet/unbonding/" + owner` | `rlp([[amount, release_height, bls_public_key or empty], ...])` |
| release index | `"ivcnet/release/" + be8(height)` | `rlp([owner, ...])`: owners with funds released then |
| prover stake | `"ivcnet/prover/" + address` | `rlp([address, stake, status, slashed, misses])` |
| set schedule | `"ivcnet/valset-heights"` / `"ivcnet/prover-set-heights"` | `rlp([height, ...])` ascending |
| scheduled set | `"ivcnet/valset/" + be8(h)` | `rlp([[address, bls_public_key, power, reward_address], ...])` |
| scheduled provers | `"ivcnet/prover-set/" + be8(h)` | `rlp([address, ...])` |

A scheduled set applies from its height until the next scheduled height, so the member list of
any height is one lookup in a short list; nothing is ever replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import rusty_rlp

from execution.state import State, ValidatorRecord, decode_uint, uint_bytes
from execution.types.errors import DecodingError
from execution.types.hashing import keccak256


def _decode(raw: bytes, what: str) -> list[object]:
    try:
        items = rusty_rlp.decode_raw(raw, True, False)[0]
    except rusty_rlp.DecodingError as exc:
        raise DecodingError(f"corrupt {what}: {exc}") from exc
    if not isinstance(items, list):
        raise DecodingError(f"corrupt {what}")
    return items


def _bytes_list(raw: bytes | None, what: str) -> list[bytes]:
    if not raw:
        return []
    items = _decode(raw, what)
    if not all(isinstance(i, bytes) for i in items):
        raise DecodingError(f"corrupt {what}")
    return items  # type: ignore[return-value]


def _be8(height: int) -> bytes:
    return height.to_bytes(8, "big")


class StakeStatus(IntEnum):
    BONDED = 0
    UNBONDED = 1  # everything unbonded; the key may bond again (same owner)
    TOMBSTONED = 2  # slashed for double signing: the key never validates again


class ProverStatus(IntEnum):
    REGISTERED = 0
    UNREGISTERED = 1


@dataclass(frozen=True)
class ValidatorStake:
    bls_public_key: bytes
    owner: bytes
    stake: int
    status: StakeStatus = StakeStatus.BONDED
    slashed: int = 0

    def encode(self) -> bytes:
        return bytes(
            rusty_rlp.encode_raw(
                [
                    self.bls_public_key,
                    self.owner,
                    uint_bytes(self.stake),
                    uint_bytes(int(self.status)),
                    uint_bytes(self.slashed),
                ]
            )
        )

    @classmethod
    def decode(cls, raw: bytes) -> ValidatorStake:
        items = _decode(raw, "validator stake")
        if len(items) != 5 or not all(isinstance(i, bytes) for i in items):
            raise DecodingError("corrupt validator stake")
        key, owner, stake, status, slashed = items
        code = decode_uint(status, "stake status")
        if code not in StakeStatus._value2member_map_:
            raise DecodingError("corrupt stake status")
        return cls(
            key,  # type: ignore[arg-type]
            owner,  # type: ignore[arg-type]
            decode_uint(stake, "stake"),
            StakeStatus(code),
            decode_uint(slashed, "stake"),
        )


@dataclass(frozen=True)
class ProverStake:
    address: bytes
    stake: int
    status: ProverStatus = ProverStatus.REGISTERED
    slashed: int = 0
    misses: int = 0

    def encode(self) -> bytes:
        return bytes(
            rusty_rlp.encode_raw(
                [
                    self.address,
                    uint_bytes(self.stake),
                    uint_bytes(int(self.status)),
                    uint_bytes(self.slashed),
                    uint_bytes(self.misses),
                ]
            )
        )

    @classmethod
    def decode(cls, raw: bytes) -> ProverStake:
        items = _decode(raw, "prover stake")
        if len(items) != 5 or not all(isinstance(i, bytes) for i in items):
            raise DecodingError("corrupt prover stake")
        address, stake, status, slashed, misses = items
        code = decode_uint(status, "prover status")
        if code not in ProverStatus._value2member_map_:
            raise DecodingError("corrupt prover status")
        return cls(
            address,  # type: ignore[arg-type]
            decode_uint(stake, "prover stake"),
            ProverStatus(code),
            decode_uint(slashed, "prover stake"),
            decode_uint(misses, "prover stake"),
        )


@dataclass(frozen=True)
class Unbonding:
    """Funds locked until the end of `release_height`; `bls_public_key` names the validator
    stake they left (empty for a prover stake), so that a double sign committed before they
    left can still be slashed from them."""

    amount: int
    release_height: int
    bls_public_key: bytes = b""


STAKE_KEYS_KEY = keccak256(b"ivcnet/stake-keys")
VALSET_HEIGHTS_KEY = keccak256(b"ivcnet/valset-heights")
PROVER_SET_HEIGHTS_KEY = keccak256(b"ivcnet/prover-set-heights")


def stake_key(bls_public_key: bytes) -> bytes:
    return keccak256(b"ivcnet/stake/" + bls_public_key)


def owner_key(owner: bytes) -> bytes:
    return keccak256(b"ivcnet/owner/" + owner)


def unbonding_key(owner: bytes) -> bytes:
    return keccak256(b"ivcnet/unbonding/" + owner)


def release_key(height: int) -> bytes:
    return keccak256(b"ivcnet/release/" + _be8(height))


def prover_key(address: bytes) -> bytes:
    return keccak256(b"ivcnet/prover/" + address)


def valset_key(height: int) -> bytes:
    return keccak256(b"ivcnet/valset/" + _be8(height))


def prover_set_key(height: int) -> bytes:
    return keccak256(b"ivcnet/prover-set/" + _be8(height))


# -- reading and writing ---------------------------------------------------------------------
def validator_stake(state: State, bls_public_key: bytes) -> ValidatorStake | None:
    raw = state.record(stake_key(bls_public_key))
    return ValidatorStake.decode(raw) if raw else None


def set_validator_stake(state: State, record: ValidatorStake) -> None:
    key = stake_key(record.bls_public_key)
    raw = state.record(key)
    was_bonded = raw is not None and ValidatorStake.decode(raw).status is StakeStatus.BONDED
    is_bonded = record.status is StakeStatus.BONDED
    if not raw:
        owned = owned_keys(state, record.owner)
        state.set_record(owner_key(record.owner), _encode_list([*owned, record.bls_public_key]))
    # The candidate index holds the BONDED keys only: a key that left is not read again by
    # every bond and set choice (an index of every key ever bonded grows without bound).
    if is_bonded and not was_bonded:
        state.set_record(STAKE_KEYS_KEY, _encode_list([*stake_keys(state), record.bls_public_key]))
    elif was_bonded and not is_bonded:
        rest = [k for k in stake_keys(state) if k != record.bls_public_key]
        state.set_record(STAKE_KEYS_KEY, _encode_list(rest))
    state.set_record(key, record.encode())


def stake_keys(state: State) -> list[bytes]:
    """The BONDED keys (the set's candidates), in the order they last became bonded."""
    return _bytes_list(state.record(STAKE_KEYS_KEY), "stake key index")


def owned_keys(state: State, owner: bytes) -> list[bytes]:
    return _bytes_list(state.record(owner_key(owner)), "owner index")


def prover_stake(state: State, address: bytes) -> ProverStake | None:
    raw = state.record(prover_key(address))
    return ProverStake.decode(raw) if raw else None


def set_prover_stake(state: State, record: ProverStake) -> None:
    state.set_record(prover_key(record.address), record.encode())


def unbondings(state: State, owner: bytes) -> list[Unbonding]:
    raw = state.record(unbonding_key(owner))
    if not raw:
        return []
    out = []
    for item in _decode(raw, "unbonding list"):
        if not isinstance(item, list) or len(item) != 3 or not isinstance(item[2], bytes):
            raise DecodingError("corrupt unbonding list")
        out.append(
            Unbonding(decode_uint(item[0], "unbonding"), decode_uint(item[1], "unbonding"), item[2])
        )
    return out


def set_unbondings(state: State, owner: bytes, entries: list[Unbonding]) -> None:
    state.set_record(
        unbonding_key(owner),
        bytes(
            rusty_rlp.encode_raw(
                [
                    [uint_bytes(e.amount), uint_bytes(e.release_height), e.bls_public_key]
                    for e in entries
                ]
            )
        ),
    )


def releases_at(state: State, height: int) -> list[bytes]:
    return _bytes_list(state.record(release_key(height)), "release index")


def set_releases_at(state: State, height: int, owners: list[bytes]) -> None:
    state.set_record(release_key(height), _encode_list(owners))


def _encode_list(items: list[bytes]) -> bytes:
    return bytes(rusty_rlp.encode_raw(items))


# -- schedules -------------------------------------------------------------------------------
def _heights(state: State, key: bytes, what: str) -> list[int]:
    return [decode_uint(h, what) for h in _bytes_list(state.record(key), what)]


def valset_heights(state: State) -> list[int]:
    """The heights from which a new validator set applies, ascending (1 is the genesis set)."""
    return _heights(state, VALSET_HEIGHTS_KEY, "validator set schedule")


def scheduled_validators(state: State, height: int) -> list[ValidatorRecord]:
    """The set scheduled to apply from exactly `height` (a height of `valset_heights`)."""
    raw = state.record(valset_key(height))
    if not raw:
        raise DecodingError(f"no validator set scheduled at {height}")
    out = []
    for item in _decode(raw, "validator set"):
        if not isinstance(item, list) or len(item) != 4:
            raise DecodingError("corrupt validator set")
        address, key, power, reward = item
        out.append(ValidatorRecord(address, key, decode_uint(power, "validator power"), reward))
    return out


def schedule_validators(state: State, height: int, members: list[ValidatorRecord]) -> None:
    heights = valset_heights(state)
    if heights and heights[-1] >= height:
        raise DecodingError(f"validator set already scheduled at or after {height}")
    state.set_record(
        valset_key(height),
        bytes(
            rusty_rlp.encode_raw(
                [
                    [v.address, v.bls_public_key, uint_bytes(v.power), v.reward_address]
                    for v in members
                ]
            )
        ),
    )
    state.set_record(VALSET_HEIGHTS_KEY, _encode_list([uint_bytes(h) for h in [*heights, height]]))
    state.set_validators(members)  # the latest scheduled set, for readers of `validators()`


def validators_at(state: State, height: int) -> list[ValidatorRecord]:
    """The members of the validator set of `height` as far as `state` knows them (exact for
    every height up to the state's own height + validator_set_delay)."""
    heights = valset_heights(state)
    applies = [h for h in heights if h <= height]
    if not applies:
        return state.validators()  # a state from before staking: the genesis set
    return scheduled_validators(state, applies[-1])


def prover_set_heights(state: State) -> list[int]:
    return _heights(state, PROVER_SET_HEIGHTS_KEY, "prover set schedule")


def provers_at(state: State, height: int) -> list[bytes]:
    """The registered provers that the tasks of block `height` are assigned to."""
    applies = [h for h in prover_set_heights(state) if h <= height]
    if not applies:
        return []
    return _bytes_list(state.record(prover_set_key(applies[-1])), "prover set")


def schedule_provers(state: State, height: int, provers: list[bytes]) -> None:
    heights = prover_set_heights(state)
    state.set_record(prover_set_key(height), _encode_list(provers))
    if not heights or heights[-1] != height:
        state.set_record(
            PROVER_SET_HEIGHTS_KEY, _encode_list([uint_bytes(h) for h in [*heights, height]])
        )
