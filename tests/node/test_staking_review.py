"""Review of staking (issue 9): attacks on the node's staking paths, each a test that failed
before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, make_genesis

from execution.chain import Chain
from execution.staking import build_bond_tx
from genesis import AccountKey, ValidatorKey
from genesis.params import ETHER
from node.mempool import Mempool, MempoolRejected

NEW_VAL, OTHER = ValidatorKey((11).to_bytes(32, "big")), ValidatorKey((12).to_bytes(32, "big"))


def test_an_unfunded_bond_is_refused_before_its_pairing_check(tmp_path: Path) -> None:
    """A bond's proof of possession costs a pairing (~7 ms); an account with nothing must not
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
            proof_of_possession=OTHER.proof_of_possession(),  # valid points: a full pairing
        ).raw
        with pytest.raises(MempoolRejected, match="insufficient funds"):
            pool.add(raw)
    finally:
        chain.close()
