"""The ChainView contract, as one suite that runs against every implementation.

The RPC server relies on what `node/rpc/chain_view.py` promises (block numbers and hashes agree,
a raw transaction's hash is keccak of its bytes, `height=None` is the pending state, proofs
verify against the block's state root...). Today the only implementation is the in-memory
`FakeChain`; the node's real view joins by adding a driver to `DRIVERS` below: an object with
`view`, `funded_key` (a funded account's private key) and `async commit_block()` (commits a
block holding the mempool's transactions).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import pytest
import rlp
import sha3
from eth_account import Account
from trie import HexaryTrie

from node.rpc import ChainView, RpcBlock, TransactionRejected


class ChainDriver(Protocol):
    view: ChainView
    funded_key: bytes

    async def commit_block(self) -> None: ...


class FakeDriver:
    def __init__(self, chain: Any) -> None:
        self.view = chain
        self.chain = chain
        self.funded_key = b"\x01" * 32

    async def commit_block(self) -> None:
        self.chain.commit_block()


DRIVERS: dict[str, Callable[[Any], Awaitable[ChainDriver]]] = {}


async def _fake(chain: Any) -> ChainDriver:
    return FakeDriver(chain)


DRIVERS["fake"] = _fake


@pytest.fixture(params=sorted(DRIVERS))
async def driver(request: pytest.FixtureRequest, chain: Any) -> ChainDriver:
    return await DRIVERS[request.param](chain)


def keccak(data: bytes) -> bytes:
    return sha3.keccak_256(data).digest()


RECIPIENT = bytes.fromhex("55" * 20)


async def sign_transfer(view: ChainView, key: bytes, value: int, nonce: int | None = None) -> bytes:
    sender = bytes.fromhex(Account.from_key(key).address[2:])
    head = await view.block_by_number(await view.head_height(), False)
    assert head is not None
    tip = await view.suggested_priority_fee()
    tx = {
        "type": 2,
        "chainId": await view.chain_id(),
        "nonce": await view.nonce(sender, None) if nonce is None else nonce,
        "to": "0x" + RECIPIENT.hex(),
        "value": value,
        "gas": 21_000,
        "maxFeePerGas": 2 * head.base_fee_per_gas + tip,
        "maxPriorityFeePerGas": tip,
        "data": b"",
    }
    raw: bytes = Account.sign_transaction(tx, key).raw_transaction
    return bytes(raw)


def check_block_shape(block: RpcBlock, number: int) -> None:
    assert block.number == number
    for root in (
        block.hash,
        block.parent_hash,
        block.state_root,
        block.transactions_root,
        block.receipts_root,
    ):
        assert len(root) == 32
    assert len(block.proposer) == 20
    assert block.size > 0
    assert all(len(h) == 32 for h in block.transaction_hashes)


async def test_blocks_are_consistent(driver: ChainDriver) -> None:
    view = driver.view
    await driver.commit_block()
    head = await view.head_height()
    assert head >= 1
    assert await view.block_by_number(head + 1, False) is None
    assert await view.block_by_hash(b"\x00" * 32, False) is None
    previous: RpcBlock | None = None
    for number in range(head + 1):
        block = await view.block_by_number(number, False)
        assert block is not None
        check_block_shape(block, number)
        assert block.transactions is None
        by_hash = await view.block_by_hash(block.hash, False)
        assert by_hash == block
        if previous is not None:
            assert block.parent_hash == previous.hash
            assert block.timestamp >= previous.timestamp
        previous = block


async def test_transaction_lifecycle(driver: ChainDriver) -> None:
    view = driver.view
    sender = bytes.fromhex(Account.from_key(driver.funded_key).address[2:])
    start = await view.head_height()
    nonce = await view.nonce(sender, start)
    recipient_before = await view.balance(RECIPIENT, start)

    raw = await sign_transfer(view, driver.funded_key, 777)
    tx_hash = await view.send_raw_transaction(raw)
    assert tx_hash == keccak(raw)
    with pytest.raises(TransactionRejected):
        await view.send_raw_transaction(raw)  # already known
    pending = await view.transaction_by_hash(tx_hash)
    assert pending is not None and pending.block_number is None and pending.block_hash is None
    assert pending.sender == sender and pending.to == RECIPIENT and pending.value == 777
    assert await view.receipt_by_hash(tx_hash) is None
    assert await view.nonce(sender, None) == nonce + 1
    assert await view.nonce(sender, start) == nonce

    await driver.commit_block()
    head = await view.head_height()
    receipt = await view.receipt_by_hash(tx_hash)
    assert receipt is not None and receipt.success
    block = await view.block_by_number(receipt.block_number, True)
    assert block is not None and block.hash == receipt.block_hash
    assert block.transaction_hashes[receipt.transaction_index] == tx_hash
    assert block.transactions is not None
    assert [tx.hash for tx in block.transactions] == list(block.transaction_hashes)
    mined = await view.transaction_by_hash(tx_hash)
    assert mined is not None
    assert (mined.block_number, mined.block_hash, mined.transaction_index) == (
        receipt.block_number,
        receipt.block_hash,
        receipt.transaction_index,
    )
    assert await view.nonce(sender, head) == nonce + 1
    assert await view.balance(RECIPIENT, head) == recipient_before + 777
    assert await view.balance(RECIPIENT, start) == recipient_before  # history is kept


async def test_bad_transactions_are_rejected_not_crashes(driver: ChainDriver) -> None:
    view = driver.view
    stale = await sign_transfer(view, driver.funded_key, 1)
    await view.send_raw_transaction(stale)
    await driver.commit_block()
    replay = await sign_transfer(view, driver.funded_key, 2, nonce=0)
    for raw in (replay, b"\x02", b"\x02\xc0", b"\xff" * 10, stale[:-3]):
        with pytest.raises(TransactionRejected):
            await view.send_raw_transaction(raw)


async def test_account_proof_verifies(driver: ChainDriver) -> None:
    view = driver.view
    sender = bytes.fromhex(Account.from_key(driver.funded_key).address[2:])
    head = await view.head_height()
    block = await view.block_by_number(head, False)
    assert block is not None
    for address in (sender, b"\x99" * 20):
        proof = await view.account_proof(address, head)
        assert proof.address == address
        assert proof.balance == await view.balance(address, head)
        assert proof.nonce == await view.nonce(address, head)
        nodes = [rlp.decode(node) for node in proof.proof]
        leaf = HexaryTrie.get_from_proof(block.state_root, keccak(address), nodes)
        expected = rlp.encode([proof.nonce, proof.balance, proof.storage_hash, proof.code_hash])
        if proof.balance == 0 and proof.nonce == 0:
            assert leaf in (b"", expected)  # absent, or present and empty
        else:
            assert leaf == expected


async def test_node_facts(driver: ChainDriver) -> None:
    view = driver.view
    assert await view.chain_id() > 0
    head = await view.head_height()
    validators = await view.validators(head)
    assert validators
    for validator in validators:
        assert len(validator.address) == 20
        assert len(validator.bls_public_key) == 48
        assert validator.voting_power > 0
    for peer in await view.peers():
        assert peer.peer_id
    sync = await view.syncing()
    assert sync.current_block <= sync.highest_block or not sync.syncing
    status = await view.status()
    assert status.node_id
    assert status.validator_address is None or len(status.validator_address) == 20
    assert await view.suggested_priority_fee() >= 0
