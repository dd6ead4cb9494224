"""Review of staking (issue 9): attacks on the node's staking paths, each a test that failed
before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.staking import build_bond_tx
from execution.types import Transaction
from execution.types.block import Block
from genesis import GWEI, AccountKey, ValidatorKey
from genesis.keys import write_key_file
from genesis.params import ETHER
from node.config import NodeConfig
from node.mempool import Mempool, MempoolRejected
from node.node import Node

NEW_VAL, OTHER = ValidatorKey((11).to_bytes(32, "big")), ValidatorKey((12).to_bytes(32, "big"))


def test_an_unfunded_bond_is_refused_before_its_pairing_check(tmp_path: Path) -> None:
    """A bond's owner signature costs a pairing (~7 ms); an account with nothing must not
    be able to make a node pay it per transaction: the funds are checked first."""
    chain = Chain.open(tmp_path / "chain", make_genesis())
    try:
        pool = Mempool(CHAIN_ID, chain.genesis.params, chain.state, lambda h: False)
        pauper = AccountKey((987_654).to_bytes(32, "big"))
        assert chain.state().account(pauper.address).balance == 0
        raw = build_bond_tx(
            pauper.private_key,
            chain_id=CHAIN_ID,
            nonce=0,
            amount=ETHER,
            bls_public_key=NEW_VAL.public_key,
            owner_signature=OTHER.proof_of_possession(),  # valid points: a full pairing
        ).raw
        with pytest.raises(MempoolRejected, match="insufficient funds"):
            pool.add(raw)
    finally:
        chain.close()


def test_conflicting_staking_transactions_do_not_empty_the_proposal(tmp_path: Path) -> None:
    """Staking transactions are checked one by one against the head state, so several that
    conflict (here ten accounts bonding the same fresh key) all enter the pool. The proposer
    must still build a block holding the one that applies and the ordinary transactions: before
    the fix each conflict cost a whole re-execution and after 8 the block was empty, so an
    attacker re-submitting free (never included) conflicting bonds kept every block empty."""
    vk, _ = validator_key()
    make_genesis(12).write(tmp_path / "genesis.json")
    write_key_file(tmp_path / "config" / "validator_key.json", vk.to_json())
    node = Node.open(NodeConfig(home=tmp_path))
    try:
        owners = account_keys(12)
        bonds = [
            build_bond_tx(
                owner.private_key,
                chain_id=CHAIN_ID,
                nonce=0,
                amount=ETHER,
                validator_secret_key=NEW_VAL.secret_key,
                max_priority_fee_per_gas=(20 - i) * GWEI,  # the first one goes first
                max_fee_per_gas=30 * GWEI,
            )
            for i, owner in enumerate(owners[:10])
        ]
        transfer = Transaction(
            CHAIN_ID, 0, GWEI, 3 * GWEI, 21_000, owners[11].address, ETHER, b""
        ).sign(owners[10].private_key)
        for tx in [*bonds, transfer]:
            node.mempool.add(tx.raw)
        block = Block.decode(node._get_value(1))
        assert bonds[0].raw in block.transactions and transfer.raw in block.transactions
        assert not any(b.raw in block.transactions for b in bonds[1:])
    finally:
        node.close()
