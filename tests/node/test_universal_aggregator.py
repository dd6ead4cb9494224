"""The proposer packs pooled task proofs into Universal Proofs (node/aggregator.py), on a real
chain with real proofs: budgets split a block's tasks over several Universal Proofs and blocks,
a bad pooled proof is dropped and the rest still enter, resolved tasks leave the pool, and the
`proven` height follows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.state import TaskStatus
from execution.types import Block, InvalidBlock, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, fib_loop_result, program_elf
from genesis import GWEI, ProtocolParams
from node.aggregator import (
    drop_rejected,
    pack_universal_proofs,
    pending_blocks,
    proven_height,
    resolved_task_ids,
    tampered,
)
from node.proof_pool import ProofPool, verify_proof

ALICE, BOB, CAROL = account_keys(3)
PROVERS = (b"\x71" * 20, b"\x72" * 20)
ELF = program_elf(fib_loop_program(5))
FEE_PER_CYCLE = 1000
DEADLINE = 6


ProofFor = Callable[[bytes, bytes], bytes]


@pytest.fixture(scope="module")
def proof_for() -> ProofFor:
    """`proof_for(task_id, prover)`: a task proof binds the task it answers and the prover it
    pays, so each (task, prover) gets its own proof, made once per module (task ids are
    transaction hashes: the same in every test that sends the same transactions)."""
    made: dict[tuple[bytes, bytes], bytes] = {}

    def make(task_id: bytes, prover: bytes) -> bytes:
        if (task_id, prover) not in made:
            proof = prove(ELF, b"", "conjectured", prover=prover, task_id=task_id)
            made[task_id, prover] = proof.to_bytes()
        return made[task_id, prover]

    return make


def _tx(key, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:  # type: ignore[no-untyped-def]
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def _commit(chain: Chain, txs: list[bytes] = [], proofs: tuple[bytes, ...] = ()) -> Block:  # noqa: B006
    block = chain.build_block(
        txs, validator_key()[0].address, chain.head.header.time_ms + 1000, universal_proofs=proofs
    )
    chain.commit_block(block)
    return block


def _submit(chain: Chain, senders: list, nonces: dict[bytes, int]) -> list[bytes]:  # type: ignore[type-arg]
    request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, FEE_PER_CYCLE)
    txs = []
    for key in senders:
        nonce = nonces.get(key.address, 0)
        nonces[key.address] = nonce + 1
        txs.append(_tx(key, nonce, TASK_SYSTEM_ADDRESS, request.encode(), 100_000))
    block = _commit(chain, txs)
    receipts = chain.receipts(block.hash)
    assert receipts is not None
    return [r.created for r in receipts]


class ListPool:
    """A pool that hands out whatever it was given, unverified (to show the chain's checks)."""

    def __init__(self, leaves: dict[int, list[ProofLeaf]]) -> None:
        self.leaves = leaves
        self.discarded: list[bytes] = []

    def for_block(self, height: int) -> list[ProofLeaf]:
        return [x for x in self.leaves.get(height, []) if x.task_id not in self.discarded]

    def discard(self, task_ids: Iterable[bytes]) -> int:
        ids = list(task_ids)
        self.discarded.extend(ids)
        return len(ids)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.open(
        tmp_path / "c", make_genesis(params=ProtocolParams(task_deadline_blocks=DEADLINE))
    )
    _commit(c, [_tx(ALICE, 0, b"", ELF, 50_000_000)])
    yield c
    c.close()


def _pool_with(
    chain: Chain, tmp_path: Path, task_ids: list[bytes], proof_for: ProofFor
) -> ProofPool:
    pool = ProofPool.open(tmp_path / "proofs")
    state = chain.state()
    for i, task_id in enumerate(task_ids):
        prover = PROVERS[i % 2]
        verified = verify_proof(
            state.task(task_id),
            task_id,
            prover,
            proof_for(task_id, prover),
            chain.genesis.params.proof.profile,
        )
        assert pool.add(verified)
    return pool


def test_budget_spreads_a_blocks_tasks_over_several_universal_proofs(
    chain: Chain, tmp_path: Path, proof_for: ProofFor
) -> None:
    nonces = {ALICE.address: 1}
    first = _submit(chain, [ALICE, BOB, CAROL], nonces)  # block 2
    second = _submit(chain, [BOB], nonces)  # block 3
    assert [pb.height for pb in pending_blocks(chain)] == [2, 3]
    assert proven_height(chain) == 1
    pool = _pool_with(chain, tmp_path, first + second, proof_for)

    sizes = [len(p.leaf.task_proof) for t in first + second if (p := pool.get(t)) is not None]
    budget = 2 * max(sizes) + 200  # two leaves per block
    proofs = pack_universal_proofs(chain, pool, budget)
    ups = [UniversalProof.decode(p) for p in proofs]
    assert [(up.block_height, len(up.leaves)) for up in ups] == [(2, 2)]
    block = _commit(chain, proofs=proofs)
    pool.discard(resolved_task_ids(block, chain.state()))
    assert len(pool) == 2
    assert proven_height(chain) == 1  # one task of block 2 is still pending

    # The rest of block 2 and block 3 come in the next block, as two Universal Proofs.
    proofs = pack_universal_proofs(chain, pool, budget)
    assert [UniversalProof.decode(p).block_height for p in proofs] == [2, 3]
    block = _commit(chain, proofs=proofs)
    pool.discard(resolved_task_ids(block, chain.state()))
    assert len(pool) == 0
    assert proven_height(chain) == chain.height
    exit_code, cycles = fib_loop_result(5)
    state = chain.state()
    for task_id in first + second:
        task = state.task(task_id)
        assert task is not None and task.status is TaskStatus.PROVEN
        assert (task.exit_code, task.cycles) == (exit_code, cycles)
    assert {state.task(t).prover for t in first} == set(PROVERS)  # type: ignore[union-attr]
    assert pack_universal_proofs(chain, pool) == ()


def test_a_bad_pooled_proof_is_dropped_and_the_others_enter(
    chain: Chain, proof_for: ProofFor
) -> None:
    ids = _submit(chain, [BOB, CAROL, ALICE], {ALICE.address: 1})
    leaves = [ProofLeaf(t, PROVERS[0], proof_for(t, PROVERS[0])) for t in ids]
    bad = bytearray(leaves[1].task_proof)
    bad[len(bad) // 2] ^= 1
    leaves[1] = replace(leaves[1], task_proof=bytes(bad))
    pool = ListPool({2: leaves})
    proofs = pack_universal_proofs(chain, pool, 4 * len(bad))  # all three leaves
    with pytest.raises(InvalidBlock) as info:
        _commit(chain, proofs=proofs)
    assert (info.value.index, info.value.leaf) == (0, 1)  # the Universal Proof and its leaf
    proofs = drop_rejected(proofs, info.value, pool)
    assert pool.discarded == [ids[1]]
    block = _commit(chain, proofs=proofs)
    assert resolved_task_ids(block, chain.state()) == [ids[0], ids[2]]
    state = chain.state()
    assert state.task(ids[1]).status is TaskStatus.PENDING  # type: ignore[union-attr]
    assert proven_height(chain) == 1


def test_expired_tasks_are_resolved_and_proven_height_moves_past_them(chain: Chain) -> None:
    ids = _submit(chain, [BOB], {ALICE.address: 1})  # block 2, deadline block 2 + DEADLINE
    for _ in range(DEADLINE - 1):
        _commit(chain)
        assert proven_height(chain) == 1
    block = _commit(chain)
    assert block.height == 2 + DEADLINE
    assert resolved_task_ids(block, chain.state()) == ids
    assert proven_height(chain) == chain.height
    assert pending_blocks(chain) == []


def test_tampered_block_keeps_the_header_and_is_rejected(
    chain: Chain, tmp_path: Path, proof_for: ProofFor
) -> None:
    ids = _submit(chain, [BOB], {ALICE.address: 1})
    pool = _pool_with(chain, tmp_path, ids, proof_for)
    block = chain.build_block(
        [],
        validator_key()[0].address,
        chain.head.header.time_ms + 1000,
        universal_proofs=pack_universal_proofs(chain, pool),
    )
    bad = tampered(block)
    assert bad.hash == block.hash and bad.universal_proofs != block.universal_proofs
    chain._executed = None  # a validator that did not build it
    with pytest.raises(InvalidBlock, match="invalid_universal_proof"):
        chain.check_block(bad)
    chain.commit_block(block)
    assert chain.state().task(ids[0]).status is TaskStatus.PROVEN  # type: ignore[union-attr]
