"""Prover stakes and misses: a real task proof accepted after the first in line let its window
pass charges that prover (execution.staking.slashing)."""

from __future__ import annotations

from pathlib import Path

from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.staking import (
    ProverStatus,
    build_register_prover_tx,
    prover_stake,
    provers_at,
    rank_provers,
    unbondings,
)
from execution.types import Block, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import GWEI, ProtocolParams
from genesis.params import ETHER

ALICE, BOB, CAROL, DAVE = account_keys(4)
PROVER = b"\x77" * 20  # the proof's own prover: not registered
ELF = program_elf(fib_loop_program(5))
TIMEOUT = 2
PARAMS = ProtocolParams(prover_timeout_blocks=TIMEOUT, prover_max_misses=1, min_prover_stake=ETHER)


def _tx(key, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:  # type: ignore[no-untyped-def]
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def _commit(chain: Chain, txs: list[bytes] = [], proofs: tuple[bytes, ...] = ()) -> Block:  # noqa: B006
    block = chain.build_block(
        txs, validator_key()[0].address, chain.head.header.time_ms + 1000, universal_proofs=proofs
    )
    chain.commit_block(block)
    return block


def test_a_late_proof_charges_the_provers_whose_turn_passed(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "c", make_genesis(params=PARAMS))
    try:
        register = [
            build_register_prover_tx(k.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER).raw
            for k in (CAROL, DAVE)
        ]
        _commit(chain, [_tx(ALICE, 0, b"", ELF, 50_000_000), *register])  # height 1
        assert sorted(provers_at(chain.state(), 2)) == sorted([CAROL.address, DAVE.address])
        request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, 1000)
        task_block = _commit(chain, [_tx(BOB, 0, TASK_SYSTEM_ADDRESS, request.encode(), 100_000)])
        receipts = chain.receipts(task_block.hash)
        assert receipts is not None
        task_id = receipts[0].created
        first, second = rank_provers(task_block.hash, task_id, [CAROL.address, DAVE.address])
        # The first in line had blocks 2..3; block 5 is past its window, not past the second's.
        _commit(chain)
        _commit(chain)  # height 4
        proof = prove(ELF, b"", "conjectured", prover=PROVER, task_id=task_id).to_bytes()
        up = UniversalProof(
            task_block.height, task_block.hash, (ProofLeaf(task_id, PROVER, proof),)
        )
        _commit(chain, proofs=(up.encode(),))  # height 5
        state = chain.state()
        missed, waiting = prover_stake(state, first), prover_stake(state, second)
        assert missed is not None and waiting is not None
        cut = ETHER * PARAMS.prover_miss_slash_ppm // 1_000_000
        assert (missed.misses, missed.slashed) == (1, cut)
        assert (waiting.misses, waiting.slashed, waiting.stake) == (0, 0, ETHER)
        # prover_max_misses = 1: out of the set from the next block, its rest unbonding.
        assert missed.status is ProverStatus.UNREGISTERED and missed.stake == 0
        assert provers_at(state, 6) == [second]
        assert unbondings(state, first)[0].amount == ETHER - cut
    finally:
        chain.close()
