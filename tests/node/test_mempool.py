"""The mempool over a real chain database: entry checks, ordering, eviction, block updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key
from eth_account import Account
from eth_utils import to_checksum_address

from execution.chain import Chain
from execution.types.transaction import Transaction
from genesis.params import ETHER, GWEI
from node.mempool import Mempool, MempoolConfig, MempoolRejected

KEYS = account_keys(4)
TO = bytes.fromhex("00000000000000000000000000000000000000aa")


def tx(key_index: int, nonce: int, tip: int = 1, value: int = 1, **kw: int) -> bytes:
    fields = {
        "chain_id": CHAIN_ID,
        "nonce": nonce,
        "max_priority_fee_per_gas": tip * GWEI,
        "max_fee_per_gas": 10 * GWEI,
        "gas_limit": 21_000,
        "to": TO,
        "value": value,
        "data": b"",
    }
    fields.update(kw)
    return Transaction(**fields).sign(KEYS[key_index].private_key).raw  # type: ignore[arg-type]


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.open(tmp_path / "db", make_genesis(4))
    try:
        yield c
    finally:
        c.close()


def pool(chain: Chain, **kw: int) -> Mempool:
    return Mempool(
        chain.chain_id,
        chain.genesis.params,
        chain.state,
        lambda h: chain.transaction_location(h) is not None,
        MempoolConfig(**kw),
    )


def reason(mp: Mempool, raw: bytes) -> str:
    with pytest.raises(MempoolRejected) as info:
        mp.add(raw)
    return info.value.reason


def test_eth_account_transaction_is_admitted(chain: Chain) -> None:
    mp = pool(chain)
    signed = Account.sign_transaction(
        {
            "type": 2,
            "chainId": CHAIN_ID,
            "nonce": 0,
            "maxFeePerGas": 2 * GWEI,
            "maxPriorityFeePerGas": GWEI // 10,
            "gas": 21_000,
            "to": to_checksum_address(TO),
            "value": 5,
            "data": b"",
        },
        KEYS[0].private_key,
    )
    raw = bytes(getattr(signed, "raw_transaction", None) or signed.rawTransaction)
    entry = mp.add(raw)
    assert entry.sender == KEYS[0].address
    assert mp.pending_nonce(KEYS[0].address) == 1


def test_entry_checks_name_the_rule(chain: Chain) -> None:
    mp = pool(chain)
    mp.add(tx(0, 0))
    assert reason(mp, tx(0, 0)) == "already known"
    assert reason(mp, b"\x02\xc0garbage").startswith("invalid transaction")
    assert reason(mp, tx(1, 0, chain_id=CHAIN_ID + 1)).startswith("invalid chain id")
    assert reason(mp, tx(1, 0, gas_limit=20_000)).startswith("intrinsic gas too low")
    assert reason(mp, tx(1, 0, tip=0, max_fee_per_gas=1)).startswith("max fee per gas less than")
    assert reason(mp, tx(1, 0, value=2000 * ETHER)) == "insufficient funds for gas * price + value"
    assert reason(mp, tx(1, 100)).startswith("nonce too high")
    # A tampered signature recovers another sender or none: never admitted as the original.
    raw = bytearray(tx(2, 0))
    raw[-3] ^= 1
    try:
        entry = mp.add(bytes(raw))
        assert entry.sender != KEYS[2].address
    except MempoolRejected:
        pass


def test_pending_funds_count_earlier_nonces(chain: Chain) -> None:
    mp = pool(chain)
    balance = 1000 * ETHER
    fee = 21_000 * 10 * GWEI
    mp.add(tx(0, 0, value=balance // 2))
    assert reason(mp, tx(0, 1, value=balance // 2)) == "insufficient funds for gas * price + value"
    mp.add(tx(0, 1, value=balance // 2 - 2 * fee))


def test_replacement_needs_a_higher_fee(chain: Chain) -> None:
    mp = pool(chain)
    mp.add(tx(0, 0, tip=1))
    assert reason(mp, tx(0, 0, tip=1, value=2)) == "replacement transaction underpriced"
    better = mp.add(tx(0, 0, tip=3))
    assert len(mp) == 1 and mp.get(better.tx.hash) is better


def test_order_is_fee_then_nonce(chain: Chain) -> None:
    mp = pool(chain)
    # Sender 0 pays little at nonce 0 and a lot at nonce 1: nonce order still holds for it.
    a0, a1 = mp.add(tx(0, 0, tip=1)), mp.add(tx(0, 1, tip=9))
    b0 = mp.add(tx(1, 0, tip=5))
    c1 = mp.add(tx(2, 1, tip=9))  # a gap: not executable until nonce 0 arrives
    order = [e.tx.hash for e in mp.ordered()]
    assert order == [b0.tx.hash, a0.tx.hash, a1.tx.hash]
    c0 = mp.add(tx(2, 0, tip=2))
    order = [e.tx.hash for e in mp.ordered()]
    assert order == [b0.tx.hash, c0.tx.hash, c1.tx.hash, a0.tx.hash, a1.tx.hash]


def test_full_pool_evicts_the_cheapest_only_for_a_better_fee(chain: Chain) -> None:
    mp = pool(chain, max_txs=3)
    cheap = mp.add(tx(0, 0, tip=1))
    mp.add(tx(1, 0, tip=2))
    mp.add(tx(2, 0, tip=2))
    assert reason(mp, tx(3, 0, tip=1)) == "txpool is full"
    mp.add(tx(3, 0, tip=3))
    assert cheap.tx.hash not in mp and len(mp) == 3


def test_committed_transactions_leave_and_the_rest_is_rechecked(chain: Chain) -> None:
    mp = pool(chain)
    first = mp.add(tx(0, 0))
    second = mp.add(tx(0, 1))
    other = mp.add(tx(1, 0))
    vk, _ = validator_key()
    block = chain.build_block([first.raw, other.raw], vk.address, 2_000)
    receipts = chain.commit_block(block)
    mp.update([r.tx_hash for r in receipts])
    assert first.tx.hash not in mp and other.tx.hash not in mp and second.tx.hash in mp
    assert [e.tx.hash for e in mp.ordered()] == [second.tx.hash]
    assert reason(mp, first.raw) == "already known"
    assert reason(mp, tx(1, 0, tip=7)).startswith("nonce too low")


def test_tasks_and_deploys_are_checked_against_the_programs(chain: Chain) -> None:
    """A task for an undeployed program, a second deploy, or a task whose escrow the sender
    cannot afford would be dropped by the proposer without a word: refuse them on entry."""
    from execution.programs import image_id_bytes_of_elf
    from execution.types.transaction import TASK_SYSTEM_ADDRESS, TaskRequest

    elf = (Path(__file__).parents[2] / "execution/zkvm/guests/fibonacci.elf").read_bytes()
    image_id = image_id_bytes_of_elf(elf)
    mp = pool(chain)

    def task(key: int, nonce: int, max_cycles: int, fee_per_cycle: int) -> bytes:
        data = TaskRequest(image_id, b"\x05\x00\x00\x00", max_cycles, fee_per_cycle).encode()
        return tx(key, nonce, to=TASK_SYSTEM_ADDRESS, value=0, data=data, gas_limit=100_000)  # type: ignore[arg-type]

    assert reason(mp, task(1, 0, 1000, 1)).startswith("unknown program")
    deploy = tx(0, 0, to=b"", value=0, data=elf, gas_limit=50_000_000)  # type: ignore[arg-type]
    assert reason(
        mp, tx(0, 0, to=b"", value=0, data=b"\x7fELF junk", gas_limit=1_000_000)
    ).startswith(  # type: ignore[arg-type]
        "invalid program"
    )
    mp.add(deploy)
    block = chain.build_block(
        [deploy], validator_key()[0].address, chain.head.header.time_ms + 1000
    )
    chain.commit_block(block)
    mp.update([deploy])
    assert reason(mp, tx(0, 1, to=b"", value=0, data=elf, gas_limit=50_000_000)).startswith(  # type: ignore[arg-type]
        "program already deployed"
    )
    mp.add(task(1, 0, 1000, 1))
    # 1000 ETHER of balance cannot escrow 10^6 cycles at 10^18 wei each.
    assert reason(mp, task(2, 0, 10**6, ETHER)).startswith("insufficient funds")


def test_affordability_after_replacements_gaps_evictions_and_blocks(chain: Chain) -> None:
    """The per-sender running cost (the O(1) affordability path) stays exact: after a
    replacement, an out-of-order arrival, an eviction and a block, the same rule holds as a
    sum over the sender's pending transactions would give."""
    mp = pool(chain, max_txs=6)
    balance = 1000 * ETHER
    fee = 21_000 * 10 * GWEI
    quarter = balance // 4
    mp.add(tx(0, 0, value=quarter))
    mp.add(tx(0, 2, value=quarter))  # a gap: arrives before nonce 1
    mp.add(tx(0, 1, value=quarter))  # fills the gap: the sum path
    mp.add(tx(0, 1, tip=3, value=1))  # replaces nonce 1 with a cheap one: frees a quarter
    # Pending now costs 2 quarters + 1 + 3 fees; nonce 3 may take what is left, not more.
    left = balance - 2 * quarter - 1 - 4 * fee
    assert reason(mp, tx(0, 3, value=left + 1)) == "insufficient funds for gas * price + value"
    mp.add(tx(0, 3, value=left))
    assert reason(mp, tx(0, 4)) == "insufficient funds for gas * price + value"
    # Sender 1 fills the pool; a better-paying transaction evicts sender 1's cheapest nonce
    # chain, and sender 1 can afford a new chain from there again.
    mp.add(tx(1, 0, tip=1, value=balance - 2 * fee))
    mp.add(tx(1, 1, tip=2, value=0))
    assert reason(mp, tx(2, 0, tip=1)) == "txpool is full"
    mp.add(tx(2, 0, tip=5))  # evicts sender 1's nonce 0 (cheapest) and with it nonce 1
    assert len(mp) == 5
    mp.add(tx(1, 0, tip=6, value=balance - fee))
    # A block takes sender 0's nonces 0 and 1; the rest is re-checked on the new head.
    vk, _ = validator_key()
    pending = sorted(mp._by_sender[KEYS[0].address].values(), key=lambda e: e.nonce)
    block = chain.build_block([pending[0].raw, pending[1].raw], vk.address, 2_000)
    mp.update([r.tx_hash for r in chain.commit_block(block)])
    # The block charged the effective fee, not the worst case: what is left is exact now.
    now = chain.state().account(KEYS[0].address).balance
    left = now - (quarter + fee) - (left + fee) - fee  # pending nonces 2 and 3, then 4's fee
    assert reason(mp, tx(0, 4, value=left + 1)) == "insufficient funds for gas * price + value"
    mp.add(tx(0, 4, value=left))
    for sender, txs in mp._by_sender.items():
        assert mp._sender_cost[sender] == sum(e.worst_cost for e in txs.values())
    assert set(mp._sender_cost) == set(mp._by_sender)
