"""Staking in the state transition: bonds, unbonds, provers, slashing, sets at a delay."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, REWARD_KEY, account_keys, make_genesis, validator_key

from consensus import DuplicateVoteEvidence, Vote, VoteType, sign
from execution.chain import Chain
from execution.staking import (
    StakeStatus,
    StakingOp,
    StakingOpKind,
    build_bond_tx,
    build_register_prover_tx,
    build_unbond_tx,
    build_unregister_prover_tx,
    prover_stake,
    provers_at,
    unbondings,
    validator_stake,
    validators_at,
)
from execution.types import InvalidBlock, InvalidTransaction, Transaction, TxKind
from genesis import GWEI, AccountKey, Genesis, GenesisError, ProtocolParams, ValidatorKey
from genesis.params import ETHER

KEYS = account_keys(4)
ALICE, BOB, CAROL = KEYS[0], KEYS[1], KEYS[2]
NEW_VAL = ValidatorKey((11).to_bytes(32, "big"))
OTHER_VAL = ValidatorKey((12).to_bytes(32, "big"))
PARAMS = ProtocolParams(validator_set_delay=2, unbonding_period_blocks=5)


def commit(chain: Chain, *txs: Transaction | bytes, evidence: tuple[bytes, ...] = ()) -> list:  # type: ignore[type-arg]
    raws = [t if isinstance(t, bytes) else t.raw for t in txs]
    members = validators_at(chain.state(), chain.height + 1)
    block = chain.build_block(
        raws, members[0].address, chain.head.header.time_ms + 1000, evidence=evidence
    )
    return chain.commit_block(block)


def nonce(chain: Chain, key: AccountKey) -> int:
    return chain.state().account(key.address).nonce


def bond(
    chain: Chain, key: AccountKey, vk: ValidatorKey, amount: int, signature: bytes | None = None
) -> Transaction:
    if signature is None:
        return build_bond_tx(
            key.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce(chain, key),
            amount=amount,
            validator_secret_key=vk.secret_key,
        )
    return build_bond_tx(
        key.private_key,
        chain_id=CHAIN_ID,
        nonce=nonce(chain, key),
        amount=amount,
        bls_public_key=vk.public_key,
        owner_signature=signature,
    )


def fund(chain: Chain, to: bytes) -> Transaction:
    return Transaction(CHAIN_ID, nonce(chain, BOB), GWEI, 3 * GWEI, 21_000, to, ETHER, b"").sign(
        BOB.private_key
    )


def unbond(chain: Chain, key: AccountKey, vk_public: bytes, amount: int = 0) -> Transaction:
    return build_unbond_tx(
        key.private_key,
        chain_id=CHAIN_ID,
        nonce=nonce(chain, key),
        bls_public_key=vk_public,
        amount=amount,
    )


@pytest.fixture
def chain(tmp_path: Path):  # type: ignore[no-untyped-def]
    c = Chain.open(tmp_path / "chain", make_genesis(params=PARAMS))
    yield c
    c.close()


def keys_at(chain: Chain, height: int) -> list[bytes]:
    return [v.bls_public_key for v in validators_at(chain.state(), height)]


def test_payload_round_trip_and_kind() -> None:
    op = StakingOp(StakingOpKind.UNBOND, b"\x01" * 48, amount=5)
    assert StakingOp.decode(op.encode()) == op
    tx = Transaction.decode(bond(_FakeChain(), ALICE, NEW_VAL, ETHER).raw)
    assert tx.kind is TxKind.STAKE and tx.staking_op.kind is StakingOpKind.BOND
    for bad in (b"", b"\xc0", bytes.fromhex("c109"), bytes.fromhex("c20100")):
        with pytest.raises(InvalidTransaction) as exc:
            StakingOp.decode(bad)
        assert exc.value.reason == "malformed_data"


class _FakeChain:
    """Only what `bond` reads, for building a transaction without a database."""

    def state(self):  # type: ignore[no-untyped-def]
        class _S:
            def account(self, address: bytes):  # type: ignore[no-untyped-def]
                class _A:
                    nonce = 0

                return _A()

        return _S()


def test_genesis_validator_is_bonded_and_owned_by_its_reward_address(chain: Chain) -> None:
    vk = validator_key()[0]
    record = validator_stake(chain.state(), vk.public_key)
    assert record is not None
    assert record.owner == REWARD_KEY.address and record.stake == 10 * PARAMS.power_unit
    assert keys_at(chain, 1) == [vk.public_key]


def test_bond_joins_the_set_after_the_delay_with_power_of_its_stake(chain: Chain) -> None:
    commit(chain)  # height 1
    before = chain.state().account(ALICE.address).balance
    (receipt,) = commit(chain, bond(chain, ALICE, NEW_VAL, 7 * ETHER + ETHER // 2))  # height 2
    assert receipt.kind == TxKind.STAKE
    assert (
        chain.state().account(ALICE.address).balance
        == before - 7 * ETHER - ETHER // 2 - receipt.fee_paid
    )
    assert NEW_VAL.public_key not in keys_at(chain, 3)
    members = validators_at(chain.state(), 4)  # 2 + delay
    assert [v.bls_public_key for v in members] == [
        validator_key()[0].public_key,
        NEW_VAL.public_key,
    ]
    assert members[1].power == 7 and members[1].reward_address == ALICE.address
    # The newcomer may propose from height 4 on, not before.
    with pytest.raises(InvalidBlock, match="unknown_proposer"):
        chain.build_block([], NEW_VAL.address, chain.head.header.time_ms + 1000)
    commit(chain)  # height 3
    block = chain.build_block([], NEW_VAL.address, chain.head.header.time_ms + 1000)
    chain.commit_block(block)
    assert chain.height == 4


def _reason(chain: Chain, tx: Transaction) -> str:
    with pytest.raises(InvalidBlock) as exc:
        commit(chain, tx)
    return exc.value.detail.split(":")[1].strip()


def test_bad_staking_transactions_are_refused_by_name(tmp_path: Path) -> None:
    params = ProtocolParams(validator_set_delay=1, max_validators=2, min_prover_stake=ETHER)
    chain = Chain.open(tmp_path / "c", make_genesis(params=params))
    try:
        # the key's proof of possession is not a bond signature (another tag, another message)
        assert (
            _reason(chain, bond(chain, ALICE, NEW_VAL, ETHER, NEW_VAL.proof_of_possession()))
            == "bad_owner_signature"
        )
        assert _reason(chain, bond(chain, ALICE, NEW_VAL, 10_000 * ETHER)) == "insufficient_balance"
        assert _reason(chain, bond(chain, ALICE, NEW_VAL, ETHER // 2)) == "below_min_stake"
        commit(chain, bond(chain, ALICE, NEW_VAL, 2 * ETHER))
        assert _reason(chain, bond(chain, BOB, NEW_VAL, 2 * ETHER)) == "duplicate_key"
        # two members already (max 2): a smaller stake cannot displace the smallest
        assert _reason(chain, bond(chain, BOB, OTHER_VAL, ETHER)) == "validator_set_full"
        assert _reason(chain, unbond(chain, BOB, NEW_VAL.public_key)) == "not_validator"
        assert _reason(chain, unbond(chain, ALICE, OTHER_VAL.public_key)) == "not_validator"
        assert (
            _reason(chain, unbond(chain, ALICE, NEW_VAL.public_key, 3 * ETHER))
            == "unbond_exceeds_stake"
        )
        assert (
            _reason(chain, unbond(chain, ALICE, NEW_VAL.public_key, ETHER + 1)) == "below_min_stake"
        )
        register = build_register_prover_tx(
            CAROL.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER // 2
        )
        assert _reason(chain, register) == "below_min_stake"
        leave = build_unregister_prover_tx(CAROL.private_key, chain_id=CHAIN_ID, nonce=0)
        assert _reason(chain, leave) == "not_prover"
        # a larger stake displaces the smallest member of a full set
        commit(chain, bond(chain, BOB, OTHER_VAL, 20 * ETHER))
        assert keys_at(chain, chain.height + 1) == [
            validator_key()[0].public_key,
            OTHER_VAL.public_key,
        ]
    finally:
        chain.close()


def test_the_last_validator_cannot_leave(chain: Chain) -> None:
    vk = validator_key()[0]
    commit(chain, fund(chain, REWARD_KEY.address))
    assert _reason(chain, unbond(chain, REWARD_KEY, vk.public_key)) == "last_validator"


def test_unbond_leaves_after_the_delay_and_funds_return_after_the_period(chain: Chain) -> None:
    vk = validator_key()[0]
    commit(chain, bond(chain, ALICE, NEW_VAL, 5 * ETHER))  # height 1: NEW_VAL from 3
    commit(chain, fund(chain, REWARD_KEY.address))
    commit(chain)  # height 3
    owner = REWARD_KEY.address
    commit(chain, unbond(chain, REWARD_KEY, vk.public_key))  # height 4
    paid = chain.state().account(owner).balance
    assert vk.public_key in keys_at(chain, 5)
    assert keys_at(chain, 6) == [NEW_VAL.public_key]
    record = validator_stake(chain.state(), vk.public_key)
    assert record is not None and record.stake == 0 and record.status is StakeStatus.UNBONDED
    assert unbondings(chain.state(), owner)[0].release_height == 4 + PARAMS.unbonding_period_blocks
    while chain.height < 8:
        commit(chain)
    assert chain.state().account(owner).balance == paid
    commit(chain)  # height 9: released at the end of this block
    assert chain.state().account(owner).balance == paid + 10 * ETHER
    assert unbondings(chain.state(), owner) == []


def _double_vote(vk: ValidatorKey, height: int, index: int) -> bytes:
    votes = []
    for block in (b"\xaa" * 32, b"\xbb" * 32):
        v = Vote(CHAIN_ID, height, 0, VoteType.PREVOTE, block, index)
        votes.append(v.with_signature(sign(vk.secret_key, v.sign_bytes())))
    return DuplicateVoteEvidence.create(*votes).encode()


def test_equivocation_slashes_tombstones_and_removes_at_the_delay(chain: Chain) -> None:
    commit(chain, bond(chain, ALICE, NEW_VAL, 4 * ETHER))  # height 1: NEW_VAL index 1 from 3
    commit(chain)
    commit(chain)
    commit(chain)  # height 4
    evidence = _double_vote(NEW_VAL, 3, 1)
    commit(chain, evidence=(evidence,))  # height 5
    record = validator_stake(chain.state(), NEW_VAL.public_key)
    assert record is not None and record.status is StakeStatus.TOMBSTONED
    cut = 4 * ETHER * PARAMS.double_sign_slash_ppm // 1_000_000
    assert record.slashed == cut and record.stake == 4 * ETHER - cut
    assert NEW_VAL.public_key in keys_at(chain, 6)
    assert NEW_VAL.public_key not in keys_at(chain, 7)
    # Tombstoned: the key never bonds again; the owner may still take the rest out.
    assert _reason(chain, bond(chain, ALICE, NEW_VAL, ETHER)) == "key_tombstoned"
    commit(chain, unbond(chain, ALICE, NEW_VAL.public_key))
    assert unbondings(chain.state(), ALICE.address)[0].amount == 4 * ETHER - cut


def test_evidence_naming_no_member_makes_the_block_invalid(chain: Chain) -> None:
    commit(chain)
    with pytest.raises(InvalidBlock, match="invalid_evidence"):
        commit(chain, evidence=(_double_vote(NEW_VAL, 1, 5),))
    with pytest.raises(InvalidBlock, match="invalid_evidence"):
        commit(chain, evidence=(b"\x01\x02",))


def test_prover_registration_and_unregistration(chain: Chain) -> None:
    tx = build_register_prover_tx(CAROL.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER)
    commit(chain, tx)  # height 1
    assert provers_at(chain.state(), 1) == []
    assert provers_at(chain.state(), 2) == [CAROL.address]
    record = prover_stake(chain.state(), CAROL.address)
    assert record is not None and record.stake == ETHER
    commit(chain, build_unregister_prover_tx(CAROL.private_key, chain_id=CHAIN_ID, nonce=1))
    assert provers_at(chain.state(), 3) == []
    assert unbondings(chain.state(), CAROL.address)[0].amount == ETHER


def test_two_replays_give_the_same_roots_and_a_reopen_keeps_the_stakes(tmp_path: Path) -> None:
    genesis = make_genesis(params=PARAMS)
    a = Chain.open(tmp_path / "a", genesis)
    b = Chain.open(tmp_path / "b", genesis)
    try:
        commit(a, bond(a, ALICE, NEW_VAL, 3 * ETHER))
        commit(
            a, build_register_prover_tx(CAROL.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER)
        )
        commit(a)
        commit(a, unbond(a, ALICE, NEW_VAL.public_key, ETHER))
        commit(a, evidence=(_double_vote(NEW_VAL, 3, 1),))
        for h in range(1, a.height + 1):
            block = a.block_at(h)
            assert block is not None
            b.commit_block(block)
            assert b.head.header.state_root == block.header.state_root
        root = a.head.header.state_root
    finally:
        a.close()
        b.close()
    reopened = Chain.open(tmp_path / "a", genesis)
    try:
        assert reopened.head.header.state_root == root
        record = validator_stake(reopened.state(), NEW_VAL.public_key)
        assert record is not None and record.status is StakeStatus.TOMBSTONED
        assert keys_at(reopened, reopened.height + 2) == [validator_key()[0].public_key]
        assert provers_at(reopened.state(), reopened.height) == [CAROL.address]
    finally:
        reopened.close()


def test_genesis_must_fit_the_staking_parameters() -> None:
    doc = make_genesis().to_json()
    doc["params"]["min_validator_stake"] = str(11 * ETHER)
    with pytest.raises(GenesisError, match=r"validators\[0\].power"):
        Genesis.from_json(doc, verify_keys=False)
    # A genesis written before staking (no staking parameters) loads with the defaults.
    old = make_genesis().to_json()
    assert "validator_set_delay" not in old["params"]
    assert Genesis.from_json(old, verify_keys=False).params.validator_set_delay == 2


def test_unbonding_right_after_equivocating_does_not_dodge_the_slash(chain: Chain) -> None:
    commit(chain, bond(chain, ALICE, NEW_VAL, 4 * ETHER))  # height 1: NEW_VAL index 1 from 3
    commit(chain)
    commit(chain)  # height 3: NEW_VAL equivocates here
    commit(chain, unbond(chain, ALICE, NEW_VAL.public_key))  # height 4: everything leaves
    (entry,) = unbondings(chain.state(), ALICE.address)
    assert entry.amount == 4 * ETHER and entry.bls_public_key == NEW_VAL.public_key
    commit(chain, evidence=(_double_vote(NEW_VAL, 3, 1),))  # height 5
    cut = 4 * ETHER * PARAMS.double_sign_slash_ppm // 1_000_000
    (entry,) = unbondings(chain.state(), ALICE.address)
    assert entry.amount == 4 * ETHER - cut
    record = validator_stake(chain.state(), NEW_VAL.public_key)
    assert record is not None and record.status is StakeStatus.TOMBSTONED
    assert record.slashed == cut and record.stake == 0
    # What is left is released on time.
    before = chain.state().account(ALICE.address).balance
    while chain.height < 4 + PARAMS.unbonding_period_blocks:
        commit(chain)
    assert chain.state().account(ALICE.address).balance == before + 4 * ETHER - cut
