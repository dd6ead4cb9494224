"""Slashing: double-signing validators (from block evidence) and provers that miss tasks.

Double signing. Consensus verifies every piece of duplicate-vote evidence before a block holding
it can be committed (node: both signatures under the key the set of that height gives the
index). Here the block's evidence is read for (height, validator index) only; the offender's key
is the member at that index of the set of that height (`validators_at`). Its bonded stake loses
`double_sign_slash_ppm` (burned), it is TOMBSTONED (never validates again with that key, and the
owner may only unbond what is left), and the new set without it applies at the usual delay.
Funds that left that stake but still counted in the set of the infraction height (unbonded in
a block after infraction - delay) and are still unbonding lose the same fraction, so unbonding
just before or right after equivocating does not dodge the slash (as long as
unbonding_period_blocks is at least evidence_max_age_blocks + validator_set_delay, which loading
a genesis checks).

Missed tasks. A task of block s is assigned to the registered provers of height s in the order
`rank_provers` gives; the prover ranked j has until s + (j + 1) * prover_timeout_blocks before
the next in line starts. When a block accepts a task's proof from the prover ranked k (or from
an unregistered prover), each prover ranked j < k whose window had closed by this block
(height >= s + (j + 1) * timeout) missed the task: it loses `prover_miss_slash_ppm` of its prover
stake and its miss count grows; at `prover_max_misses` it is unregistered (its stake unbonds).
A prover that unregistered after the task was assigned to it is charged the miss from the
stake it took out while that is still locked (else leaving once its window closed would dodge
every miss).
Invalid proofs. Provers sign their proofs (execution.staking.proof_envelope), so a signed proof
that fails verification convicts its signer: execution.staking.proof_evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import rusty_rlp

from execution.staking.assignment import rank_provers
from execution.staking.proof_evidence import is_proof_evidence
from execution.staking.records import (
    ProverStake,
    ProverStatus,
    StakeStatus,
    prover_stake,
    provers_at,
    set_prover_stake,
    set_unbondings,
    set_validator_stake,
    unbondings,
    validator_stake,
    validators_at,
)
from execution.state import State, Task
from execution.types.errors import InvalidBlock
from genesis.params import ProtocolParams

PPM = 1_000_000


def evidence_offender(raw: bytes) -> tuple[int, int]:
    """(height, validator index) of duplicate-vote evidence `rlp([vote_a, vote_b])`, a vote
    being `[chain_id, height, round, type, block_hash, validator_index, signature]`
    (consensus/messages.py; consensus checked the rest). InvalidBlock if it is not that shape."""
    try:
        items = rusty_rlp.decode_raw(raw, True, False)[0]
    except rusty_rlp.DecodingError as exc:
        raise InvalidBlock("invalid_evidence", f"undecodable: {exc}") from exc
    if (
        not isinstance(items, list)
        or len(items) != 2
        or not all(isinstance(v, list) and len(v) == 7 for v in items)
    ):
        raise InvalidBlock("invalid_evidence", "not two votes")
    a, b = items
    fields = (a[1], a[5], b[1], b[5])
    if not all(isinstance(f, bytes) and len(f) <= 8 and f[:1] != b"\x00" for f in fields):
        raise InvalidBlock("invalid_evidence", "bad height or validator index")
    height, index, height_b, index_b = (int.from_bytes(f, "big") for f in fields)  # type: ignore[arg-type]
    if (height, index) != (height_b, index_b):
        raise InvalidBlock("invalid_evidence", "the votes are of two validators or heights")
    return height, index


def slash_double_signs(
    state: State, evidence: Sequence[bytes], height: int, params: ProtocolParams
) -> list[bytes]:
    """Slash and tombstone the validators the block's duplicate-vote evidence convicts; return
    their keys. Invalid-proof evidence (execution.staking.proof_evidence) is judged there."""
    slashed = []
    for i, raw in enumerate(evidence):
        if is_proof_evidence(raw):
            continue
        ev_height, index = evidence_offender(raw)
        if not 1 <= ev_height < height:
            raise InvalidBlock("invalid_evidence", f"#{i}: height {ev_height}")
        members = validators_at(state, ev_height)
        if index >= len(members):
            raise InvalidBlock("invalid_evidence", f"#{i}: validator index {index}")
        key = members[index].bls_public_key
        record = validator_stake(state, key)
        if record is None or record.status is StakeStatus.TOMBSTONED:
            continue  # a second piece of evidence for the same offender takes nothing more
        cut = record.stake * params.double_sign_slash_ppm // PPM
        left = _slash_unbonding(state, record.owner, key, ev_height, params)
        set_validator_stake(
            state,
            replace(
                record,
                stake=record.stake - cut,
                status=StakeStatus.TOMBSTONED,
                slashed=record.slashed + cut + left,
            ),
        )
        slashed.append(key)
    return slashed


def _slash_unbonding(
    state: State, owner: bytes, key: bytes, infraction: int, params: ProtocolParams
) -> int:
    """Cut the funds that left `key`'s stake and still counted in the set of the infraction
    height, and are still locked: leaving cannot dodge the slash. Returns the total cut.

    Funds unbonded in block u (u = release - period) still carry power in the sets of heights
    up to u + delay - 1 (the set of h follows the state after h - delay), so an unbond of u
    counted at the infraction height h iff u + delay > h; cutting only u >= h would let a
    validator unbond everything and then equivocate for free during the delay."""
    entries = unbondings(state, owner)
    total = 0
    out = []
    for e in entries:
        unbonded_at = e.release_height - params.unbonding_period_blocks
        if e.bls_public_key == key and unbonded_at + params.validator_set_delay > infraction:
            cut = e.amount * params.double_sign_slash_ppm // PPM
            total += cut
            e = replace(e, amount=e.amount - cut)
        out.append(e)
    if total:
        set_unbondings(state, owner, out)
    return total


def charge_missed(
    state: State,
    task: Task,
    prover: bytes,
    height: int,
    task_block_hash: bytes | None,
    params: ProtocolParams,
) -> list[bytes]:
    """Charge a miss to every prover ahead of `prover` in `task`'s order whose window closed
    by `height`; return the provers that left the set for too many misses."""
    registered = provers_at(state, task.submitted_height)
    if not registered or task_block_hash is None:
        return []
    order = rank_provers(task_block_hash, task.task_id, registered)
    rank = order.index(prover) if prover in order else len(order)
    removed = []
    for j, missed in enumerate(order[:rank]):
        if height < task.submitted_height + (j + 1) * params.prover_timeout_blocks:
            break  # this one's window (and every later one's) was still open
        record = prover_stake(state, missed)
        if record is None:
            continue
        if record.status is not ProverStatus.REGISTERED:
            # It left after the task was assigned to it: the miss is cut from the stake it
            # took out, or unregistering once the window closed would dodge every miss.
            _charge_unbonding(state, record, task.submitted_height, params)
        elif _charge(state, record, params):
            removed.append(missed)
    return removed


def _charge_unbonding(
    state: State, record: ProverStake, task_height: int, params: ProtocolParams
) -> None:
    """Slash one miss from the prover stake that left at or after `task_height` (the prover
    was in that task's set, so it left in block task_height or later) and is still locked."""
    out = []
    total = 0
    for e in unbondings(state, record.address):
        unbonded_at = e.release_height - params.unbonding_period_blocks
        if not e.bls_public_key and unbonded_at >= task_height:
            cut = e.amount * params.prover_miss_slash_ppm // PPM
            total += cut
            e = replace(e, amount=e.amount - cut)
        out.append(e)
    if total:
        set_unbondings(state, record.address, out)
    set_prover_stake(
        state, replace(record, slashed=record.slashed + total, misses=record.misses + 1)
    )


def _charge(state: State, record: ProverStake, params: ProtocolParams) -> bool:
    """Slash one miss; True if the prover has now missed too often to stay registered."""
    cut = record.stake * params.prover_miss_slash_ppm // PPM
    record = replace(
        record, stake=record.stake - cut, slashed=record.slashed + cut, misses=record.misses + 1
    )
    set_prover_stake(state, record)
    return record.misses >= params.prover_max_misses
