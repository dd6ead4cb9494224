"""web3.py itself against a real `ivcnet node start` process: the calls a wallet or script makes.

web3.py's result formatters are strict (field names, hex quantities, null versus missing), so
this catches incompatibilities a hand-written JSON-RPC client would not.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import rlp
import sha3
from eth_account import Account
from trie import HexaryTrie
from web3 import AsyncHTTPProvider, AsyncWeb3, Web3
from web3.exceptions import BlockNotFound, MethodUnavailable, TransactionNotFound, Web3RPCError
from web3.middleware import SignAndSendRawMiddlewareBuilder

RECIPIENT = Web3.to_checksum_address("0x00000000000000000000000000000000000b0b02")


def test_web3_wallet_flow_on_a_real_node(cluster_factory: Any) -> None:
    cluster = cluster_factory(validators=1)
    cluster.start_all()
    cluster.wait_height(0, 1, timeout=120)
    w3 = Web3(Web3.HTTPProvider(cluster.url(0), request_kwargs={"timeout": 30}))
    assert w3.is_connected()
    sender = Account.from_key(cluster.account_keys[0])

    chain_id = w3.eth.chain_id
    assert w3.net.version == str(chain_id)
    assert w3.client_version.startswith("ivcnet/")
    assert w3.eth.block_number >= 1
    assert w3.eth.syncing is False
    assert w3.eth.accounts == []
    assert w3.eth.get_code(sender.address) == b""

    funded = w3.eth.get_balance(sender.address)
    assert funded > 0
    assert w3.eth.get_balance(sender.address, "earliest") == funded
    assert w3.eth.get_balance(sender.address, "pending") == funded
    assert w3.eth.get_balance(sender.address, 0) == funded
    assert w3.eth.get_balance(RECIPIENT) == 0
    assert w3.eth.get_transaction_count(sender.address) == 0

    tip = w3.eth.max_priority_fee
    gas_price = w3.eth.gas_price
    assert gas_price >= tip >= 0  # the chain has a fixed base fee and no minimum tip
    history = w3.eth.fee_history(4, "latest", [50.0])
    assert len(history["baseFeePerGas"]) == len(history["gasUsedRatio"]) + 1
    call = {"from": sender.address, "to": RECIPIENT, "value": 10**15}
    gas = w3.eth.estimate_gas(call)
    assert gas == 21_000
    assert w3.eth.call(call) == b""
    assert w3.eth.get_storage_at(sender.address, 0) == b"\x00" * 32

    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": w3.eth.get_transaction_count(sender.address, "pending"),
        "to": RECIPIENT,
        "value": 10**15,
        "gas": gas,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + tip,
    }
    signed = sender.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash
    # Pending or already committed: web3's transaction formatter accepts either answer.
    assert w3.eth.get_transaction(tx_hash)["hash"] == tx_hash
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.2)
    assert receipt["status"] == 1
    assert receipt["transactionHash"] == tx_hash
    assert receipt["from"] == sender.address and receipt["to"] == RECIPIENT
    assert receipt["gasUsed"] == 21_000 and receipt["logs"] == []

    mined = w3.eth.get_transaction(tx_hash)
    assert mined["hash"] == tx_hash and mined["blockNumber"] == receipt["blockNumber"]
    assert mined["value"] == 10**15 and mined["nonce"] == 0 and mined["type"] == 2
    assert mined["r"] == signed.r.to_bytes(32, "big") and mined["s"] == signed.s.to_bytes(32, "big")
    assert w3.eth.get_balance(RECIPIENT) == 10**15
    assert w3.eth.get_transaction_count(sender.address) == 1
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    height = receipt["blockNumber"]
    assert w3.eth.get_balance(sender.address, height) == funded - 10**15 - fee
    assert w3.eth.get_balance(sender.address, height - 1) == funded

    block = w3.eth.get_block(height)
    assert block["number"] == height and block["hash"] == receipt["blockHash"]
    assert tx_hash in block["transactions"]
    full = w3.eth.get_block(receipt["blockHash"], full_transactions=True)
    assert full["hash"] == block["hash"] and full["stateRoot"] == block["stateRoot"]
    assert [t["hash"] for t in full["transactions"]] == block["transactions"]
    assert w3.eth.get_block_transaction_count(height) == len(block["transactions"])
    parent = w3.eth.get_block(block["parentHash"])
    assert parent["number"] == height - 1

    # eth_getProof at that block verifies against its state root.
    proof = w3.eth.get_proof(RECIPIENT, [], height)
    assert proof["balance"] == 10**15
    nodes = [rlp.decode(bytes(node)) for node in proof["accountProof"]]
    key = sha3.keccak_256(bytes.fromhex(RECIPIENT[2:])).digest()
    leaf = HexaryTrie.get_from_proof(bytes(block["stateRoot"]), key, nodes)
    nonce, balance, storage_root, code_hash = rlp.decode(leaf)
    assert int.from_bytes(balance, "big") == 10**15 and nonce == b""
    assert storage_root == bytes(proof["storageHash"]) and code_hash == bytes(proof["codeHash"])

    # A replayed transaction is refused with geth's words.
    with pytest.raises(Web3RPCError, match=r"nonce too low|already known"):
        w3.eth.send_raw_transaction(signed.raw_transaction)

    # A legacy (type 0) transaction is refused with a message that says what is accepted.
    legacy = {
        k: v for k, v in tx.items() if k not in ("type", "maxFeePerGas", "maxPriorityFeePerGas")
    }
    legacy_signed = sender.sign_transaction({**legacy, "nonce": 1, "gasPrice": gas_price})
    with pytest.raises(Web3RPCError, match="EIP-1559"):
        w3.eth.send_raw_transaction(legacy_signed.raw_transaction)

    # web3's own transaction filling and local signing: w3.eth.send_transaction with a signing
    # middleware fills chainId, nonce (pending), gas (eth_estimateGas) and the EIP-1559 fees
    # (eth_maxPriorityFeePerGas and the latest block's base fee) from the node's answers.
    w3.middleware_onion.inject(SignAndSendRawMiddlewareBuilder.build(sender), layer=0)
    second = w3.eth.send_transaction({"from": sender.address, "to": RECIPIENT, "value": 7})
    receipt2 = w3.eth.wait_for_transaction_receipt(second, timeout=60, poll_latency=0.2)
    assert receipt2["status"] == 1
    assert w3.eth.get_transaction(second)["nonce"] == 1
    assert w3.eth.get_balance(RECIPIENT) == 10**15 + 7

    # web3's JSON-RPC batches (the way to many calls per second from one client).
    with w3.batch_requests() as batch:
        batch.add(w3.eth.get_balance(RECIPIENT))
        batch.add(w3.eth.get_block(height))
        batch.add(w3.eth.get_transaction_count(sender.address))
        balance_answer, block_answer, count_answer = batch.execute()
    assert balance_answer == 10**15 + 7 and block_answer["hash"] == block["hash"]
    assert count_answer == 2

    for tag in ("latest", "pending", "safe", "finalized", "earliest"):
        assert w3.eth.get_block(tag)["hash"] is not None
    # What ivcnet does not serve is -32601, which web3 classifies as MethodUnavailable.
    with pytest.raises(MethodUnavailable):
        w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest"})
    with pytest.raises(BlockNotFound):
        w3.eth.get_block(10**9)
    with pytest.raises(TransactionNotFound):
        w3.eth.get_transaction_receipt(b"\xab" * 32)

    # web3's asyncio provider (aiohttp) reads the same answers.
    async def read_async() -> None:
        aw3 = AsyncWeb3(AsyncHTTPProvider(cluster.url(0)))
        try:
            assert await aw3.eth.chain_id == chain_id
            assert await aw3.eth.get_balance(RECIPIENT, height) == 10**15
            assert (await aw3.eth.get_transaction_receipt(tx_hash))["blockHash"] == block["hash"]
            full_block = await aw3.eth.get_block(height, full_transactions=True)
            assert tx_hash in [t["hash"] for t in full_block["transactions"]]
        finally:
            await aw3.provider.disconnect()

    asyncio.run(read_async())
