"""Universal Proof v0 in the state transition: results enter the state only through it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key
from task_payment import assert_proven_and_paid

from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.state import TaskStatus
from execution.types import Block, InvalidBlock, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import GWEI

ALICE, BOB = account_keys(2)
PROVER = b"\x77" * 20
ELF = program_elf(fib_loop_program(5))
OTHER_ELF = program_elf(fib_loop_program(6))
FEE_PER_CYCLE = 1000


def _task_tx() -> bytes:
    request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, FEE_PER_CYCLE)
    return _tx(BOB, 0, TASK_SYSTEM_ADDRESS, request.encode(), 100_000)


@pytest.fixture(scope="module")
def task_id() -> bytes:
    """The id of the task `setup` submits (its transaction's hash): a task proof binds it."""
    return bytes(Transaction.decode(_task_tx()).hash)


@pytest.fixture(scope="module")
def task_proof(task_id: bytes) -> bytes:
    return prove(ELF, b"", "conjectured", prover=PROVER, task_id=task_id).to_bytes()


@pytest.fixture(scope="module")
def other_proof(task_id: bytes) -> bytes:
    return prove(OTHER_ELF, b"", "conjectured", prover=PROVER, task_id=task_id).to_bytes()


def _tx(key, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:  # type: ignore[no-untyped-def]
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def _commit(chain: Chain, txs: list[bytes] = [], proofs: tuple[bytes, ...] = ()) -> Block:  # noqa: B006
    block = chain.build_block(
        txs, validator_key()[0].address, chain.head.header.time_ms + 1000, universal_proofs=proofs
    )
    chain.commit_block(block)
    return block


@pytest.fixture
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    chain = Chain.open(tmp_path / "c", make_genesis())
    _commit(chain, [_tx(ALICE, 0, b"", ELF, 50_000_000), _tx(ALICE, 1, b"", OTHER_ELF, 50_000_000)])
    block = _commit(chain, [_task_tx()])
    receipts = chain.receipts(block.hash)
    assert receipts is not None
    yield chain, block, receipts[0].created
    chain.close()


def test_accepted_proof_enters_result_and_pays_prover(setup, task_proof: bytes) -> None:  # type: ignore[no-untyped-def]
    chain, task_block, task_id = setup
    bob_before = chain.state().account(BOB.address).balance
    up = UniversalProof(
        task_block.height, task_block.hash, (ProofLeaf(task_id, PROVER, task_proof),)
    )
    block = _commit(chain, proofs=(up.encode(),))
    assert block.header.universal_proofs[0].height == task_block.height
    assert_proven_and_paid(chain, task_id, PROVER, BOB.address, FEE_PER_CYCLE, bob_before)
    # The same task cannot be accepted twice.
    with pytest.raises(InvalidBlock, match="task is proven"):
        _commit(chain, proofs=(up.encode(),))


def _rejected(chain: Chain, up_bytes: bytes, match: str) -> None:
    root = chain.head.header.state_root
    with pytest.raises(InvalidBlock, match=match):
        _commit(chain, proofs=(up_bytes,))
    assert chain.head.header.state_root == root


def test_forged_universal_proofs_are_rejected(setup, task_proof: bytes, other_proof: bytes) -> None:  # type: ignore[no-untyped-def]
    chain, task_block, task_id = setup
    leaf = ProofLeaf(task_id, PROVER, task_proof)
    good = UniversalProof(task_block.height, task_block.hash, (leaf,))
    _rejected(chain, replace(good, block_hash=b"\x01" * 32).encode(), "not the chain's")
    _rejected(
        chain,
        replace(good, block_height=1, block_hash=chain.block_at(1).hash).encode(),
        "submitted in block",
    )  # type: ignore[union-attr]
    _rejected(
        chain, replace(good, leaves=(replace(leaf, task_id=b"\x05" * 32),)).encode(), "no such task"
    )
    _rejected(chain, replace(good, leaves=(leaf, leaf)).encode(), "answered twice")
    # A gossiped proof claimed by another address: the task proof binds its prover.
    _rejected(
        chain,
        replace(good, leaves=(replace(leaf, prover=b"\x66" * 20),)).encode(),
        "made for prover 0x7777",
    )
    # A valid proof of another program is not a proof of this task.
    _rejected(
        chain,
        replace(good, leaves=(replace(leaf, task_proof=other_proof),)).encode(),
        "another image id",
    )
    for offset in (len(task_proof) // 3, len(task_proof) // 2, len(task_proof) - 5):
        flipped = task_proof[:offset] + bytes([task_proof[offset] ^ 1]) + task_proof[offset + 1 :]
        _rejected(
            chain,
            replace(good, leaves=(replace(leaf, task_proof=flipped),)).encode(),
            "invalid_universal_proof",
        )
    _rejected(chain, b"\xc0", "malformed")
    assert chain.state().task(task_id).status is TaskStatus.PENDING  # type: ignore[union-attr]


def test_header_must_name_the_verified_root(setup, task_proof: bytes) -> None:  # type: ignore[no-untyped-def]
    chain, task_block, task_id = setup
    up = UniversalProof(
        task_block.height, task_block.hash, (ProofLeaf(task_id, PROVER, task_proof),)
    )
    block = chain.build_block(
        [],
        validator_key()[0].address,
        chain.head.header.time_ms + 1000,
        universal_proofs=(up.encode(),),
    )
    good_ref = block.header.universal_proofs[0]
    for bad_ref in (
        replace(good_ref, digest=b"\x00" * 32),  # another root
        replace(good_ref, bytes_hash=b"\x00" * 32),  # other proof bytes
    ):
        forged = Block(
            replace(block.header, universal_proofs=(bad_ref,)),
            block.transactions,
            block.last_commit,
            block.evidence,
            block.universal_proofs,
        )
        with pytest.raises(InvalidBlock, match="universal_proofs_mismatch"):
            chain.commit_block(forged)
    # The same header with other proof bytes in the body (a relay's tampering): the block was
    # checked once with its real body; the tampered body is executed on its own and refused,
    # never taken from the checked block's cache.
    chain.check_block(block)
    raw = bytearray(block.universal_proofs[0])
    raw[len(raw) // 2] ^= 1
    tampered = Block(
        block.header, block.transactions, block.last_commit, block.evidence, (bytes(raw),)
    )
    assert tampered.hash == block.hash
    with pytest.raises(InvalidBlock):
        chain.commit_block(tampered)
    stripped = Block(
        replace(block.header, universal_proofs=()), universal_proofs=block.universal_proofs
    )
    with pytest.raises(InvalidBlock):
        chain.commit_block(stripped)
    chain.commit_block(block)
