"""Applying staking transactions, and what every block does for staking at its end.

Rejections (InvalidTransaction reasons, also the mempool's):
- `bad_owner_signature`: the bond's owner signature (the key signing this chain id and the
  sender, which also proves possession of the key) does not verify: a bond copied from the
  mempool and sent by another account, or made for another chain, fails here;
- `duplicate_key`: the key is bonded (or was) by another owner;
- `key_tombstoned`: the key was slashed for double signing and never validates again;
- `below_min_stake`: a bond leaving less than `min_validator_stake` bonded on the key, a prover
  registration below `min_prover_stake`, or an unbond leaving a non-zero rest below the minimum;
- `validator_set_full`: the set has `max_validators` members and the bond of a key not bonded
  yet would not displace the smallest one (a top-up of a bonded key is never refused for it);
- `not_validator`: an unbond of a key the sender does not own, or with nothing bonded;
- `unbond_exceeds_stake`: more than is bonded;
- `last_validator`: the full unbond of a bonded key would leave the validator set empty;
- `not_prover`: unregistering an account that is not a registered prover;
- `insufficient_balance` (the transaction layer): the sender cannot afford value plus gas.

Unbonded funds (from an unbond, a prover's unregistration or its removal for missed tasks) are
locked for `unbonding_period_blocks` and then credited to the owner automatically at the end of
the release block: no withdraw transaction is needed.
"""

from __future__ import annotations

from dataclasses import replace

from execution.staking.bond_signature import bond_verify
from execution.staking.records import (
    ProverStake,
    ProverStatus,
    StakeStatus,
    Unbonding,
    ValidatorStake,
    prover_stake,
    provers_at,
    releases_at,
    schedule_provers,
    schedule_validators,
    set_prover_stake,
    set_releases_at,
    set_unbondings,
    set_validator_stake,
    unbondings,
    validator_stake,
)
from execution.staking.validator_set import choose_members
from execution.state import Account, State, ValidatorRecord
from execution.types.errors import InvalidTransaction
from execution.types.staking import StakingOp, StakingOpKind
from genesis.params import ProtocolParams


def check_staking(
    state: State,
    sender: bytes,
    op: StakingOp,
    value: int,
    params: ProtocolParams,
    *,
    chain_id: int,
    verify_proof: bool = True,
) -> None:
    """Raise InvalidTransaction unless `op` sent by `sender` with `value` on chain `chain_id`
    applies to `state`. Reads only; the balance is the transaction layer's to check.
    `verify_proof=False` skips the bond's owner signature (a proposer pre-filtering what its
    mempool already verified)."""
    if op.kind is StakingOpKind.BOND:
        record = validator_stake(state, op.bls_public_key)
        if record is not None and record.owner != sender:
            raise InvalidTransaction("duplicate_key", "the key is bonded by another owner")
        if record is not None and record.status is StakeStatus.TOMBSTONED:
            raise InvalidTransaction("key_tombstoned", "the key was slashed for double signing")
        total = value + (record.stake if record is not None else 0)
        if value == 0 or total < params.min_validator_stake:
            raise InvalidTransaction(
                "below_min_stake", f"{total} bonded, at least {params.min_validator_stake}"
            )
        # Only a key becoming bonded can find the set full: choosing the set reads every
        # bonded key, which a top-up (priced as a transfer) must not make validators pay.
        would_be = ValidatorStake(op.bls_public_key, sender, total)
        becomes_bonded = record is None or record.status is not StakeStatus.BONDED
        if becomes_bonded and op.bls_public_key not in {
            m.bls_public_key for m in choose_members(state, params, would_be)
        }:
            raise InvalidTransaction(
                "validator_set_full", f"{params.max_validators} validators with larger stakes"
            )
        # Last: a pairing check (~7 ms), paid only by bonds that pass every cheap rule, and
        # only by a key's first bond: a record exists only for a key whose signature verified
        # (or a genesis key), and it names the owner, who alone may top it up; the bond's gas
        # does not price the pairing, so top-ups of 1 wei must not make every validator pay
        # it again. The signature names the sender, so a copy sent by another account fails.
        if (
            verify_proof
            and record is None
            and not bond_verify(op.bls_public_key, chain_id, sender, op.owner_signature)
        ):
            raise InvalidTransaction(
                "bad_owner_signature", "the key did not sign this bond for this sender and chain"
            )
    elif op.kind is StakingOpKind.UNBOND:
        record = validator_stake(state, op.bls_public_key)
        if record is None or record.owner != sender or record.stake == 0:
            raise InvalidTransaction("not_validator", "the sender has nothing bonded on this key")
        amount = op.amount or record.stake
        if amount > record.stake:
            raise InvalidTransaction("unbond_exceeds_stake", f"{record.stake} bonded")
        rest = record.stake - amount
        if rest and rest < params.min_validator_stake and record.status is StakeStatus.BONDED:
            raise InvalidTransaction(
                "below_min_stake", f"{rest} would stay bonded; unbond all instead"
            )
        # Only a bonded key leaving (a full unbond) can empty the set; a partial unbond keeps
        # it a candidate, and choosing the set reads every bonded key.
        after = replace(record, stake=rest)
        leaves = record.status is StakeStatus.BONDED and rest == 0
        if leaves and not choose_members(state, params, after):
            raise InvalidTransaction("last_validator", "the validator set would be empty")
    elif op.kind is StakingOpKind.REGISTER_PROVER:
        record_p = prover_stake(state, sender)
        already = record_p.stake if record_p is not None else 0
        if value + already < params.min_prover_stake or (value == 0 and record_p is None):
            raise InvalidTransaction(
                "below_min_stake", f"{value + already} staked, at least {params.min_prover_stake}"
            )
    else:
        record_p = prover_stake(state, sender)
        if record_p is None or record_p.status is not ProverStatus.REGISTERED:
            raise InvalidTransaction("not_prover", "the sender is not a registered prover")


