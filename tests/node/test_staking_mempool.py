"""The mempool refuses staking transactions that could not apply, naming the chain's reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis

from execution.chain import Chain
from execution.staking import (
    bond_sign,
    build_bond_tx,
    build_unbond_tx,
    build_unregister_prover_tx,
)
from genesis import ValidatorKey
from genesis.params import ETHER
from node.mempool import Mempool, MempoolRejected

ALICE, BOB = account_keys(2)
NEW_VAL, OTHER = ValidatorKey((11).to_bytes(32, "big")), ValidatorKey((12).to_bytes(32, "big"))


def test_bad_staking_transactions_are_refused_with_their_reason(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "chain", make_genesis())
    try:
        pool = Mempool(CHAIN_ID, chain.genesis.params, chain.state, lambda h: False)

        def bond(signature: bytes | None = None, amount: int = ETHER) -> bytes:
            if signature is None:
                return build_bond_tx(
                    ALICE.private_key,
                    chain_id=CHAIN_ID,
                    nonce=0,
                    amount=amount,
                    validator_secret_key=NEW_VAL.secret_key,
                ).raw
            return build_bond_tx(
                ALICE.private_key,
                chain_id=CHAIN_ID,
                nonce=0,
                amount=amount,
                bls_public_key=NEW_VAL.public_key,
                owner_signature=signature,
            ).raw

        cases = {
            # signed for Bob, sent by Alice
            "bad_owner_signature": bond(bond_sign(NEW_VAL.secret_key, CHAIN_ID, BOB.address)),
            "below_min_stake": bond(amount=ETHER // 2),
            "not_validator": build_unbond_tx(
                BOB.private_key, chain_id=CHAIN_ID, nonce=0, bls_public_key=NEW_VAL.public_key
            ).raw,
            "not_prover": build_unregister_prover_tx(
                BOB.private_key, chain_id=CHAIN_ID, nonce=0
            ).raw,
        }
        for reason, raw in cases.items():
            with pytest.raises(MempoolRejected, match=reason):
                pool.add(raw)
        with pytest.raises(MempoolRejected, match="insufficient funds"):
            pool.add(bond(amount=10_000 * ETHER))
        assert pool.add(bond()) is not None
    finally:
        chain.close()
