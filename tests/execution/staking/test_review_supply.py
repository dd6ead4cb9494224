"""Review of staking (issue 9): seeded random staking histories keep the supply invariant

    genesis supply = balances + bonded + unbonding + prover stakes + slashed + burned base fees

after every block, and replay to the same state roots on a second chain."""

from __future__ import annotations

import random
from pathlib import Path

from chain_helpers import CHAIN_ID, REWARD_KEY, account_keys, make_genesis, validator_key

from consensus import DuplicateVoteEvidence, Vote, VoteType, sign
from execution.chain import Chain
from execution.staking import (
    build_bond_tx,
    build_register_prover_tx,
    build_unbond_tx,
    build_unregister_prover_tx,
    prover_stake,
    unbondings,
    validator_stake,
    validators_at,
)
from execution.state import State
from execution.types import InvalidBlock, Transaction
from genesis import ProtocolParams, ValidatorKey
from genesis.params import ETHER

OWNERS = account_keys(4)
KEYS = [ValidatorKey((200 + i).to_bytes(32, "big")) for i in range(4)]
GENESIS_KEY = validator_key()[0]
PARAMS = ProtocolParams(validator_set_delay=2, unbonding_period_blocks=6, max_validators=3)
ACCOUNTS = [*[k.address for k in OWNERS], REWARD_KEY.address]
SUPPLY = 4 * 1000 * ETHER + 10 * ETHER  # make_genesis balances + the genesis validator's stake


def _double_vote(vk: ValidatorKey, height: int, index: int) -> bytes:
    votes = []
    for block in (b"\xaa" * 32, b"\xbb" * 32):
        v = Vote(CHAIN_ID, height, 0, VoteType.PREVOTE, block, index)
        votes.append(v.with_signature(sign(vk.secret_key, v.sign_bytes())))
    return DuplicateVoteEvidence.create(*votes).encode()


def _held(state: State) -> int:
    total = sum(state.account(a).balance for a in ACCOUNTS)
    for vk in [*KEYS, GENESIS_KEY]:
        record = validator_stake(state, vk.public_key)
        if record is not None:
            total += record.stake + record.slashed
    for a in ACCOUNTS:
        total += sum(e.amount for e in unbondings(state, a))
        prover = prover_stake(state, a)
        if prover is not None:
            total += prover.stake + prover.slashed
    return total


def _random_tx(rng: random.Random, chain: Chain) -> Transaction:
    i = rng.randrange(4)
    owner, vk = OWNERS[i], KEYS[i]
    nonce = chain.state().account(owner.address).nonce
    kind = rng.randrange(5)
    if kind == 0:
        return build_bond_tx(
            owner.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce,
            amount=rng.choice([1, ETHER, 2 * ETHER, 3 * ETHER]),
            validator_secret_key=vk.secret_key,
        )
    if kind == 1:
        return build_unbond_tx(
            owner.private_key,
            chain_id=CHAIN_ID,
            nonce=nonce,
            bls_public_key=vk.public_key,
            amount=rng.choice([0, ETHER, 1]),
        )
    if kind == 2:
        amount = rng.choice([ETHER // 10, ETHER])
        return build_register_prover_tx(
            owner.private_key, chain_id=CHAIN_ID, nonce=nonce, amount=amount
        )
    if kind == 3:
        return build_unregister_prover_tx(owner.private_key, chain_id=CHAIN_ID, nonce=nonce)
    return build_bond_tx(  # another owner's key: duplicate_key unless it is not bonded yet
        OWNERS[(i + 1) % 4].private_key,
        chain_id=CHAIN_ID,
        nonce=chain.state().account(OWNERS[(i + 1) % 4].address).nonce,
        amount=2 * ETHER,
        validator_secret_key=vk.secret_key,
    )


def test_random_staking_histories_keep_the_supply_and_replay(tmp_path: Path) -> None:
    rng = random.Random(9)
    genesis = make_genesis(params=PARAMS)
    a = Chain.open(tmp_path / "a", genesis)
    b = Chain.open(tmp_path / "b", genesis)
    try:
        burned = 0
        for _ in range(60):
            height = a.height + 1
            members = validators_at(a.state(), height)
            evidence: tuple[bytes, ...] = ()
            if a.height >= 2 and rng.random() < 0.15:
                h = a.height
                past = validators_at(a.state(), h)
                j = rng.randrange(len(past))
                vk = next(k for k in [*KEYS, GENESIS_KEY] if k.public_key == past[j].bls_public_key)
                evidence = (_double_vote(vk, h, j),)
            time_ms = a.head.header.time_ms + 1000
            block = a.build_block([], members[0].address, time_ms, evidence=evidence)
            for _ in range(rng.randrange(1, 4)):  # keep each random transaction that applies
                tx = _random_tx(rng, a)  # nonces from the head: one per owner and block
                if any(Transaction.decode(raw).sender == tx.sender for raw in block.transactions):
                    continue
                try:
                    block = a.build_block(
                        [*block.transactions, tx.raw],
                        members[0].address,
                        time_ms,
                        evidence=evidence,
                    )
                except InvalidBlock:
                    continue
            receipts = a.commit_block(block)
            burned += sum(r.gas_used for r in receipts) * PARAMS.base_fee_per_gas
            b.commit_block(block)
            assert b.head.header.state_root == block.header.state_root
            assert _held(a.state()) + burned == SUPPLY, f"height {a.height}"
    finally:
        a.close()
        b.close()
