"""A transaction the node already holds or has committed is refused before it is decoded.

Under devnet load most gossip copies of a transaction reach a busy validator after the block
holding it was committed (5,907 of 8,200 arrivals in one profiled run); each was decoded in
full (~0.5 ms) only to be refused as already known.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis

from execution.chain import Chain
from execution.types.transaction import Transaction
from genesis.params import GWEI
from node.mempool import Mempool, MempoolRejected

KEYS = account_keys(2)
TO = bytes.fromhex("00000000000000000000000000000000000000aa")


def _raw(nonce: int) -> bytes:
    tx = Transaction(CHAIN_ID, nonce, GWEI, 10 * GWEI, 21_000, TO, 1, b"")
    return tx.sign(KEYS[0].private_key).raw


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.open(tmp_path / "db", make_genesis(2))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    seen: list[bytes] = []
    original = Transaction.decode.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Transaction], raw: bytes) -> Transaction:
        seen.append(bytes(raw))
        tx: Transaction = original(cls, raw)
        return tx

    monkeypatch.setattr(Transaction, "decode", classmethod(counting))
    return seen


def _reason(pool: Mempool, raw: bytes) -> str:
    with pytest.raises(MempoolRejected) as info:
        pool.add(raw)
    return info.value.reason


def test_a_pending_transaction_sent_again_is_not_decoded(
    chain: Chain, decodes: list[bytes]
) -> None:
    pool = Mempool(chain.chain_id, chain.genesis.params, chain.state, lambda h: False)
    raw = _raw(0)
    pool.add(raw)
    assert _reason(pool, raw) == "already known"
    assert _reason(pool, bytearray(raw)) == "already known"
    assert decodes == [raw]


def test_a_committed_transaction_is_refused_without_decoding(
    chain: Chain, decodes: list[bytes]
) -> None:
    committed = _raw(0)
    committed_hash = Transaction.decode(committed).hash
    decodes.clear()
    pool = Mempool(chain.chain_id, chain.genesis.params, chain.state, lambda h: h == committed_hash)
    assert _reason(pool, committed) == "already known"
    assert decodes == []
    # Anything else is decoded and judged as before.
    pool.add(_raw(1))
    assert decodes == [_raw(1)]


def test_bytes_that_only_resemble_a_known_transaction_are_still_checked(chain: Chain) -> None:
    pool = Mempool(chain.chain_id, chain.genesis.params, chain.state, lambda h: False)
    raw = _raw(0)
    pool.add(raw)
    # A non-canonical re-encoding of the same fields (a long-form length prefix) has another
    # hash and must fail decoding, not be waved through as "already known".
    body = raw[1:]
    assert body[0] >= 0xF8  # a long list: one length byte after 0xf8
    longer = bytes([0x02, 0xF9, 0x00, body[1]]) + body[2:]
    assert _reason(pool, longer).startswith("invalid transaction")
    assert _reason(pool, b"\x02garbage").startswith("invalid transaction")
    assert _reason(pool, raw[:-1]).startswith("invalid transaction")
