"""Rejected transactions are reported in geth's words, with the stable reason name as data."""

from __future__ import annotations

from node.rpc import TransactionRejected, rejected, rejection_message


def test_rejection_messages_use_geth_words() -> None:
    error = rejected("nonce_too_low", "next nonce 4, tx nonce 3")
    assert isinstance(error, TransactionRejected)
    assert error.reason == "nonce too low: next nonce 4, tx nonce 3"
    assert error.name == "nonce_too_low"
    assert rejection_message("insufficient_balance").startswith("insufficient funds")
    assert rejection_message("already_known") == "already known"
    assert rejection_message("some_new_reason") == "some new reason"
