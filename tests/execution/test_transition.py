"""The native state transition: every rejection named, nothing partially applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, REWARD_KEY, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.state import TaskStatus, program_address
from execution.types import InvalidBlock, TaskRequest, Transaction, TxKind
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from genesis import GWEI, Genesis, ProtocolParams
from genesis.params import ETHER

KEYS = account_keys(4)
ALICE, BOB = KEYS[0], KEYS[1]
FIB_ELF = (Path(__file__).parents[2] / "execution/zkvm/guests/fibonacci.elf").read_bytes()


def transfer(key=ALICE, nonce=0, to=BOB.address, value=ETHER, **kw) -> Transaction:  # type: ignore[no-untyped-def]
    fields = dict(
        chain_id=CHAIN_ID,
        nonce=nonce,
        max_priority_fee_per_gas=GWEI,
        max_fee_per_gas=3 * GWEI,
        gas_limit=21_000,
        to=to,
        value=value,
        data=b"",
    )
    fields.update(kw)
    return Transaction(**fields).sign(key.private_key)  # type: ignore[arg-type]


def commit(chain: Chain, *txs: Transaction | bytes) -> list:  # type: ignore[type-arg]
    raws = [t if isinstance(t, bytes) else t.raw for t in txs]
    proposer = validator_key()[0].address
    block = chain.build_block(raws, proposer, chain.head.header.time_ms + 1000)
    return chain.commit_block(block)


def test_transfer_moves_value_and_charges_fee(chain: Chain) -> None:
    before_a, before_b = chain.state().account(ALICE.address), chain.state().account(BOB.address)
    (receipt,) = commit(chain, transfer())
    a, b = chain.state().account(ALICE.address), chain.state().account(BOB.address)
    price = min(3 * GWEI, chain.genesis.params.base_fee_per_gas + GWEI)
    assert receipt.gas_used == 21_000 and receipt.fee_paid == 21_000 * price
    assert a.balance == before_a.balance - ETHER - 21_000 * price and a.nonce == 1
    assert b.balance == before_b.balance + ETHER
    tips = 21_000 * (price - chain.genesis.params.base_fee_per_gas)
    assert chain.state().account(REWARD_KEY.address).balance == tips
    # The validator's own address derives from its BLS key: nobody could spend from it.
    assert chain.state().account(validator_key()[0].address).balance == 0


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: transfer(nonce=1), "nonce_too_high"),
        (
            lambda: Transaction(CHAIN_ID + 1, 0, GWEI, 3 * GWEI, 21_000, BOB.address, 1, b"").sign(
                ALICE.private_key
            ),
            "wrong_chain",
        ),
        (lambda: transfer(value=10**6 * ETHER), "insufficient_balance"),
        (lambda: transfer(gas_limit=20_999), "intrinsic_gas"),
        (lambda: transfer(max_fee_per_gas=1, max_priority_fee_per_gas=0), "fee_cap_below_base_fee"),
        (lambda: transfer(max_priority_fee_per_gas=4 * GWEI), "fee_tip_above_cap"),
        (lambda: transfer(data=b"memo", gas_limit=30_000), "malformed_data"),
        (lambda: transfer(to=b"", value=0, data=b"not an elf", gas_limit=10**6), "malformed_data"),
        (lambda: transfer(to=b"", value=5, data=FIB_ELF, gas_limit=50_000_000), "malformed_data"),
        (
            lambda: transfer(to=TASK_SYSTEM_ADDRESS, value=0, data=b"\xc0", gas_limit=100_000),
            "malformed_data",
        ),
        (
            lambda: transfer(
                to=TASK_SYSTEM_ADDRESS,
                value=0,
                gas_limit=100_000,
                data=TaskRequest(b"\x01" * 32, b"", 10, 1).encode(),
            ),
            "unknown_program",
        ),
        (
            lambda: transfer(
                to=TASK_SYSTEM_ADDRESS,
                value=0,
                gas_limit=100_000,
                data=TaskRequest(b"\x01" * 32, b"", 0, 1).encode(),
            ),
            "task_cycles",
        ),
        (
            lambda: Transaction(CHAIN_ID, 0, GWEI, 3 * GWEI, 21_000, BOB.address, 1, b"", 0, 0, 1),
            "bad_signature",
        ),
        (lambda: b"\x02\xc0", "malformed_transaction"),
    ],
)
def test_invalid_transaction_rejects_block_atomically(chain: Chain, make, reason: str) -> None:  # type: ignore[no-untyped-def]
    root, height = chain.head.header.state_root, chain.height
    good = transfer(key=KEYS[2])
    with pytest.raises(InvalidBlock) as err:
        commit(chain, good, make())
    assert f"#1: {reason}" in str(err.value)
    assert (err.value.index, err.value.leaf) == (1, None)  # what a proposer reads to drop it
    # Nothing of the block applied, not even the valid first transaction.
    assert chain.height == height and chain.head.header.state_root == root
    assert chain.state().account(KEYS[2].address).nonce == 0


def test_replayed_transaction_is_rejected(chain: Chain) -> None:
    tx = transfer()
    commit(chain, tx)
    with pytest.raises(InvalidBlock, match="nonce_too_low"):
        commit(chain, tx)


def test_deploy_then_task_escrows_fee(chain: Chain) -> None:
    (deploy_receipt,) = commit(chain, transfer(to=b"", value=0, data=FIB_ELF, gas_limit=50_000_000))
    assert deploy_receipt.kind == TxKind.DEPLOY
    from execution.programs import image_id_bytes_of_elf

    image_id = image_id_bytes_of_elf(FIB_ELF)
    program = chain.state().program(image_id)
    assert program is not None and program.deployer == ALICE.address
    assert deploy_receipt.created == program_address(image_id)
    with pytest.raises(InvalidBlock, match="program_exists"):
        commit(chain, transfer(nonce=1, to=b"", value=0, data=FIB_ELF, gas_limit=50_000_000))

    before = chain.state().account(BOB.address).balance
    request = TaskRequest(image_id, (10).to_bytes(4, "little"), 5000, 7)
    (task_receipt,) = commit(
        chain,
        transfer(
            key=BOB, to=TASK_SYSTEM_ADDRESS, value=0, data=request.encode(), gas_limit=100_000
        ),
    )
    task = chain.state().task(task_receipt.created)
    assert task is not None and task.status is TaskStatus.PENDING
    assert task.escrow == 5000 * 7 and task.image_id == image_id and task.submitter == BOB.address
    assert task.deadline_height == chain.height + chain.genesis.params.task_deadline_blocks
    assert (
        chain.state().account(BOB.address).balance == before - task_receipt.fee_paid - task.escrow
    )


def test_block_gas_limit(tmp_path: Path) -> None:
    genesis = make_genesis(params=ProtocolParams(block_gas_limit=50_000))
    chain = Chain.open(tmp_path / "c", genesis)
    try:
        with pytest.raises(InvalidBlock, match="block_gas_limit"):
            commit(chain, transfer(), transfer(nonce=1), transfer(nonce=2))
    finally:
        chain.close()


def test_same_blocks_give_same_roots_on_two_nodes(tmp_path: Path, genesis: Genesis) -> None:
    a = Chain.open(tmp_path / "a", genesis)
    b = Chain.open(tmp_path / "b", genesis)
    try:
        for i in range(3):
            block = a.build_block(
                [transfer(nonce=i).raw, transfer(key=BOB, nonce=i, to=ALICE.address).raw],
                validator_key()[0].address,
                a.head.header.time_ms + 1000,
            )
            a.commit_block(block)
            b.commit_block(Block_decode(block.encode()))
        assert a.head.hash == b.head.hash and a.head.header.state_root == b.head.header.state_root
    finally:
        a.close()
        b.close()


def Block_decode(raw: bytes):  # type: ignore[no-untyped-def]
    from execution.types import Block

    return Block.decode(raw)


@pytest.mark.parametrize(
    "field",
    [
        "state_root",
        "receipts_root",
        "transactions_root",
        "gas_used",
        "parent_hash",
        "height",
        "time_ms",
        "chain_id",
    ],
)
def test_header_lies_are_rejected(chain: Chain, field: str) -> None:
    from dataclasses import replace

    from execution.types import Block

    block = chain.build_block(
        [transfer().raw], validator_key()[0].address, chain.head.header.time_ms + 1000
    )
    value = getattr(block.header, field)
    if isinstance(value, bytes):
        bad = bytes([value[0] ^ 1]) + value[1:]
    elif field == "time_ms":
        bad = chain.head.header.time_ms
    else:
        bad = value + 1
    forged = Block(replace(block.header, **{field: bad}), block.transactions)
    with pytest.raises(InvalidBlock):
        chain.commit_block(forged)
    assert chain.height == 0


def test_unproven_task_expires_at_its_deadline_and_is_refunded(tmp_path: Path) -> None:
    from execution.programs import image_id_bytes_of_elf

    chain = Chain.open(tmp_path / "c", make_genesis(params=ProtocolParams(task_deadline_blocks=2)))
    try:
        commit(chain, transfer(to=b"", value=0, data=FIB_ELF, gas_limit=50_000_000))
        request = TaskRequest(image_id_bytes_of_elf(FIB_ELF), b"\x05\x00\x00\x00", 1000, 3)
        start = chain.state().account(BOB.address).balance
        (receipt,) = commit(
            chain,
            transfer(
                key=BOB, to=TASK_SYSTEM_ADDRESS, value=0, data=request.encode(), gas_limit=100_000
            ),
        )
        submitted = chain.height
        commit(chain)  # deadline - 1: still pending
        task = chain.state().task(receipt.created)
        assert (
            task is not None and task.status is TaskStatus.PENDING and chain.height == submitted + 1
        )
        commit(chain)  # the deadline block: expired at its end, escrow back
        task = chain.state().task(receipt.created)
        assert task is not None and task.status is TaskStatus.EXPIRED
        assert chain.state().account(BOB.address).balance == start - receipt.fee_paid
        commit(chain)  # an expired task is not refunded twice
        assert chain.state().account(BOB.address).balance == start - receipt.fee_paid
    finally:
        chain.close()


def test_block_from_a_non_validator_is_rejected(chain: Chain) -> None:
    with pytest.raises(InvalidBlock, match="unknown_proposer"):
        chain.build_block([transfer().raw], b"\x42" * 20, chain.head.header.time_ms + 1000)


def test_validator_without_reward_address_burns_tips(tmp_path: Path) -> None:
    from dataclasses import replace as dc_replace

    genesis = make_genesis()
    genesis = dc_replace(
        genesis, validators=(dc_replace(genesis.validators[0], reward_address=b""),)
    )
    chain = Chain.open(tmp_path / "c", genesis)
    try:
        supply = sum(a.balance for a in genesis.accounts)
        commit(chain, transfer())
        total = sum(chain.state().account(k.address).balance for k in KEYS)
        assert supply - total == 21_000 * min(3 * GWEI, genesis.params.base_fee_per_gas + GWEI)
    finally:
        chain.close()
