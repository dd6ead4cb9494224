"""A bond is signed by its key for its owner and chain: it cannot be front-run (review finding).

Before the fix a bond carried the key and its proof of possession, which signs only the key:
anyone could copy both from the mempool, bond the key first with a higher tip, and own it for
good (the victim's bond then failed `duplicate_key`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis

from consensus import sign
from execution.chain import Chain
from execution.staking import (
    bond_message,
    bond_sign,
    bond_verify,
    build_bond_tx,
    build_staking_tx,
    validator_stake,
    validators_at,
)
from execution.types import InvalidBlock, Transaction
from genesis import AccountKey, ProtocolParams, ValidatorKey
from genesis.params import GWEI
from node.mempool import Mempool, MempoolRejected

ALICE, MALLORY = account_keys(4)[0], account_keys(4)[1]
NEW_VAL, OTHER_VAL = ValidatorKey((11).to_bytes(32, "big")), ValidatorKey((12).to_bytes(32, "big"))
STAKE = 2 * 10**18
PARAMS = ProtocolParams(validator_set_delay=2, unbonding_period_blocks=5)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.open(tmp_path / "chain", make_genesis(params=PARAMS))
    yield c
    c.close()


def commit(chain: Chain, *txs: Transaction) -> None:
    proposer = validators_at(chain.state(), chain.height + 1)[0].address
    chain.commit_block(
        chain.build_block([t.raw for t in txs], proposer, chain.head.header.time_ms + 1000)
    )


def reason(chain: Chain, tx: Transaction) -> str:
    with pytest.raises(InvalidBlock) as exc:
        commit(chain, tx)
    return exc.value.detail.split(":")[1].strip()


def honest_bond(chain: Chain, owner: AccountKey = ALICE) -> Transaction:
    return build_bond_tx(
        owner.private_key,
        chain_id=CHAIN_ID,
        nonce=chain.state().account(owner.address).nonce,
        amount=STAKE,
        validator_secret_key=NEW_VAL.secret_key,
    )


def copied_by_mallory(chain: Chain, victim: Transaction) -> Transaction:
    """The victim's payload byte for byte (key and signature), sent by Mallory with a higher tip."""
    return build_staking_tx(
        MALLORY.private_key,
        victim.staking_op,
        chain_id=CHAIN_ID,
        nonce=chain.state().account(MALLORY.address).nonce,
        value=STAKE,
        max_fee_per_gas=50 * GWEI,
        max_priority_fee_per_gas=40 * GWEI,
    )


def test_a_copied_bond_is_refused_and_the_honest_one_still_bonds(chain: Chain) -> None:
    victim = honest_bond(chain)
    attack = copied_by_mallory(chain, victim)
    # Mallory's copy is refused by the mempool (head state) and inside a block, by name.
    pool = Mempool(CHAIN_ID, chain.genesis.params, chain.state, lambda h: False)
    with pytest.raises(MempoolRejected, match="bad_owner_signature"):
        pool.add(attack.raw)
    assert reason(chain, attack) == "bad_owner_signature"
    # Proposed first in the same block, the copy makes the block invalid; the victim's bond,
    # alone, applies and the key is Alice's.
    with pytest.raises(InvalidBlock, match="bad_owner_signature"):
        commit(chain, attack, victim)
    commit(chain, victim)
    record = validator_stake(chain.state(), NEW_VAL.public_key)
    assert record is not None and record.owner == ALICE.address and record.stake == STAKE


def test_a_signature_for_another_chain_or_owner_or_key_is_refused(chain: Chain) -> None:
    def bond(signature: bytes, key: ValidatorKey = NEW_VAL) -> Transaction:
        return build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=0,
            amount=STAKE,
            bls_public_key=key.public_key,
            owner_signature=signature,
        )

    forgeries = {
        "another chain id": bond(bond_sign(NEW_VAL.secret_key, CHAIN_ID + 1, ALICE.address)),
        "another owner": bond(bond_sign(NEW_VAL.secret_key, CHAIN_ID, MALLORY.address)),
        "another key's signature": bond(bond_sign(OTHER_VAL.secret_key, CHAIN_ID, ALICE.address)),
        # The same message signed under the vote tag: the tags keep the two apart.
        "vote tag": bond(
            sign(NEW_VAL.secret_key, bond_message(CHAIN_ID, ALICE.address, NEW_VAL.public_key))
        ),
        "the proof of possession": bond(NEW_VAL.proof_of_possession()),
        "not a point": bond(b"\xff" * 96),
    }
    for what, tx in forgeries.items():
        assert reason(chain, tx) == "bad_owner_signature", what
    commit(chain, bond(bond_sign(NEW_VAL.secret_key, CHAIN_ID, ALICE.address)))
    assert validator_stake(chain.state(), NEW_VAL.public_key) is not None


def test_bond_verify_refuses_every_tampered_field() -> None:
    sig = bond_sign(NEW_VAL.secret_key, CHAIN_ID, ALICE.address)
    assert bond_verify(NEW_VAL.public_key, CHAIN_ID, ALICE.address, sig)
    assert not bond_verify(OTHER_VAL.public_key, CHAIN_ID, ALICE.address, sig)
    assert not bond_verify(NEW_VAL.public_key, CHAIN_ID + 1, ALICE.address, sig)
    assert not bond_verify(NEW_VAL.public_key, CHAIN_ID, MALLORY.address, sig)
    assert not bond_verify(NEW_VAL.public_key, CHAIN_ID, ALICE.address[:19], sig)
    assert not bond_verify(NEW_VAL.public_key, 1 << 64, ALICE.address, sig)
    assert not bond_verify(NEW_VAL.public_key[:47], CHAIN_ID, ALICE.address, sig)
    for i in (0, 50, 95):
        flipped = bytearray(sig)
        flipped[i] ^= 1
        assert not bond_verify(NEW_VAL.public_key, CHAIN_ID, ALICE.address, bytes(flipped))
