"""The mempool refuses staking transactions that could not apply, naming the chain's reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis

from execution.chain import Chain
from execution.staking import build_bond_tx, build_unbond_tx, build_unregister_prover_tx
from genesis import ValidatorKey
from genesis.params import ETHER
from node.mempool import Mempool, MempoolRejected

ALICE, BOB = account_keys(2)
NEW_VAL, OTHER = ValidatorKey((11).to_bytes(32, "big")), ValidatorKey((12).to_bytes(32, "big"))


def test_bad_staking_transactions_are_refused_with_their_reason(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "chain", make_genesis())
    try:
        pool = Mempool(CHAIN_ID, chain.genesis.params, chain.state, lambda h: False)

        def bond(pop: bytes, amount: int = ETHER) -> bytes:
            return build_bond_tx(
                ALICE.private_key,
                chain_id=CHAIN_ID,
                nonce=0,
                amount=amount,
                bls_public_key=NEW_VAL.public_key,
                proof_of_possession=pop,
            ).raw

        cases = {
            "bad_proof_of_possession": bond(OTHER.proof_of_possession()),
            "below_min_stake": bond(NEW_VAL.proof_of_possession(), ETHER // 2),
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
            pool.add(bond(NEW_VAL.proof_of_possession(), 10_000 * ETHER))
        assert pool.add(bond(NEW_VAL.proof_of_possession())) is not None
    finally:
        chain.close()
