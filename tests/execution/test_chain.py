from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import account_keys, make_genesis, validator_key

from execution.chain import Chain, ChainError
from execution.types import Transaction
from genesis import GWEI
from storage import Database, DatabaseLocked, schema

KEYS = account_keys(4)


def _transfer(nonce: int) -> bytes:
    return (
        Transaction(31337, nonce, GWEI, 2 * GWEI, 21_000, KEYS[1].address, 5, b"")
        .sign(KEYS[0].private_key)
        .raw
    )


def test_commit_survives_reopen_with_index_and_receipts(tmp_path: Path) -> None:
    genesis = make_genesis()
    chain = Chain.open(tmp_path / "c", genesis)
    hashes = []
    for i in range(3):
        block = chain.build_block([_transfer(i)], validator_key()[0].address, 2000 + i)
        chain.commit_block(block)
        hashes.append(block.hash)
    root = chain.head.header.state_root
    chain.close()

    chain = Chain.open(tmp_path / "c", genesis)
    try:
        assert chain.height == 3 and chain.head.header.state_root == root
        assert [chain.block_at(h + 1).hash for h in range(3)] == hashes  # type: ignore[union-attr]
        tx_hash = Transaction.decode(_transfer(1)).hash
        assert chain.transaction_location(tx_hash) == (2, 0)
        receipts = chain.receipts(hashes[1])
        assert receipts is not None and receipts[0].tx_hash == tx_hash
        assert chain.state().account(KEYS[0].address).nonce == 3
        # Historical state stays queryable.
        assert chain.state_at(1).account(KEYS[0].address).nonce == 1
        assert (
            chain.state_at(0).account(KEYS[1].address).balance
            < chain.state().account(KEYS[1].address).balance
        )
    finally:
        chain.close()


def test_database_of_another_genesis_is_refused(tmp_path: Path) -> None:
    Chain.open(tmp_path / "c", make_genesis(4)).close()
    with pytest.raises(ChainError, match="another genesis"):
        Chain.open(tmp_path / "c", make_genesis(5))


@pytest.mark.parametrize("stored", [None, (schema.STORAGE_FORMAT - 1).to_bytes(4, "big")])
def test_database_of_another_storage_format_is_refused(
    tmp_path: Path, stored: bytes | None
) -> None:
    genesis = make_genesis(4)
    Chain.open(tmp_path / "c", genesis).close()
    with Database.open(tmp_path / "c") as db, db.batch() as batch:
        if stored is None:
            batch.delete(schema.format_version())
        else:
            batch.put(schema.format_version(), stored)
    written = "an older format" if stored is None else f"format {schema.STORAGE_FORMAT - 1}"
    with pytest.raises(ChainError, match=f"written in {written}; .* delete that folder"):
        Chain.open(tmp_path / "c", genesis)


def test_second_open_in_process_is_refused(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "c", make_genesis())
    try:
        with pytest.raises(DatabaseLocked):
            Chain.open(tmp_path / "c", make_genesis())
    finally:
        chain.close()


def test_validators_and_accounts_in_genesis_state(tmp_path: Path) -> None:
    genesis = make_genesis()
    chain = Chain.open(tmp_path / "c", genesis)
    try:
        (v,) = chain.state().validators()
        assert v.bls_public_key == genesis.validators[0].bls_public_key and v.power == 10
        account, proof = chain.state().prove_account(KEYS[0].address)
        assert account.balance == genesis.accounts[0].balance and proof
    finally:
        chain.close()


def test_commit_certificate_is_stored_with_its_block(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "c", make_genesis())
    try:
        block = chain.build_block([_transfer(0)], validator_key()[0].address, 2000)
        chain.commit_block(block, commit=b"certificate-bytes")
        assert chain.commit_at(1) == b"certificate-bytes" and chain.commit_at(2) is None
        nxt = chain.build_block([_transfer(1)], validator_key()[0].address, 3000)
        chain.check_block(nxt)  # checking writes nothing
        assert chain.height == 1
    finally:
        chain.close()


def test_checked_proposal_is_executed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import execution.chain as chain_module

    chain = Chain.open(tmp_path / "c", make_genesis())
    proposer = Chain.open(tmp_path / "p", make_genesis())
    try:
        block = proposer.build_block([_transfer(0)], validator_key()[0].address, 2000)
        calls = []
        real = chain_module.apply_block
        monkeypatch.setattr(
            chain_module, "apply_block", lambda *a, **k: calls.append(1) or real(*a, **k)
        )
        chain.check_block(block)
        chain.commit_block(block)
        assert calls == [1] and chain.height == 1
        assert chain.state().account(KEYS[0].address).nonce == 1
    finally:
        chain.close()
        proposer.close()


def test_missing_state_root_node_is_reported(tmp_path: Path) -> None:
    from storage import Database, schema

    genesis = make_genesis()
    chain = Chain.open(tmp_path / "c", genesis)
    chain.commit_block(chain.build_block([_transfer(0)], validator_key()[0].address, 2000))
    root = chain.head.header.state_root
    chain.close()
    with Database.open(tmp_path / "c") as db, db.batch() as batch:
        batch.delete(schema.trie_node(root))
    with pytest.raises(ChainError, match="missing or damaged"):
        Chain.open(tmp_path / "c", genesis)


def test_genesis_proof_parameters_must_be_the_named_profiles(tmp_path: Path) -> None:
    from dataclasses import replace

    from genesis import ProofParams, ProtocolParams

    for params in (
        ProofParams(num_queries=20),
        ProofParams(profile="proven"),
        ProofParams(grinding_bits=0),
    ):
        genesis = make_genesis(params=ProtocolParams(proof=params))
        with pytest.raises(ChainError, match=r"params\.proof\."):
            Chain.open(tmp_path / "c", genesis)
    proven = ProofParams(profile="proven", num_queries=124)
    Chain.open(
        tmp_path / "ok", replace(make_genesis(), params=ProtocolParams(proof=proven))
    ).close()