def apply_staking(
    state: State, sender: bytes, op: StakingOp, value: int, params: ProtocolParams, height: int
) -> None:
    """Apply a checked staking operation (its value has already left the sender's balance)."""
    if op.kind is StakingOpKind.BOND:
        record = validator_stake(state, op.bls_public_key)
        stake = value + (record.stake if record is not None else 0)
        slashed = record.slashed if record is not None else 0
        set_validator_stake(
            state, ValidatorStake(op.bls_public_key, sender, stake, StakeStatus.BONDED, slashed)
        )
    elif op.kind is StakingOpKind.UNBOND:
        record = validator_stake(state, op.bls_public_key)
        if record is None:  # checked before; keeps the types honest
            raise InvalidTransaction("not_validator")
        amount = op.amount or record.stake
        status = record.status
        if record.stake == amount and status is StakeStatus.BONDED:
            status = StakeStatus.UNBONDED
        set_validator_stake(state, replace(record, stake=record.stake - amount, status=status))
        lock(state, sender, amount, height + params.unbonding_period_blocks, op.bls_public_key)
    elif op.kind is StakingOpKind.REGISTER_PROVER:
        record_p = prover_stake(state, sender)
        if record_p is None:
            record_p = ProverStake(sender, 0)
        elif record_p.status is ProverStatus.UNREGISTERED:
            # A registration starts a new miss count: a prover removed at prover_max_misses
            # that stakes again would otherwise be removed again at its first miss (its old
            # misses already cost it; `slashed` keeps the history).
            record_p = replace(record_p, misses=0)
        set_prover_stake(
            state,
            replace(record_p, stake=record_p.stake + value, status=ProverStatus.REGISTERED),
        )
        if sender not in provers_at(state, height + 1):
            _set_provers(state, height, add=sender)
    else:
        unregister_prover(state, sender, params, height)


def unregister_prover(state: State, address: bytes, params: ProtocolParams, height: int) -> None:
    """Take `address` out of the prover set from the next block; its stake starts unbonding."""
    record = prover_stake(state, address)
    if record is None:
        return
    set_prover_stake(state, replace(record, stake=0, status=ProverStatus.UNREGISTERED))
    if record.stake:
        lock(state, address, record.stake, height + params.unbonding_period_blocks)
    _set_provers(state, height, remove=address)


def _set_provers(
    state: State, height: int, add: bytes | None = None, remove: bytes | None = None
) -> None:
    # Registrations of block b apply to the tasks of blocks from b + 1 on.
    provers = [p for p in provers_at(state, height + 1) if p != remove]
    if add is not None and add not in provers:
        provers.append(add)
    schedule_provers(state, height + 1, provers)


def lock(
    state: State, owner: bytes, amount: int, release_height: int, bls_public_key: bytes = b""
) -> None:
    """Keep `amount` for `owner` until the end of block `release_height` (from the validator
    stake of `bls_public_key`, or a prover stake if empty)."""
    entries = unbondings(state, owner)
    set_unbondings(state, owner, [*entries, Unbonding(amount, release_height, bls_public_key)])
    owners = releases_at(state, release_height)
    if owner not in owners:
        set_releases_at(state, release_height, [*owners, owner])


def release_unbonded(state: State, height: int) -> int:
    """Credit every owner the funds whose unbonding ends at `height`; return the total."""
    total = 0
    for owner in releases_at(state, height):
        entries = unbondings(state, owner)
        due = sum(e.amount for e in entries if e.release_height == height)
        if not due:
            continue
        set_unbondings(state, owner, [e for e in entries if e.release_height != height])
        account = state.account(owner)
        state.set_account(owner, Account(account.nonce, account.balance + due))
        total += due
    return total


def genesis_staking(
    state: State,
    validators: list[ValidatorRecord],
    provers: list[bytes],
    params: ProtocolParams,
) -> None:
    """Genesis validators start bonded (stake = power * power_unit, owned by their reward
    address, in genesis order) and genesis provers registered with no stake."""
    for v in validators:
        set_validator_stake(
            state, ValidatorStake(v.bls_public_key, v.reward_address, v.power * params.power_unit)
        )
    schedule_validators(state, 1, validators)
    for p in provers:
        set_prover_stake(state, ProverStake(p, 0))
    schedule_provers(state, 1, list(provers))
