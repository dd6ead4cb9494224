"""Review of staking (issue 9): a prover cannot dodge a miss by unregistering before the proof
of the next one in line lands (a test that failed before its fix)."""

from __future__ import annotations

from pathlib import Path

from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.staking import (
    build_register_prover_tx,
    build_unregister_prover_tx,
    prover_stake,
    rank_provers,
    unbondings,
)
from execution.types import Block, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis import GWEI, AccountKey, ProtocolParams
from genesis.params import ETHER

ALICE, BOB, CAROL, DAVE = account_keys(4)
PROVER = b"\x77" * 20  # the proof's own prover: not registered
ELF = program_elf(fib_loop_program(5))
PARAMS = ProtocolParams(prover_timeout_blocks=2, prover_max_misses=3, min_prover_stake=ETHER)


def _tx(key: AccountKey, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def _commit(chain: Chain, txs: list[bytes] | None = None, proofs: tuple[bytes, ...] = ()) -> Block:
    block = chain.build_block(
        txs or [],
        validator_key()[0].address,
        chain.head.header.time_ms + 1000,
        universal_proofs=proofs,
    )
    chain.commit_block(block)
    return block


def test_unregistering_after_the_window_passed_does_not_dodge_the_miss(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "c", make_genesis(params=PARAMS))
    try:
        register = [
            build_register_prover_tx(k.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER).raw
            for k in (CAROL, DAVE)
        ]
        _commit(chain, [_tx(ALICE, 0, b"", ELF, 50_000_000), *register])  # height 1
        request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, 1000)
        task_block = _commit(chain, [_tx(BOB, 0, TASK_SYSTEM_ADDRESS, request.encode(), 100_000)])
        receipts = chain.receipts(task_block.hash)
        assert receipts is not None
        task_id = receipts[0].created
        first, _ = rank_provers(task_block.hash, task_id, [CAROL.address, DAVE.address])
        key = CAROL if first == CAROL.address else DAVE
        _commit(chain)  # height 3: the first one's window (blocks 2..3) closes
        # Height 4: seeing that it missed, the first in line leaves before a proof lands.
        _commit(
            chain, [build_unregister_prover_tx(key.private_key, chain_id=CHAIN_ID, nonce=1).raw]
        )
        proof = prove(ELF, b"", "conjectured", prover=PROVER, task_id=task_id).to_bytes()
        up = UniversalProof(
            task_block.height, task_block.hash, (ProofLeaf(task_id, PROVER, proof),)
        )
        _commit(chain, proofs=(up.encode(),))  # height 5
        cut = ETHER * PARAMS.prover_miss_slash_ppm // 1_000_000
        record = prover_stake(chain.state(), first)
        assert record is not None and (record.misses, record.slashed) == (1, cut)
        assert [e.amount for e in unbondings(chain.state(), first)] == [ETHER - cut]
    finally:
        chain.close()
