from __future__ import annotations

import contextlib

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from execution.types import DecodingError, InvalidTransaction, Transaction, TxKind
from execution.types.transaction import SECP256K1_N, TASK_SYSTEM_ADDRESS
from genesis import to_checksum_address

KEY = bytes(range(1, 33))
TO = bytes.fromhex("11" * 20)


def _eth_account_raw(**overrides: object) -> tuple[bytes, bytes]:
    tx = {
        "chainId": 31337,
        "nonce": 3,
        "maxPriorityFeePerGas": 2,
        "maxFeePerGas": 10**9,
        "gas": 21000,
        "to": to_checksum_address(TO),
        "value": 12345,
        "data": b"",
        "type": 2,
    }
    tx.update(overrides)
    signed = Account.from_key(KEY).sign_transaction(tx)
    return bytes(signed.raw_transaction), bytes(signed.hash)


def test_eth_account_signed_transfer_decodes_and_recovers_sender() -> None:
    raw, tx_hash = _eth_account_raw()
    tx = Transaction.decode(raw)
    assert tx.sender == bytes.fromhex(Account.from_key(KEY).address[2:])
    assert tx.hash == tx_hash
    assert (tx.chain_id, tx.nonce, tx.value, tx.to, tx.kind) == (
        31337,
        3,
        12345,
        TO,
        TxKind.TRANSFER,
    )


def test_own_signing_matches_eth_account_bytes() -> None:
    raw, _ = _eth_account_raw(
        data=b"\x01\x02", to=to_checksum_address(TASK_SYSTEM_ADDRESS), value=0
    )
    ours = Transaction(31337, 3, 2, 10**9, 21000, TASK_SYSTEM_ADDRESS, 0, b"\x01\x02").sign(KEY)
    assert ours.raw == raw
    assert ours.kind is TxKind.TASK


def test_deploy_kind_has_empty_to() -> None:
    tx = Transaction(1, 0, 0, 1, 100_000, b"", 0, b"\x7fELF").sign(KEY)
    assert Transaction.decode(tx.raw).kind is TxKind.DEPLOY


def test_signature_over_other_chain_recovers_other_sender() -> None:
    # Replay protection: the chain id is inside the signed payload, so changing it changes
    # the recovered sender (the transition then rejects it for its nonce/balance/chain).
    tx = Transaction(1, 0, 0, 1, 21000, TO, 1, b"").sign(KEY)
    moved = Transaction(2, 0, 0, 1, 21000, TO, 1, b"", tx.y_parity, tx.r, tx.s)
    assert moved.sender != tx.sender


def test_high_s_signature_is_rejected() -> None:
    tx = Transaction(1, 0, 0, 1, 21000, TO, 1, b"").sign(KEY)
    twin = Transaction(1, 0, 0, 1, 21000, TO, 1, b"", tx.y_parity ^ 1, tx.r, SECP256K1_N - tx.s)
    with pytest.raises(InvalidTransaction) as err:
        _ = twin.sender
    assert err.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x01",
        b"\x02",
        b"\x02\xc0",
        b"\x02\x80",
        b"\xf8\x00",
        b"\x02" + bytes.fromhex("cc") + b"\x80" * 12,  # 12 fields but malformed length
    ],
)
def test_hostile_bytes_raise_decoding_error(raw: bytes) -> None:
    with pytest.raises(DecodingError):
        Transaction.decode(raw)


def test_leading_zero_integer_is_non_canonical() -> None:
    import rlp

    good = Transaction(1, 5, 0, 1, 21000, TO, 1, b"").sign(KEY)
    items = rlp.decode(good.raw[1:])
    items[1] = b"\x00\x05"
    with pytest.raises(DecodingError):
        Transaction.decode(b"\x02" + rlp.encode(items))


def test_bad_to_length_rejected() -> None:
    import rlp

    items = rlp.decode(Transaction(1, 5, 0, 1, 21000, TO, 1, b"").sign(KEY).raw[1:])
    items[5] = b"\x11" * 19
    with pytest.raises(DecodingError, match="to must be"):
        Transaction.decode(b"\x02" + rlp.encode(items))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_crash(data: bytes) -> None:
    for raw in (data, b"\x02" + data):
        try:
            tx = Transaction.decode(raw)
        except DecodingError:
            continue
        with contextlib.suppress(InvalidTransaction):
            _ = tx.sender


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**256 - 1),
    st.binary(max_size=64),
    st.integers(1, 2**64 - 1),
)
def test_roundtrip(nonce: int, value: int, data: bytes, chain_id: int) -> None:
    tx = Transaction(chain_id, nonce, 3, 7, 50_000, TO, value, data).sign(KEY)
    again = Transaction.decode(tx.raw)
    assert again == tx and again.hash == tx.hash and again.sender == tx.sender


def test_recovered_senders_are_cached_by_payload_and_signature() -> None:
    # The same payload signed by two keys: the cache must key on the signature too.
    a, b = Account.create(), Account.create()
    tx = Transaction(1, 0, 1, 2, 21_000, b"\x11" * 20, 5, b"")
    by_a, by_b = tx.sign(a.key), tx.sign(b.key)
    for _ in range(2):  # the second round is served from the cache
        assert Transaction.decode(by_a.raw).sender.hex() == a.address[2:].lower()
        assert Transaction.decode(by_b.raw).sender.hex() == b.address[2:].lower()
    # A signature that does not recover is refused every time, never cached as a sender.
    broken = Transaction.decode(by_a.raw)
    broken = Transaction(
        *[
            getattr(broken, f)
            for f in (
                "chain_id",
                "nonce",
                "max_priority_fee_per_gas",
                "max_fee_per_gas",
                "gas_limit",
                "to",
                "value",
                "data",
            )
        ],
        y_parity=by_a.y_parity,
        r=SECP256K1_N - 1,
        s=by_a.s,
    )
    for _ in range(2):
        with contextlib.suppress(InvalidTransaction):
            assert broken.sender != bytes.fromhex(a.address[2:])
