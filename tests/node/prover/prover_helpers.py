"""Shared constants and records of the prover-role tests."""

from __future__ import annotations

from collections.abc import Callable

from execution.programs import image_id_bytes_of_elf
from execution.state import Task, TaskStatus
from execution.zkproof.samples import fib_loop_program, program_elf
from genesis.keys import AccountKey

ELF = program_elf(fib_loop_program(5))
OTHER_ELF = program_elf(fib_loop_program(6))
PROFILE = "conjectured"
# The prover account of the tests: proofs are made for its address and signed with its key.
PROVER_KEY = AccountKey((0x77).to_bytes(32, "big"))
PROVER = PROVER_KEY.address
T1, T2, T3 = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
# The session fixture `proof_for(task_id, elf=ELF)`: a proof for PROVER and that task.
ProofFor = Callable[..., bytes]


def make_task(task_id: bytes, height: int = 3, elf: bytes = ELF, inp: bytes = b"") -> Task:
    return Task(
        task_id=task_id,
        image_id=image_id_bytes_of_elf(elf),
        submitter=b"\x11" * 20,
        input=inp,
        max_cycles=10_000,
        fee_per_cycle=1,
        escrow=10_000,
        status=TaskStatus.PENDING,
        submitted_height=height,
        deadline_height=height + 100,
    )


# ---- real chains with a deployed sample program and one task ------------------------------

FEE_PER_CYCLE = 1000


def _tx(key, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:  # type: ignore[no-untyped-def]
    from chain_helpers import CHAIN_ID

    from execution.types import Transaction
    from genesis import GWEI

    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def build_task_chain(  # type: ignore[no-untyped-def]
    path, genesis, task_block_ok=lambda block, task_id: True
):
    """A chain with the sample program deployed (block 1) and one task of it (block 2).

    `task_block_ok(block, task_id)` may refuse a candidate task block (its hash fixes the
    provers' order); the time is moved on until it accepts. Returns (chain, blocks, task_id).
    """
    from chain_helpers import account_keys, validator_key

    from execution.chain import Chain
    from execution.types import TaskRequest
    from execution.types.transaction import TASK_SYSTEM_ADDRESS

    alice, bob = account_keys(2)
    proposer = validator_key()[0].address
    chain = Chain.open(path, genesis)
    deploy = chain.build_block([_tx(alice, 0, b"", ELF, 50_000_000)], proposer, 2_000)
    chain.commit_block(deploy)
    request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, FEE_PER_CYCLE)
    task_tx = _tx(bob, 0, TASK_SYSTEM_ADDRESS, request.encode(), 100_000)
    for t in range(3_000, 3_100):
        block = chain.build_block([task_tx], proposer, t)
        from execution.types import Transaction

        task_id = bytes(Transaction.decode(task_tx).hash)
        if task_block_ok(block, task_id):
            break
    chain.commit_block(block)
    return chain, [deploy, block], task_id


def empty_block(chain, time_ms: int):  # type: ignore[no-untyped-def]
    from chain_helpers import validator_key

    return chain.build_block([], validator_key()[0].address, time_ms)
