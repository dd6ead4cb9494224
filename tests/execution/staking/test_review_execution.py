"""Review of staking (issue 9): attacks on the state transition, each a test that failed
before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from consensus import DuplicateVoteEvidence, Vote, VoteType, sign
from execution.chain import Chain
from execution.staking import (
    StakeStatus,
    StakingOp,
    StakingOpKind,
    bond_sign,
    build_bond_tx,
    build_unbond_tx,
    check_staking,
    choose_members,
    stake_keys,
    unbondings,
    validator_stake,
    validators_at,
)
from execution.types import Transaction
from genesis import AccountKey, ProtocolParams, ValidatorKey
from genesis.params import ETHER

ALICE = account_keys(4)[0]
NEW_VAL = ValidatorKey((11).to_bytes(32, "big"))
PARAMS = ProtocolParams(validator_set_delay=2, unbonding_period_blocks=5)


def commit(chain: Chain, *txs: Transaction, evidence: tuple[bytes, ...] = ()) -> None:
    members = validators_at(chain.state(), chain.height + 1)
    block = chain.build_block(
        [t.raw for t in txs],
        members[0].address,
        chain.head.header.time_ms + 1000,
        evidence=evidence,
    )
    chain.commit_block(block)


def nonce(chain: Chain, key: AccountKey) -> int:
    return chain.state().account(key.address).nonce


def double_vote(vk: ValidatorKey, height: int, index: int) -> bytes:
    votes = []
    for block in (b"\xaa" * 32, b"\xbb" * 32):
        v = Vote(CHAIN_ID, height, 0, VoteType.PREVOTE, block, index)
        votes.append(v.with_signature(sign(vk.secret_key, v.sign_bytes())))
    return DuplicateVoteEvidence.create(*votes).encode()


@pytest.fixture
def chain(tmp_path: Path):  # type: ignore[no-untyped-def]
    c = Chain.open(tmp_path / "chain", make_genesis(params=PARAMS))
    yield c
    c.close()


def test_unbonding_then_equivocating_while_still_a_member_is_slashed(chain: Chain) -> None:
    """Funds unbonded at block u still carry voting power in the sets of u .. u + delay - 1:
    a validator that unbonds everything and then equivocates in that window must lose the
    slash fraction from its unbonding funds (before the fix it lost nothing)."""
    commit(
        chain,
        build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce(chain, ALICE),
            amount=4 * ETHER,
            validator_secret_key=NEW_VAL.secret_key,
        ),
    )  # height 1: NEW_VAL index 1 from 3
    commit(chain)
    commit(chain)  # height 3
    commit(
        chain,
        build_unbond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce(chain, ALICE),
            bls_public_key=NEW_VAL.public_key,
        ),
    )  # height 4: leaves the set of 6
    assert NEW_VAL.public_key in [v.bls_public_key for v in validators_at(chain.state(), 5)]
    commit(chain)  # height 5: NEW_VAL (still a member) equivocates here ...
    commit(chain, evidence=(double_vote(NEW_VAL, 5, 1),))  # ... convicted at 6
    cut = 4 * ETHER * PARAMS.double_sign_slash_ppm // 1_000_000
    (entry,) = unbondings(chain.state(), ALICE.address)
    assert entry.amount == 4 * ETHER - cut
    record = validator_stake(chain.state(), NEW_VAL.public_key)
    assert record is not None and record.status is StakeStatus.TOMBSTONED
    assert record.slashed == cut


def test_keys_that_left_are_not_read_again_by_every_bond(chain: Chain) -> None:
    """Each bond's set-full check and each staking block's set choice read the record of every
    key in the candidate index. Keys that fully unbonded (or were tombstoned) must leave it:
    otherwise capital recycled through bond / unbond adds a key per unbonding period forever
    and every later bond costs more (before the fix the index kept every key ever bonded)."""
    genesis_key = validator_key()[0].public_key

    def bond(vk: ValidatorKey) -> Transaction:
        return build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce(chain, ALICE),
            amount=2 * ETHER,
            validator_secret_key=vk.secret_key,
        )

    def unbond(vk: ValidatorKey) -> Transaction:
        return build_unbond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce(chain, ALICE),
            bls_public_key=vk.public_key,
        )

    commit(chain, bond(NEW_VAL))  # height 1
    assert stake_keys(chain.state()) == [genesis_key, NEW_VAL.public_key]
    commit(chain, unbond(NEW_VAL))  # height 2
    assert stake_keys(chain.state()) == [genesis_key]
    commit(chain, bond(NEW_VAL))  # the same owner bonds the key again: a candidate again
    assert stake_keys(chain.state()) == [genesis_key, NEW_VAL.public_key]
    members = [v.bls_public_key for v in choose_members(chain.state(), PARAMS)]
    assert members == [genesis_key, NEW_VAL.public_key]
    while chain.height < 5:
        commit(chain)
    index = [v.bls_public_key for v in validators_at(chain.state(), 5)].index(NEW_VAL.public_key)
    commit(chain, evidence=(double_vote(NEW_VAL, 5, index),))  # height 6: tombstoned
    assert stake_keys(chain.state()) == [genesis_key]
    record = validator_stake(chain.state(), NEW_VAL.public_key)
    assert record is not None and record.status is StakeStatus.TOMBSTONED


def test_a_top_up_bond_does_not_pay_a_pairing_again(chain: Chain) -> None:
    """A bond's owner signature is a pairing (~7 ms) that its gas (a transfer's plus data)
    does not price. It is needed once per key: a top-up of 1 wei to one's own key must not
    check it again, or a block full of such top-ups (~2,500 at 23,500 gas) costs every
    validator ~18 s of pairings. The field is ignored then (here: 96 zero bytes)."""

    def bond(amount: int, signature: bytes) -> Transaction:
        return build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce(chain, ALICE),
            amount=amount,
            bls_public_key=NEW_VAL.public_key,
            owner_signature=signature,
        )

    commit(chain, bond(2 * ETHER, bond_sign(NEW_VAL.secret_key, CHAIN_ID, ALICE.address)))
    commit(chain, bond(1, b"\x00" * 96))
    record = validator_stake(chain.state(), NEW_VAL.public_key)
    assert record is not None and record.stake == 2 * ETHER + 1


class _CountingState:
    """A real State that counts the records read (what a check costs, without timing it)."""

    def __init__(self, state: object) -> None:
        self._state = state
        self.reads = 0

    def record(self, key: bytes) -> bytes | None:
        self.reads += 1
        return self._state.record(key)  # type: ignore[attr-defined, no-any-return]

    def __getattr__(self, name: str) -> object:
        return getattr(self._state, name)


def test_top_ups_and_partial_unbonds_do_not_read_every_bonded_key(tmp_path: Path) -> None:
    """The set-full and last-validator rules chose the whole set (a read of every bonded key,
    ~2.7 ms with 100 validators) for every bond and unbond, at a transfer's gas: a block of
    small top-ups or partial unbonds cost validators seconds. A top-up keeps a bonded key
    bonded and a partial unbond leaves it a candidate, so neither can fill or empty the set:
    those rules are for a key becoming bonded, or leaving, only."""
    owners = account_keys(8)
    vks = [ValidatorKey((100 + i).to_bytes(32, "big")) for i in range(7)]
    chain = Chain.open(tmp_path / "chain", make_genesis(8, params=PARAMS))
    try:
        commit(
            chain,
            *[
                build_bond_tx(
                    k.private_key,
                    chain_id=CHAIN_ID,
                    nonce=0,
                    amount=3 * ETHER,
                    validator_secret_key=v.secret_key,
                )
                for k, v in zip(owners, vks, strict=False)
            ],
        )
        assert len(stake_keys(chain.state())) == 8
        top_up = StakingOp(StakingOpKind.BOND, vks[0].public_key, b"\x00" * 96)
        partial = StakingOp(StakingOpKind.UNBOND, vks[0].public_key, amount=ETHER)
        for op, value in ((top_up, 1), (partial, 0)):
            counting = _CountingState(chain.state())
            check_staking(counting, owners[0].address, op, value, PARAMS, chain_id=CHAIN_ID)  # type: ignore[arg-type]
            assert counting.reads <= 2, op.kind
    finally:
        chain.close()
