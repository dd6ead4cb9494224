"""The flow a wallet runs (web3.py's `send_transaction` with a local key, step by step), with
transactions signed by eth-account and sent as raw bytes over the real server.

web3.py is not installed in the venv; these calls are the ones it makes, in its order.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account

KEY = b"\x01" * 32
SENDER = Account.from_key(KEY).address.lower()
RECIPIENT = "0x" + "77" * 20


async def build_and_sign(rpc: Any, value: int, nonce: int | None = None, **overrides: Any) -> Any:
    """web3.py's fill_transaction_defaults + sign, from RPC answers only."""
    chain_id = int(await rpc.call("eth_chainId"), 16)
    if nonce is None:
        nonce = int(await rpc.call("eth_getTransactionCount", SENDER, "pending"), 16)
    tip = int(await rpc.call("eth_maxPriorityFeePerGas"), 16)
    latest = await rpc.call("eth_getBlockByNumber", "latest", False)
    max_fee = tip + 2 * int(latest["baseFeePerGas"], 16)
    gas = overrides.pop("gas", None)
    if gas is None:
        call = {"from": SENDER, "to": RECIPIENT, "value": hex(value)}
        gas = int(await rpc.call("eth_estimateGas", call, "pending"), 16)
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "to": RECIPIENT,
        "value": value,
        "gas": gas,
        "maxFeePerGas": max_fee,
        "maxPriorityFeePerGas": tip,
        "data": b"",
        **overrides,
    }
    return Account.sign_transaction(tx, KEY)


async def test_transfer_end_to_end(rpc: Any) -> None:
    signed = await build_and_sign(rpc, 12345)
    tx_hash = "0x" + signed.hash.hex().removeprefix("0x")
    raw = "0x" + signed.raw_transaction.hex().removeprefix("0x")
    assert await rpc.call("eth_sendRawTransaction", raw) == tx_hash

    # Pending: visible by hash without block fields, counted in the pending nonce only.
    pending = await rpc.call("eth_getTransactionByHash", tx_hash)
    assert pending["blockHash"] is None and pending["blockNumber"] is None
    assert pending["transactionIndex"] is None
    assert pending["from"] == SENDER and pending["to"] == RECIPIENT
    assert pending["value"] == hex(12345) and pending["type"] == "0x2"
    assert await rpc.call("eth_getTransactionReceipt", tx_hash) is None
    assert await rpc.call("eth_getTransactionCount", SENDER, "pending") == "0x1"
    assert await rpc.call("eth_getTransactionCount", SENDER, "latest") == "0x0"

    # A second transaction signed against the pending nonce queues behind the first.
    second = await build_and_sign(rpc, 1)
    assert second.hash != signed.hash
    await rpc.call("eth_sendRawTransaction", "0x" + second.raw_transaction.hex().removeprefix("0x"))

    block = rpc.chain.commit_block()
    receipt = await rpc.call("eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1"
    assert receipt["blockNumber"] == "0x1"
    assert receipt["blockHash"] == "0x" + block.hash.hex()
    assert receipt["transactionIndex"] == "0x0"
    assert receipt["from"] == SENDER and receipt["to"] == RECIPIENT
    assert receipt["gasUsed"] == hex(21_000)
    assert receipt["logs"] == [] and receipt["contractAddress"] is None
    assert receipt["effectiveGasPrice"] == hex(1_100_000_000)

    mined = await rpc.call("eth_getTransactionByHash", tx_hash)
    assert mined["blockNumber"] == "0x1" and mined["transactionIndex"] == "0x0"
    assert mined["gasPrice"] == hex(1_100_000_000)
    assert int(mined["r"], 16) == signed.r and int(mined["s"], 16) == signed.s
    assert mined["v"] == mined["yParity"] == hex(signed.v)

    full = await rpc.call("eth_getBlockByNumber", "latest", True)
    assert [tx["hash"] for tx in full["transactions"]] == [
        tx_hash,
        "0x" + second.hash.hex().removeprefix("0x"),
    ]
    assert full["transactions"][0] == mined
    hashes = await rpc.call("eth_getBlockByHash", full["hash"], False)
    assert hashes["transactions"] == [tx["hash"] for tx in full["transactions"]]
    assert await rpc.call("eth_getBlockTransactionCountByNumber", "latest") == "0x2"
    assert await rpc.call("eth_getTransactionByBlockNumberAndIndex", "latest", "0x0") == mined
    assert await rpc.call("eth_getTransactionByBlockHashAndIndex", full["hash"], "0x0") == mined
    assert await rpc.call("eth_getTransactionByBlockHashAndIndex", full["hash"], "0x2") is None
    assert await rpc.call("eth_getTransactionByBlockNumberAndIndex", "0x9", "0x0") is None

    assert await rpc.call("eth_getBalance", RECIPIENT, "latest") == hex(12346)
    assert await rpc.call("eth_getBalance", RECIPIENT, "0x0") == "0x0"
    assert await rpc.call("eth_getTransactionCount", SENDER, "latest") == "0x2"
    history = await rpc.call("eth_feeHistory", "0x1", "latest", [50])
    assert history["reward"] == [[hex(100_000_000)]]
    assert history["gasUsedRatio"] == [42_000 / 30_000_000]


async def test_rejected_transactions_are_server_errors(rpc: Any) -> None:
    signed = await build_and_sign(rpc, 1)
    raw = "0x" + signed.raw_transaction.hex().removeprefix("0x")
    await rpc.call("eth_sendRawTransaction", raw)

    error = await rpc.error("eth_sendRawTransaction", raw)
    assert error == {
        "code": -32000,
        "message": "already known",
        "data": {"reason": "already_known"},
    }

    stale = await build_and_sign(rpc, 2, nonce=0)
    error = await rpc.error(
        "eth_sendRawTransaction", "0x" + stale.raw_transaction.hex().removeprefix("0x")
    )
    assert error["code"] == -32000 and error["message"].startswith("nonce too low: ")
    assert error["data"] == {"reason": "nonce_too_low"}

    other_chain = await build_and_sign(rpc, 3, chainId=1)
    error = await rpc.error(
        "eth_sendRawTransaction", "0x" + other_chain.raw_transaction.hex().removeprefix("0x")
    )
    assert error["code"] == -32000 and "invalid chain id" in error["message"]

    rich = await build_and_sign(rpc, 10**24, gas=21_000)
    error = await rpc.error(
        "eth_sendRawTransaction", "0x" + rich.raw_transaction.hex().removeprefix("0x")
    )
    assert error["code"] == -32000 and "insufficient funds" in error["message"]

    # Tampered signature bytes and plain garbage are rejected with a reason, not a crash.
    tampered = bytearray(signed.raw_transaction)
    tampered[-5] ^= 0xFF
    error = await rpc.error("eth_sendRawTransaction", "0x" + bytes(tampered).hex())
    assert error["code"] == -32000
    error = await rpc.error("eth_sendRawTransaction", "0x02deadbeef")
    assert error["code"] == -32000 and "invalid transaction encoding" in error["message"]
    await rpc.assert_up()
