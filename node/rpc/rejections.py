"""Rejected-transaction messages in the words Ethereum wallets recognise.

Wallets and libraries classify a failed `eth_sendRawTransaction` by matching geth's messages
("nonce too low", "insufficient funds", "already known", ...): ethers turns them into
NONCE_EXPIRED or INSUFFICIENT_FUNDS, MetaMask shows them. The chain core names each rejection
with a stable reason (docs/chain.md, "Rejections"); this table maps those names, and the
mempool's own, to geth's wording. The name itself travels in the error's `data.reason`.
"""

from __future__ import annotations

from node.rpc.chain_view import TransactionRejected

GETH_MESSAGES: dict[str, str] = {
    # chain core (execution.types.errors.InvalidTransaction.reason)
    "malformed_transaction": "invalid transaction encoding",
    "wrong_chain": "invalid chain id for signer",
    "bad_signature": "invalid sender",
    "intrinsic_gas": "intrinsic gas too low",
    "gas_limit_above_block": "exceeds block gas limit",
    "fee_tip_above_cap": "max priority fee per gas higher than max fee per gas",
    "fee_cap_below_base_fee": "max fee per gas less than block base fee",
    "nonce_too_low": "nonce too low",
    "nonce_too_high": "nonce too high",
    "insufficient_balance": "insufficient funds for gas * price + value",
    "malformed_data": "invalid transaction data",
    "program_exists": "program already deployed",
    "unknown_program": "unknown program",
    "task_cycles": "task max cycles out of range",
    "task_input_too_large": "task input too large",
    "task_fee_too_low": "task fee per cycle too low",
    # mempool
    "already_known": "already known",
    "replacement_underpriced": "replacement transaction underpriced",
    "mempool_full": "txpool is full",
    "oversized": "oversized data",
}


def rejection_message(name: str, detail: str = "") -> str:
    """geth's message for a rejection reason name (the name itself, spaced, if unknown)."""
    message = GETH_MESSAGES.get(name, name.replace("_", " "))
    return f"{message}: {detail}" if detail else message


def rejected(name: str, detail: str = "") -> TransactionRejected:
    """The error a ChainView raises for a transaction refused for reason `name`."""
    return TransactionRejected(rejection_message(name, detail), name)
