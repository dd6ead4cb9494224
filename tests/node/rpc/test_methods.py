"""Each method over the real server: result shapes, block tags, and parameter errors (-32602)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sha3

CHAIN_ID = 1337
FUNDED = "0x1a642f0e3c3af545e7acbd38b07251b3990914f1"  # address of key 0x01 * 32
EMPTY = "0x" + "77" * 20
QUANTITY = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
DATA = re.compile(r"^0x([0-9a-f]{2})*$")


def is_quantity(value: Any) -> bool:
    return isinstance(value, str) and QUANTITY.match(value) is not None


def is_data(value: Any, length: int | None = None) -> bool:
    if not isinstance(value, str) or DATA.match(value) is None:
        return False
    return length is None or len(value) == 2 + 2 * length


async def test_funded_address_matches_key(rpc: Any) -> None:
    from eth_account import Account

    assert Account.from_key(b"\x01" * 32).address.lower() == FUNDED


async def test_chain_id_block_number_versions(rpc: Any) -> None:
    assert await rpc.call("eth_chainId") == hex(CHAIN_ID)
    assert await rpc.call("eth_blockNumber") == "0x0"
    rpc.chain.commit_block()
    rpc.chain.commit_block()
    assert await rpc.call("eth_blockNumber") == "0x2"
    assert await rpc.call("net_version") == str(CHAIN_ID)
    assert await rpc.call("net_peerCount") == "0x2"
    assert await rpc.call("net_listening") is True
    assert await rpc.call("web3_clientVersion") == "ivcnet/test"
    assert await rpc.call("web3_sha3", "0x68656c6c6f20776f726c64") == (
        "0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad"
    )
    assert await rpc.call("eth_accounts") == []


async def test_get_balance_and_tags(rpc: Any) -> None:
    wei = hex(10**21)
    for tag in ("latest", "earliest", "pending", "safe", "finalized", "proven", "0x0"):
        assert await rpc.call("eth_getBalance", FUNDED, tag) == wei, tag
    assert await rpc.call("eth_getBalance", EMPTY, "latest") == "0x0"
    # Checksummed (mixed-case) addresses are accepted as Ethereum clients send them.
    assert (
        await rpc.call("eth_getBalance", "0x1A642f0E3c3aF545E7AcBD38b07251B3990914F1", "latest")
        == wei
    )
    # A missing block means latest.
    assert await rpc.call("eth_getBalance", FUNDED) == wei
    # EIP-1898 block objects.
    genesis = await rpc.call("eth_getBlockByNumber", "0x0", False)
    assert await rpc.call("eth_getBalance", FUNDED, {"blockNumber": "0x0"}) == wei
    assert await rpc.call("eth_getBalance", FUNDED, {"blockHash": genesis["hash"]}) == wei


async def test_state_above_head_is_header_not_found(rpc: Any) -> None:
    error = await rpc.error("eth_getBalance", FUNDED, "0x5")
    assert error["code"] == -32000
    assert "header not found" in error["message"]
    error = await rpc.error("eth_getBalance", FUNDED, {"blockHash": "0x" + "00" * 32})
    assert error["code"] == -32000


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ([], "argument 0 (address)"),
        (["0x1234", "latest"], "argument 0 (address)"),
        (["0x" + "zz" * 20, "latest"], "argument 0 (address)"),
        (["1a642f0e3c3af545e7acbd38b07251b3990914f1", "latest"], "argument 0 (address)"),
        ([FUNDED + "00", "latest"], "argument 0 (address)"),
        ([12345, "latest"], "argument 0 (address)"),
        ([FUNDED, "newest"], "argument 1 (block)"),
        ([FUNDED, "0x01"], "leading zero"),
        ([FUNDED, "0x"], "argument 1 (block)"),
        ([FUNDED, "-0x1"], "argument 1 (block)"),
        ([FUNDED, 5], "argument 1 (block)"),
        ([FUNDED, "0x" + "f" * 17], "argument 1 (block)"),
        ([FUNDED, {"blockNumber": "0x0", "blockHash": "0x" + "00" * 32}], "exactly one"),
        ([FUNDED, {}], "exactly one"),
        ([FUNDED, {"blockHash": "0x12"}], "blockHash"),
        ([FUNDED, "latest", "extra"], "too many arguments"),
    ],
)
async def test_get_balance_bad_params(rpc: Any, params: list[Any], fragment: str) -> None:
    error = await rpc.error("eth_getBalance", *params)
    assert error["code"] == -32602
    assert fragment in error["message"], error["message"]


async def test_unknown_tag_lists_known_ones(rpc: Any) -> None:
    error = await rpc.error("eth_getBalance", FUNDED, "newest")
    assert "latest" in error["message"] and "proven" in error["message"]


async def test_proven_tag_resolves_through_hook(rpc: Any) -> None:
    for _ in range(3):
        rpc.chain.commit_block()
    rpc.chain.proven = 1
    block = await rpc.call("eth_getBlockByNumber", "proven", False)
    assert block["number"] == "0x1"
    status = await rpc.call("ivc_status")
    assert status["provenBlockNumber"] == "0x1"
    assert status["latestBlockNumber"] == "0x3"


async def test_transaction_count(rpc: Any) -> None:
    assert await rpc.call("eth_getTransactionCount", FUNDED, "latest") == "0x0"
    assert await rpc.call("eth_getTransactionCount", FUNDED, "pending") == "0x0"
    error = await rpc.error("eth_getTransactionCount", "0x00", "latest")
    assert error["code"] == -32602


async def test_block_shapes(rpc: Any) -> None:
    block = await rpc.call("eth_getBlockByNumber", "latest", False)
    assert block["number"] == "0x0"
    for field in (
        "hash",
        "parentHash",
        "stateRoot",
        "transactionsRoot",
        "receiptsRoot",
        "mixHash",
        "sha3Uncles",
    ):
        assert is_data(block[field], 32), field
    assert is_data(block["miner"], 20)
    assert is_data(block["logsBloom"], 256)
    assert is_data(block["nonce"], 8)
    for field in (
        "number",
        "timestamp",
        "size",
        "gasLimit",
        "gasUsed",
        "baseFeePerGas",
        "difficulty",
        "totalDifficulty",
    ):
        assert is_quantity(block[field]), field
    assert block["transactions"] == [] and block["uncles"] == []
    assert await rpc.call("eth_getBlockByHash", block["hash"], False) == block
    assert await rpc.call("eth_getBlockByNumber", "earliest", True) == block
    assert await rpc.call("eth_getBlockByNumber", "pending", False) == block
    assert await rpc.call("eth_getBlockByNumber", "0x7", False) is None
    assert await rpc.call("eth_getBlockByHash", "0x" + "00" * 32, False) is None
    assert await rpc.call("eth_getBlockTransactionCountByNumber", "0x0") == "0x0"
    assert await rpc.call("eth_getBlockTransactionCountByHash", block["hash"]) == "0x0"
    assert await rpc.call("eth_getBlockTransactionCountByHash", "0x" + "00" * 32) is None


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("eth_getBlockByNumber", [], "argument 0 (block)"),
        ("eth_getBlockByNumber", ["latest", "yes"], "argument 1 (full transactions)"),
        ("eth_getBlockByHash", ["0x1234", False], "argument 0 (block hash)"),
        ("eth_getTransactionByHash", ["0x" + "00" * 31], "argument 0 (transaction hash)"),
        ("eth_getTransactionReceipt", [None], "argument 0 (transaction hash)"),
        ("eth_sendRawTransaction", ["0x"], "argument 0 (transaction)"),
        ("eth_sendRawTransaction", ["0x123"], "odd length"),
        ("eth_getProof", [FUNDED, "0x00", "latest"], "argument 1 (storage keys)"),
        ("eth_getProof", [FUNDED, ["0x" + "00" * 33], "latest"], "storage key 0"),
        ("eth_feeHistory", ["0x4", "latest", [50, 10]], "argument 2 (reward percentiles)"),
        ("eth_feeHistory", ["0x4", "latest", [101]], "outside"),
        ("eth_feeHistory", [-1, "latest"], "argument 0 (block count)"),
        ("eth_estimateGas", [{"to": "0x12"}], "field to"),
        ("eth_estimateGas", ["0x12"], "argument 0 (transaction)"),
        ("eth_getCode", ["0x12", "latest"], "argument 0 (address)"),
        ("ivc_validators", ["nope"], "argument 0 (block)"),
        ("web3_sha3", ["hello"], "argument 0 (data)"),
    ],
)
async def test_bad_params_name_the_parameter(
    rpc: Any, method: str, params: list[Any], fragment: str
) -> None:
    error = await rpc.error(method, *params)
    assert error["code"] == -32602
    assert fragment in error["message"], error["message"]
    await rpc.assert_up()


async def test_unknown_transaction_is_null(rpc: Any) -> None:
    assert await rpc.call("eth_getTransactionByHash", "0x" + "ab" * 32) is None
    assert await rpc.call("eth_getTransactionReceipt", "0x" + "ab" * 32) is None


async def test_get_proof_verifies_against_state_root(rpc: Any) -> None:
    import rlp
    from trie import HexaryTrie

    block = await rpc.call("eth_getBlockByNumber", "latest", False)
    key = "0x" + "00" * 31 + "01"
    proof = await rpc.call("eth_getProof", FUNDED, [key], "latest")
    assert proof["address"] == FUNDED
    assert proof["balance"] == hex(10**21)
    assert proof["nonce"] == "0x0"
    assert proof["codeHash"] == "0x" + sha3.keccak_256(b"").hexdigest()
    assert proof["storageHash"] == "0x" + sha3.keccak_256(rlp.encode(b"")).hexdigest()
    assert proof["storageProof"] == [{"key": key, "value": "0x0", "proof": []}]
    nodes = [rlp.decode(bytes.fromhex(node[2:])) for node in proof["accountProof"]]
    root = bytes.fromhex(block["stateRoot"][2:])
    address_key = sha3.keccak_256(bytes.fromhex(FUNDED[2:])).digest()
    leaf = HexaryTrie.get_from_proof(root, address_key, nodes)
    nonce, balance, storage_root, code_hash = rlp.decode(leaf)
    assert (nonce, int.from_bytes(balance, "big")) == (b"", 10**21)
    assert "0x" + storage_root.hex() == proof["storageHash"]
    assert "0x" + code_hash.hex() == proof["codeHash"]
    # An absent account proves absence: zero fields, and the proof yields no leaf.
    absent = await rpc.call("eth_getProof", EMPTY, [], "latest")
    assert absent["balance"] == "0x0"
    nodes = [rlp.decode(bytes.fromhex(node[2:])) for node in absent["accountProof"]]
    empty_key = sha3.keccak_256(bytes.fromhex(EMPTY[2:])).digest()
    assert HexaryTrie.get_from_proof(root, empty_key, nodes) == b""


async def test_get_code_is_empty(rpc: Any) -> None:
    assert await rpc.call("eth_getCode", FUNDED, "latest") == "0x"


async def test_fee_methods(rpc: Any) -> None:
    assert await rpc.call("eth_maxPriorityFeePerGas") == hex(100_000_000)
    assert await rpc.call("eth_gasPrice") == hex(1_000_000_000 + 100_000_000)
    for _ in range(3):
        rpc.chain.commit_block()
    history = await rpc.call("eth_feeHistory", "0x2", "latest", [25, 75])
    assert history["oldestBlock"] == "0x2"
    assert history["baseFeePerGas"] == [hex(1_000_000_000)] * 3
    assert history["gasUsedRatio"] == [0.0, 0.0]
    assert history["reward"] == [["0x0", "0x0"], ["0x0", "0x0"]]
    # Clients send the count as hex, as a decimal JSON number, or as a decimal string.
    assert (await rpc.call("eth_feeHistory", 10, "latest", []))["oldestBlock"] == "0x0"
    assert len((await rpc.call("eth_feeHistory", "2", "0x1"))["baseFeePerGas"]) == 3
    assert "reward" not in await rpc.call("eth_feeHistory", "0x1", "latest")


async def test_estimate_gas(rpc: Any) -> None:
    call = {"from": FUNDED, "to": EMPTY, "value": "0x1"}
    assert await rpc.call("eth_estimateGas", call) == hex(21_000)
    assert await rpc.call("eth_estimateGas", {**call, "data": "0x0102"}, "latest") == hex(21_032)
    assert await rpc.call("eth_estimateGas", {**call, "input": "0x01"}) == hex(21_016)
    error = await rpc.error("eth_estimateGas", {**call, "value": hex(10**30)})
    assert error["code"] == -32000
    assert "insufficient funds" in error["message"]


async def test_call_is_a_checked_transaction_without_return_data(rpc: Any) -> None:
    call = {"from": FUNDED, "to": EMPTY, "value": "0x1"}
    assert await rpc.call("eth_call", call) == "0x"
    assert await rpc.call("eth_call", {**call, "gas": hex(21_000)}, "latest", {}) == "0x"
    error = await rpc.error("eth_call", {**call, "value": hex(10**30)}, "latest")
    assert error["code"] == -32000 and "insufficient funds" in error["message"]
    error = await rpc.error("eth_call", {**call, "gas": hex(20_999)}, "latest")
    assert error["code"] == -32000
    assert error["message"] == "intrinsic gas too low: have 20999, want 21000"
    override = {FUNDED: {"balance": "0x0"}}
    error = await rpc.error("eth_call", call, "latest", override)
    assert error["code"] == -32602 and "argument 2 (state overrides)" in error["message"]
    assert (await rpc.error("eth_call", call, "0x99"))["message"].startswith("header not found")
    assert (await rpc.error("eth_call", "0x12"))["code"] == -32602


async def test_storage_is_empty(rpc: Any) -> None:
    zero = "0x" + "00" * 32
    assert await rpc.call("eth_getStorageAt", FUNDED, "0x0", "latest") == zero
    assert await rpc.call("eth_getStorageAt", FUNDED, "0x" + "ff" * 32, "earliest") == zero
    for slot in ("0x" + "1" * 65, "0x", "1", "0x1_0", "0x 1", 5):
        error = await rpc.error("eth_getStorageAt", FUNDED, slot, "latest")
        assert error["code"] == -32602 and "argument 1 (storage slot)" in error["message"]
    assert (await rpc.error("eth_getStorageAt", FUNDED, "0x0", "0x99"))["code"] == -32000


async def test_syncing(rpc: Any) -> None:
    assert await rpc.call("eth_syncing") is False
    idle = await rpc.call("ivc_syncing")
    assert idle == {
        "syncing": False,
        "startingBlock": "0x0",
        "currentBlock": "0x0",
        "highestBlock": "0x0",
    }
    rpc.chain.is_syncing = True
    assert await rpc.call("eth_syncing") == {
        "startingBlock": "0x0",
        "currentBlock": "0x0",
        "highestBlock": "0x64",
    }
    assert (await rpc.call("ivc_syncing"))["syncing"] is True


async def test_ivc_status_validators_peers(rpc: Any) -> None:
    status = await rpc.call("ivc_status")
    assert status["nodeId"] == "12D3KooWSelf"
    assert status["chainId"] == hex(CHAIN_ID)
    assert status["validatorAddress"] == "0x" + "aa" * 20
    assert status["latestBlockNumber"] == "0x0"
    assert is_data(status["latestBlockHash"], 32)
    assert status["peerCount"] == "0x2"
    assert status["syncing"] is False
    validators = await rpc.call("ivc_validators")
    assert validators["blockNumber"] == "0x0"
    assert validators["totalVotingPower"] == "0xf"
    assert validators["validators"][0] == {
        "address": "0x" + "aa" * 20,
        "blsPublicKey": "0x" + "11" * 48,
        "votingPower": "0xa",
        "stake": "0x0",
        "owner": None,
    }
    assert (await rpc.call("ivc_validators", "earliest"))["blockNumber"] == "0x0"
    error = await rpc.error("ivc_validators", "0x9")
    assert error["code"] == -32000
    peers = await rpc.call("ivc_peers")
    assert peers[0] == {"peerId": "12D3KooWPeerA", "addresses": ["/ip4/127.0.0.1/tcp/26656"]}
