"""Chain data types: transactions, blocks, headers, receipts, and their hashing."""

from execution.types.block import Block, Header, UniversalProofRef, evidence_root, transactions_root
from execution.types.errors import DecodingError, ExecutionError, InvalidBlock, InvalidTransaction
from execution.types.hashing import EMPTY_MERKLE_ROOT, Hash32, keccak256, merkle_root
from execution.types.receipt import Receipt, decode_receipts, encode_receipts, receipts_root
from execution.types.transaction import (
    TASK_SYSTEM_ADDRESS,
    Address,
    TaskRequest,
    Transaction,
    TxKind,
    address_of_private_key,
)

__all__ = [
    "EMPTY_MERKLE_ROOT",
    "TASK_SYSTEM_ADDRESS",
    "Address",
    "Block",
    "DecodingError",
    "ExecutionError",
    "Hash32",
    "Header",
    "InvalidBlock",
    "InvalidTransaction",
    "Receipt",
    "TaskRequest",
    "Transaction",
    "TxKind",
    "UniversalProofRef",
    "address_of_private_key",
    "decode_receipts",
    "encode_receipts",
    "evidence_root",
    "keccak256",
    "merkle_root",
    "receipts_root",
    "transactions_root",
]
