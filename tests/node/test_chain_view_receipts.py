"""eth_getTransactionReceipt's chain reads: a committed block and its receipts are decoded once.

Each receipt lookup decoded the whole block and all its receipts with pyrlp on the event loop
(100-270 ms for a 2,000-transfer block under devnet load); a wallet polls the receipts of the
same recent blocks again and again. Committed blocks never change, so the view keeps the last
few decoded.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis

from execution.chain import Chain
from execution.staking import validators_at
from execution.types.block import Block
from execution.types.transaction import Transaction
from genesis.params import GWEI
from node import chain_view
from node.chain_view import NodeChainView
from node.rpc.chain_view import RpcReceipt

pytestmark = pytest.mark.trio

KEYS = account_keys(3)
TO = bytes.fromhex("00000000000000000000000000000000000000bb")


def _commit(chain: Chain, raws: list[bytes]) -> Block:
    proposer = validators_at(chain.state(), chain.height + 1)[0].address
    block = chain.build_block(raws, proposer, chain.head.header.time_ms + 1000)
    chain.commit_block(block)
    return block


def _transfers(first_nonce: int) -> list[bytes]:
    return [
        Transaction(CHAIN_ID, first_nonce + n, GWEI, 10 * GWEI, 21_000, TO, 1 + n, b"")
        .sign(key.private_key)
        .raw
        for n in range(4)
        for key in KEYS
    ]


def _count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the chain decodes from the database from now on: "block" or "receipts" per read."""
    decoded: list[str] = []
    receipts, by_hash = Chain.receipts, Chain.block_by_hash

    def counting_receipts(self: Chain, block_hash: bytes) -> object:
        decoded.append("receipts")
        return receipts(self, block_hash)

    def counting_block(self: Chain, block_hash: bytes) -> object:
        decoded.append("block")
        return by_hash(self, block_hash)

    monkeypatch.setattr(Chain, "receipts", counting_receipts)
    monkeypatch.setattr(Chain, "block_by_hash", counting_block)
    return decoded


async def test_receipts_of_one_block_decode_it_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = Chain.open(tmp_path / "c", make_genesis())
    try:
        blocks = [_commit(chain, _transfers(0)), _commit(chain, _transfers(4))]
        view = NodeChainView(SimpleNamespace(chain=chain))  # type: ignore[arg-type]
        # What each receipt must say, from the blocks and the test's own transfers (not
        # through the view, whose cache is under test): all 21,000-gas transfers that succeed.
        price = min(10 * GWEI, chain.genesis.params.base_fee_per_gas + GWEI)
        expected = {}
        for block in blocks:
            for index, tx in enumerate(map(Transaction.decode, block.transactions)):
                expected[tx.hash] = RpcReceipt(
                    tx.hash, index, block.hash, block.height, tx.sender, TO, True,
                    21_000, 21_000 * (index + 1), price, 2,
                )  # fmt: skip
        decoded = _count_decodes(monkeypatch)
        for _ in range(3):  # a wallet polling
            for tx_hash, want in expected.items():
                got = await view.receipt_by_hash(tx_hash)
                assert got == want
        assert sorted(decoded) == ["block", "block", "receipts", "receipts"]
        assert len(expected) == 2 * len(KEYS) * 4
        # Unknown hashes still answer None.
        assert await view.receipt_by_hash(b"\x01" * 32) is None
    finally:
        chain.close()


async def test_only_the_most_recent_blocks_stay_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chain_view, "RECENT_BLOCKS", 2)
    chain = Chain.open(tmp_path / "c", make_genesis())
    try:
        blocks = [_commit(chain, _transfers(4 * i)) for i in range(3)]
        view = NodeChainView(SimpleNamespace(chain=chain))  # type: ignore[arg-type]
        decoded = _count_decodes(monkeypatch)

        async def look_up(block: Block) -> None:
            tx_hash = Transaction.decode(block.transactions[0]).hash
            receipt = await view.receipt_by_hash(tx_hash)
            assert receipt is not None and receipt.block_hash == block.hash

        for block in blocks:
            await look_up(block)
        assert len(decoded) == 2 * 3
        # The two most recent are kept; the first was dropped and is decoded again.
        for block in (blocks[2], blocks[1]):
            await look_up(block)
        assert len(decoded) == 2 * 3
        await look_up(blocks[0])
        assert sorted(decoded[6:]) == ["block", "receipts"]
    finally:
        chain.close()
