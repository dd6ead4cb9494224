"""The JSON shapes of blocks, transactions, receipts and proofs, as Ethereum clients parse them.

Fields Ethereum has and ivcnet does not (uncles, difficulty, logs, bloom, mix hash) carry their
neutral values so that web3.py's and ethers' formatters accept the objects unchanged.
"""

from __future__ import annotations

from typing import Any

from node.rpc.chain_view import (
    AccountProof,
    PeerInfo,
    RpcBlock,
    RpcReceipt,
    RpcTransaction,
    SyncStatus,
    ValidatorInfo,
)
from node.rpc.hexcodec import encode_data, encode_quantity

_ZERO_BLOOM = "0x" + "00" * 256
_ZERO_HASH = "0x" + "00" * 32
_ZERO_NONCE = "0x" + "00" * 8
# keccak256(rlp([])): the uncle hash of a block without uncles.
_EMPTY_UNCLES_HASH = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"


def _optional_data(value: bytes | None) -> str | None:
    return None if value is None else encode_data(value)


def _optional_quantity(value: int | None) -> str | None:
    return None if value is None else encode_quantity(value)


def format_transaction(tx: RpcTransaction) -> dict[str, Any]:
    return {
        "blockHash": _optional_data(tx.block_hash),
        "blockNumber": _optional_quantity(tx.block_number),
        "from": encode_data(tx.sender),
        "gas": encode_quantity(tx.gas),
        "gasPrice": encode_quantity(tx.gas_price),
        "maxFeePerGas": encode_quantity(tx.max_fee_per_gas),
        "maxPriorityFeePerGas": encode_quantity(tx.max_priority_fee_per_gas),
        "hash": encode_data(tx.hash),
        "input": encode_data(tx.input),
        "nonce": encode_quantity(tx.nonce),
        "to": _optional_data(tx.to),
        "transactionIndex": _optional_quantity(tx.transaction_index),
        "value": encode_quantity(tx.value),
        "type": encode_quantity(tx.tx_type),
        "accessList": [],
        "chainId": encode_quantity(tx.chain_id),
        "v": encode_quantity(tx.y_parity),
        "yParity": encode_quantity(tx.y_parity),
        "r": encode_quantity(tx.r),
        "s": encode_quantity(tx.s),
        "ivcKind": tx.kind,
    }


def format_receipt(receipt: RpcReceipt) -> dict[str, Any]:
    return {
        "transactionHash": encode_data(receipt.transaction_hash),
        "transactionIndex": encode_quantity(receipt.transaction_index),
        "blockHash": encode_data(receipt.block_hash),
        "blockNumber": encode_quantity(receipt.block_number),
        "from": encode_data(receipt.sender),
        "to": _optional_data(receipt.to),
        "cumulativeGasUsed": encode_quantity(receipt.cumulative_gas_used),
        "gasUsed": encode_quantity(receipt.gas_used),
        "effectiveGasPrice": encode_quantity(receipt.effective_gas_price),
        "contractAddress": _optional_data(receipt.contract_address),
        "logs": [],
        "logsBloom": _ZERO_BLOOM,
        "status": "0x1" if receipt.success else "0x0",
        "type": encode_quantity(receipt.tx_type),
    }


def format_block(block: RpcBlock, full_transactions: bool) -> dict[str, Any]:
    transactions: list[Any]
    if full_transactions and block.transactions is not None:
        transactions = [format_transaction(tx) for tx in block.transactions]
    else:
        transactions = [encode_data(tx_hash) for tx_hash in block.transaction_hashes]
    return {
        "number": encode_quantity(block.number),
        "hash": encode_data(block.hash),
        "parentHash": encode_data(block.parent_hash),
        "nonce": _ZERO_NONCE,
        "mixHash": _ZERO_HASH,
        "sha3Uncles": _EMPTY_UNCLES_HASH,
        "logsBloom": _ZERO_BLOOM,
        "transactionsRoot": encode_data(block.transactions_root),
        "stateRoot": encode_data(block.state_root),
        "receiptsRoot": encode_data(block.receipts_root),
        "miner": encode_data(block.proposer),
        "difficulty": "0x0",
        "totalDifficulty": "0x0",
        "extraData": "0x",
        "size": encode_quantity(block.size),
        "gasLimit": encode_quantity(block.gas_limit),
        "gasUsed": encode_quantity(block.gas_used),
        "baseFeePerGas": encode_quantity(block.base_fee_per_gas),
        "timestamp": encode_quantity(block.timestamp),
        "transactions": transactions,
        "uncles": [],
    }


def format_account_proof(proof: AccountProof, storage_keys: list[str]) -> dict[str, Any]:
    """EIP-1186. ivcnet accounts have no storage, so every storage key proves the value zero
    against the empty storage root, whose proof is the empty list (as geth answers)."""
    return {
        "address": encode_data(proof.address),
        "accountProof": [encode_data(node) for node in proof.proof],
        "balance": encode_quantity(proof.balance),
        "codeHash": encode_data(proof.code_hash),
        "nonce": encode_quantity(proof.nonce),
        "storageHash": encode_data(proof.storage_hash),
        "storageProof": [{"key": key, "value": "0x0", "proof": []} for key in storage_keys],
    }


def format_sync_status(status: SyncStatus) -> dict[str, Any]:
    return {
        "startingBlock": encode_quantity(status.starting_block),
        "currentBlock": encode_quantity(status.current_block),
        "highestBlock": encode_quantity(status.highest_block),
    }


def format_validator(validator: ValidatorInfo) -> dict[str, Any]:
    return {
        "address": encode_data(validator.address),
        "blsPublicKey": encode_data(validator.bls_public_key),
        "votingPower": encode_quantity(validator.voting_power),
        "stake": encode_quantity(validator.stake),
        "owner": encode_data(validator.owner) if validator.owner else None,
    }


def format_peer(peer: PeerInfo) -> dict[str, Any]:
    return {"peerId": peer.peer_id, "addresses": list(peer.addresses)}
