"""Universal Proof v1 in the state transition: the block binding, the lift-shape allow-list and
the version switch, each refused as a named InvalidBlock before any recursion program is built.

The root here is a placeholder (any parseable STARK proof): every check below comes before the
root's control id and STARK check, which test_accept_v1_root.py (slow) attacks with a real root.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

import execution.recursion.join as join_mod
import execution.recursion.lift as lift_mod
from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.state import TaskStatus
from execution.types import Block, InvalidBlock, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from execution.zkproof.task import TaskProof
from genesis import GWEI
from genesis.params import UNIVERSAL_PROOF_V1, ProtocolParams

ALICE, BOB = account_keys(2)
PROVER = b"\x77" * 20
ELF = program_elf(fib_loop_program(5))
FEE_PER_CYCLE = 1000


def _tx(key, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:  # type: ignore[no-untyped-def]
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def task_tx(nonce: int = 0, max_cycles: int = 10_000) -> bytes:
    request = TaskRequest(image_id_bytes_of_elf(ELF), b"", max_cycles, FEE_PER_CYCLE)
    return _tx(BOB, nonce, TASK_SYSTEM_ADDRESS, request.encode(), 100_000)


def commit(chain: Chain, txs: list[bytes] = [], proofs: tuple[bytes, ...] = ()) -> Block:  # noqa: B006
    block = chain.build_block(
        txs, validator_key()[0].address, chain.head.header.time_ms + 1000, universal_proofs=proofs
    )
    chain.commit_block(block)
    return block


@pytest.fixture(scope="module")
def task_proof() -> TaskProof:
    task_id = bytes(Transaction.decode(task_tx()).hash)
    return prove(ELF, b"", "conjectured", prover=PROVER, task_id=task_id)


def shape_of(tp: TaskProof) -> tuple[int, ...]:
    return tuple(t.log_n for t in tp.stark.tables)


def v1_params(shapes: tuple[tuple[int, ...], ...]) -> ProtocolParams:
    return replace(
        ProtocolParams(),
        universal_proof_version=UNIVERSAL_PROOF_V1,
        universal_proof_lift_shapes=shapes,
    )


def open_chain(path: Path, params: ProtocolParams) -> tuple[Chain, Block, bytes]:
    chain = Chain.open(path, make_genesis(params=params))
    commit(chain, [_tx(ALICE, 0, b"", ELF, 50_000_000)])
    block = commit(chain, [task_tx(0), task_tx(1, max_cycles=2)])
    receipts = chain.receipts(block.hash)
    assert receipts is not None
    return chain, block, receipts[0].created


def placeholder_v1(tp: TaskProof, block: Block, task_id: bytes) -> UniversalProofV1:
    leaf = V1Leaf(task_id, shape_of(tp), tp.statement.to_bytes())
    return UniversalProofV1(block.height, block.hash, (leaf,), bytes(32), tp.stark)


def rejected(chain: Chain, raw: bytes, match: str) -> None:
    root = chain.head.header.state_root
    with pytest.raises(InvalidBlock, match=match) as info:
        commit(chain, proofs=(raw,))
    assert info.value.reason == "invalid_universal_proof"
    assert chain.head.header.state_root == root


def no_program_built() -> None:
    """A crafted proof must be refused before the validator records or keys any program."""
    for cache in (lift_mod._RECORDINGS, lift_mod._KEYS, join_mod._RECORDINGS, join_mod._KEYS):
        assert len(cache) == 0


@pytest.fixture
def v1_chain(tmp_path: Path, task_proof: TaskProof):  # type: ignore[no-untyped-def]
    chain, block, task_id = open_chain(tmp_path / "c", v1_params((shape_of(task_proof),)))
    for cache in (lift_mod._RECORDINGS, lift_mod._KEYS, join_mod._RECORDINGS, join_mod._KEYS):
        cache.clear()
    yield chain, block, task_id
    chain.close()


def test_block_binding_is_checked_before_the_root(v1_chain, task_proof: TaskProof) -> None:  # type: ignore[no-untyped-def]
    chain, block, task_id = v1_chain
    good = placeholder_v1(task_proof, block, task_id)
    leaf = good.leaves[0]
    rejected(chain, replace(good, block_hash=b"\x01" * 32).encode(), "not the chain's")
    rejected(chain, replace(good, block_height=block.height + 5).encode(), "names block")
    # A statement for a task that is not pending in the named block: unknown, or of block 1.
    unknown = replace(leaf, task_id=b"\x05" * 32)
    rejected(chain, replace(good, leaves=(unknown,)).encode(), "no such task")
    block1 = chain.block_at(1)
    assert block1 is not None
    rejected(
        chain,
        replace(good, block_height=1, block_hash=block1.hash).encode(),
        "submitted in block",
    )
    rejected(chain, replace(good, leaves=(leaf, leaf)).encode(), "answered twice")
    no_program_built()
    assert chain.state().task(task_id).status is TaskStatus.PENDING  # type: ignore[union-attr]


def test_statement_must_be_made_for_the_task(v1_chain, task_proof: TaskProof) -> None:  # type: ignore[no-untyped-def]
    chain, block, task_id = v1_chain
    good = placeholder_v1(task_proof, block, task_id)
    receipts = chain.receipts(block.hash)
    assert receipts is not None
    other_task = receipts[1].created  # same program and input, budget of 2 cycles
    # The statement of task A presented for task B (same program and input): the lift would
    # digest B's id beside A's statement, so the outer check must refuse it.
    moved = replace(good.leaves[0], task_id=other_task)
    rejected(chain, replace(good, leaves=(moved,)).encode(), "made for another task")
    st = replace(task_proof.statement, task_id=other_task)
    over = V1Leaf(other_task, good.leaves[0].shape, st.to_bytes())
    rejected(chain, replace(good, leaves=(over,)).encode(), "cycles > budget 2")
    st = replace(task_proof.statement, input_digest=b"\x01" * 32)
    rejected(
        chain,
        replace(good, leaves=(replace(good.leaves[0], statement=st.to_bytes()),)).encode(),
        "another input",
    )
    no_program_built()


def test_only_allowed_lift_shapes_and_one_per_proof(tmp_path: Path, task_proof: TaskProof) -> None:
    shape = shape_of(task_proof)
    other = (shape[0] + 1, *shape[1:])
    chain, block, task_id = open_chain(tmp_path / "c", v1_params((other,)))
    for cache in (lift_mod._RECORDINGS, lift_mod._KEYS, join_mod._RECORDINGS, join_mod._KEYS):
        cache.clear()
    try:
        good = placeholder_v1(task_proof, block, task_id)
        rejected(chain, good.encode(), "lift shape .* is not allowed")
        no_program_built()
    finally:
        chain.close()
    chain, block, task_id = open_chain(tmp_path / "d", v1_params((shape, other)))
    try:
        good = placeholder_v1(task_proof, block, task_id)
        receipts = chain.receipts(block.hash)
        assert receipts is not None
        second = V1Leaf(receipts[1].created, other, good.leaves[0].statement)
        mixed = replace(good, leaves=(good.leaves[0], second))
        rejected(chain, mixed.encode(), "one lift shape")
        no_program_built()
    finally:
        chain.close()


def test_versions_do_not_mix(tmp_path: Path, v1_chain, task_proof: TaskProof) -> None:  # type: ignore[no-untyped-def]
    chain, block, task_id = v1_chain
    v0 = UniversalProof(
        block.height, block.hash, (ProofLeaf(task_id, PROVER, task_proof.to_bytes()),)
    )
    rejected(chain, v0.encode(), "version 1 proofs only")
    v1_bytes = placeholder_v1(task_proof, block, task_id).encode()
    chain0, block0, task0 = open_chain(tmp_path / "v0", ProtocolParams())
    try:
        v1_on_v0 = placeholder_v1(task_proof, block0, task0).encode()
        rejected(chain0, v1_on_v0, "version 0 proofs only")
    finally:
        chain0.close()
    # Malformed v1 bytes are a named refusal too.
    rejected(chain, v1_bytes[:-3], "invalid_universal_proof")
    rejected(chain, v1_bytes + b"\x00", "trailing bytes")
    no_program_built()
