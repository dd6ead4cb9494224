"""The native state transition: transfers, program deploys and task registrations.

`apply_block` reads as the protocol: check the block's own commitments, accept the Universal
Proofs it brings in (task results enter the state only here), apply every transaction in
order, expire the tasks whose deadline has come, then check the roots the header claims. Any invalid transaction makes
the whole block invalid (a proposer includes only valid ones; the mempool filters them), and
because all writes go to a copy of the state, nothing of a failed block is applied.

Fees follow EIP-1559 with a protocol-fixed base fee: the sender pays gas_used times
min(max_fee, base_fee + tip); the base fee part is burned and the tip goes to the proposer.
A task submission also escrows max_cycles * fee_per_cycle until the task is proven (the fee
then pays the prover) or expires (the escrow is refunded).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from execution.programs import image_id_bytes_of_elf
from execution.staking import (
    apply_staking,
    charge_missed,
    check_staking,
    release_unbonded,
    reschedule,
    slash_double_signs,
    slash_invalid_proofs,
    unregister_prover,
    validators_at,
)
from execution.state import Account, Program, State, Task, TaskStatus, program_address
from execution.types.block import Block, UniversalProofRef, evidence_root, transactions_root
from execution.types.errors import DecodingError, InvalidBlock, InvalidTransaction
from execution.types.hashing import keccak256
from execution.types.receipt import Receipt, receipts_root
from execution.types.staking import FUNDED_OPS
from execution.types.transaction import TaskRequest, Transaction, TxKind
from execution.universal import InvalidUniversalProof, TaskResult, UniversalProof
from execution.universal.version import is_v1
from genesis.params import UNIVERSAL_PROOF_V0, UNIVERSAL_PROOF_V1, ProtocolParams

if TYPE_CHECKING:
    from execution.stark.params import FriParams

# elf_of(program record) -> the deployed ELF bytes, or None (execution.universal.accept_v1)
ElfOf = Callable[[Program], bytes | None]


def _no_elf(_record: Program) -> bytes | None:
    return None


@dataclass(frozen=True)
class BlockContext:
    chain_id: int
    height: int
    proposer: bytes
    params: ProtocolParams
    # The chain's genesis hash, which proof envelopes bind (execution.staking.proof_envelope).
    # No default: with a wrong one every invalid-proof item fails bad_signature, so a node
    # that forgot it would reject blocks every other node accepts.
    genesis_hash: bytes
    fee_recipient: bytes = b""  # the proposer's reward address; empty burns the tips


def intrinsic_gas(tx: Transaction, params: ProtocolParams) -> int:
    zeros = tx.data.count(0)
    gas = (
        params.tx_base_gas
        + zeros * params.data_zero_byte_gas
        + (len(tx.data) - zeros) * params.data_nonzero_byte_gas
    )
    if tx.kind is TxKind.DEPLOY:
        gas += len(tx.data) * params.program_byte_gas
    return gas


def check_transaction_static(tx: Transaction, chain_id: int, params: ProtocolParams) -> None:
    """Checks that need no state: chain, signature, fee fields, gas, payload shape."""
    if tx.chain_id != chain_id:
        raise InvalidTransaction(
            "wrong_chain", f"signed for chain {tx.chain_id}, this is {chain_id}"
        )
    _ = tx.sender  # raises bad_signature
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise InvalidTransaction("fee_tip_above_cap", "max_priority_fee_per_gas > max_fee_per_gas")
    if tx.max_fee_per_gas < params.base_fee_per_gas:
        raise InvalidTransaction(
            "fee_cap_below_base_fee",
            f"max_fee_per_gas {tx.max_fee_per_gas} < {params.base_fee_per_gas}",
        )
    needed = intrinsic_gas(tx, params)
    if tx.gas_limit < needed:
        raise InvalidTransaction("intrinsic_gas", f"gas_limit {tx.gas_limit} < {needed}")
    if tx.gas_limit > params.block_gas_limit:
        raise InvalidTransaction("gas_limit_above_block", f"gas_limit {tx.gas_limit}")
    kind = tx.kind
    if kind is TxKind.TRANSFER and tx.data:
        raise InvalidTransaction("malformed_data", "a transfer carries no data")
    if kind is TxKind.STAKE:
        op = tx.staking_op  # raises malformed_data
        if op.kind not in FUNDED_OPS and tx.value:
            raise InvalidTransaction("malformed_data", f"{op.kind.name.lower()} carries no value")
    elif kind is not TxKind.TRANSFER and tx.value:
        raise InvalidTransaction("malformed_data", "only transfers and stakes carry value")
    if kind is TxKind.DEPLOY and len(tx.data) > params.max_program_bytes:
        raise InvalidTransaction("malformed_data", f"program of {len(tx.data)} bytes is too large")
    if kind is TxKind.TASK:
        req = tx.task_request
        if not 1 <= req.max_cycles <= params.max_task_cycles:
            raise InvalidTransaction(
                "task_cycles", f"max_cycles must be in [1, {params.max_task_cycles}]"
            )
        if len(req.input) > params.max_task_input_bytes:
            raise InvalidTransaction("task_input_too_large", f"{len(req.input)} bytes")
        if req.fee_per_cycle < params.min_fee_per_cycle:
            raise InvalidTransaction(
                "task_fee_too_low", f"fee_per_cycle < {params.min_fee_per_cycle}"
            )


def apply_transaction(state: State, tx: Transaction, ctx: BlockContext) -> tuple[int, int, bytes]:
    """Apply one transaction to `state`; return (gas_used, fee_paid, created).

    Raises InvalidTransaction before touching the state when the transaction cannot apply.
    """
    params = ctx.params
    check_transaction_static(tx, ctx.chain_id, params)
    sender = tx.sender
    account = state.account(sender)
    if tx.nonce != account.nonce:
        reason = "nonce_too_low" if tx.nonce < account.nonce else "nonce_too_high"
        raise InvalidTransaction(reason, f"expected nonce {account.nonce}, got {tx.nonce}")

    gas_used = intrinsic_gas(tx, params)
    price = min(tx.max_fee_per_gas, params.base_fee_per_gas + tx.max_priority_fee_per_gas)
    fee = gas_used * price
    tip = gas_used * (price - params.base_fee_per_gas)
    kind = tx.kind
    escrow = 0
    created = b""
    request: TaskRequest | None = None
    image_id = b""
    if kind is TxKind.TASK:
        request = tx.task_request
        if state.program(request.image_id) is None:
            raise InvalidTransaction("unknown_program", request.image_id.hex())
        escrow = request.max_cycles * request.fee_per_cycle
    elif kind is TxKind.DEPLOY:
        image_id = image_id_bytes_of_elf(tx.data)
        if state.program(image_id) is not None:
            raise InvalidTransaction("program_exists", image_id.hex())
    elif kind is TxKind.STAKE:
        check_staking(state, sender, tx.staking_op, tx.value, params, chain_id=ctx.chain_id)
    # The sender must afford the worst case it signed for, not just what it ends up paying.
    worst_case = tx.value + tx.gas_limit * tx.max_fee_per_gas + escrow
    if account.balance < worst_case:
        raise InvalidTransaction(
            "insufficient_balance", f"balance {account.balance} < {worst_case}"
        )

    # -- from here on nothing can fail -------------------------------------------------------
    state.set_account(sender, Account(account.nonce + 1, account.balance - tx.value - fee - escrow))
    if kind is TxKind.TRANSFER:
        to = state.account(tx.to)
        state.set_account(tx.to, Account(to.nonce, to.balance + tx.value))
    elif kind is TxKind.STAKE:
        apply_staking(state, sender, tx.staking_op, tx.value, params, ctx.height)
    elif kind is TxKind.DEPLOY:
        state.set_program(Program(image_id, keccak256(tx.data), len(tx.data), sender, ctx.height))
        created = program_address(image_id)
    else:
        assert request is not None
        task_id = tx.hash
        state.set_task(
            Task(
                task_id=task_id,
                image_id=request.image_id,
                submitter=sender,
                input=request.input,
                max_cycles=request.max_cycles,
                fee_per_cycle=request.fee_per_cycle,
                escrow=escrow,
                status=TaskStatus.PENDING,
                submitted_height=ctx.height,
                deadline_height=ctx.height + params.task_deadline_blocks,
            )
        )
        state.add_task_due(ctx.height + params.task_deadline_blocks, task_id)
        created = task_id
    if tip and ctx.fee_recipient:
        recipient = state.account(ctx.fee_recipient)
        state.set_account(ctx.fee_recipient, Account(recipient.nonce, recipient.balance + tip))
    return gas_used, fee, created


def accept_universal_proofs(
    state: State,
    proofs: Sequence[bytes],
    height: int,
    params: ProtocolParams,
    block_hash_at: Callable[[int], bytes | None],
    elf_of: ElfOf = _no_elf,
    recursion_params: FriParams | None = None,
) -> list[UniversalProofRef]:
    """Verify the Universal Proofs a block at `height` brings in, enter their results into the
    state, and return the references (proven block, root) its header must list.

    Only here do task outputs, cycle counts and prover rewards reach the state: the prover is
    paid cycles * fee_per_cycle from the escrow and the submitter gets the rest back. The
    genesis fixes the version: v0 trees (every task proof verified) or v1 recursion roots
    (execution/universal/accept_v1.py; `elf_of` gives a task's program, and
    `recursion_params`, the chain's profile unless a test passes the cheap one, are the task
    and recursion proofs' FRI parameters)."""
    refs: list[UniversalProofRef] = []
    v1 = params.universal_proof_version == UNIVERSAL_PROOF_V1
    for index, raw in enumerate(proofs):
        try:
            # Rule: the chain's version only (a v1 chain must not fall back to v0 trees).
            if is_v1(raw) != v1:
                want = UNIVERSAL_PROOF_V1 if v1 else UNIVERSAL_PROOF_V0
                raise InvalidUniversalProof(f"this chain takes version {want} proofs only")
            if v1:
                # The recursion stack loads only on a v1 chain.
                from execution.stark.params import profile as fri_profile
                from execution.universal.accept_v1 import check_v1

                fri = recursion_params or fri_profile(params.proof.profile)
                up, root, answered = check_v1(
                    state,
                    raw,
                    height,
                    params.universal_proof_lift_shapes,
                    fri,
                    block_hash_at,
                    elf_of,
                )
                proven_height = up.block_height
            else:
                proof = UniversalProof.decode(raw)
                if not 1 <= proof.block_height < height:
                    raise InvalidUniversalProof(f"names block {proof.block_height}")
                if block_hash_at(proof.block_height) != proof.block_hash:
                    raise InvalidUniversalProof("names a block hash that is not the chain's")
                tasks = [state.task(leaf.task_id) for leaf in proof.leaves]
                root, results = proof.verify(tasks, params.proof.profile)
                answered = []
                for task, result in zip(tasks, results, strict=True):
                    if task is None:  # verify() refuses unknown tasks; this keeps types honest
                        raise InvalidUniversalProof("unknown task")
                    answered.append((task, result))
                proven_height = proof.block_height
        except InvalidUniversalProof as exc:
            raise InvalidBlock(
                "invalid_universal_proof", f"#{index}: {exc}", index=index, leaf=exc.leaf
            ) from exc
        for task, result in answered:
            _enter_result(state, task, result, height, params, block_hash_at)
        refs.append(UniversalProofRef(proven_height, root, keccak256(raw)))
    return refs


def _enter_result(
    state: State,
    task: Task,
    result: TaskResult,
    height: int,
    params: ProtocolParams,
    block_hash_at: Callable[[int], bytes | None],
) -> None:
    """A proven task's result enters the state: misses charged, the prover paid from the
    escrow, the rest refunded (the same for every Universal Proof version)."""
    # Provers ahead of this one in the task's order that let their window pass.
    for gone in charge_missed(
        state, task, result.prover, height, block_hash_at(task.submitted_height), params
    ):
        unregister_prover(state, gone, params, height)
    paid = min(result.cycles * task.fee_per_cycle, task.escrow)
    state.set_task(task.with_result(result.exit_code, result.output, result.cycles, result.prover))
    prover = state.account(result.prover)
    state.set_account(result.prover, Account(prover.nonce, prover.balance + paid))
    submitter = state.account(task.submitter)
    state.set_account(
        task.submitter, Account(submitter.nonce, submitter.balance + task.escrow - paid)
    )


def expire_tasks(state: State, height: int) -> list[bytes]:
    """Expire the tasks whose deadline is `height` and are still pending; refund their escrow.

    Runs at the end of every block, after the block's proofs and transactions, so a task
    proven in its deadline block is not expired. Returns the ids of the expired tasks."""
    expired = []
    for task_id in state.tasks_due(height):
        task = state.task(task_id)
        if task is None or task.status is not TaskStatus.PENDING:
            continue
        state.set_task(replace(task, status=TaskStatus.EXPIRED))
        submitter = state.account(task.submitter)
        state.set_account(task.submitter, Account(submitter.nonce, submitter.balance + task.escrow))
        expired.append(task_id)
    return expired


def execute_transactions(
    state: State, raw_transactions: Sequence[bytes], ctx: BlockContext
) -> list[Receipt]:
    """Apply transactions in order to `state`; InvalidBlock names the first bad one."""
    receipts: list[Receipt] = []
    cumulative = 0
    for index, raw in enumerate(raw_transactions):
        try:
            tx = Transaction.decode(raw)
            gas_used, fee, created = apply_transaction(state, tx, ctx)
        except DecodingError as exc:
            raise InvalidBlock(
                "invalid_transaction", f"#{index}: malformed_transaction: {exc}", index=index
            ) from exc
        except InvalidTransaction as exc:
            raise InvalidBlock("invalid_transaction", f"#{index}: {exc}", index=index) from exc
        cumulative += gas_used
        if cumulative > ctx.params.block_gas_limit:
            raise InvalidBlock("block_gas_limit", f"exceeded at transaction #{index}")
        receipts.append(Receipt(tx.hash, int(tx.kind), 1, gas_used, cumulative, fee, created))
    return receipts


def execute_body(
    state: State,
    transactions: Sequence[bytes],
    universal_proofs: Sequence[bytes],
    ctx: BlockContext,
    block_hash_at: Callable[[int], bytes | None],
    evidence: Sequence[bytes] = (),
    elf_of: ElfOf = _no_elf,
) -> tuple[list[UniversalProofRef], list[Receipt]]:
    """The body of a block, in protocol order, applied to `state` (the one sequence both the
    proposer building a block and a validator checking it run): accept the Universal Proofs,
    slash the validators the evidence convicts, apply the transactions, expire the tasks whose
    deadline this block is, release the unbonding funds due, and schedule the validator set the
    stakes now give (execution.staking) at height + validator_set_delay."""
    # Rule: the proposer is a member of this height's set (fixed validator_set_delay ago).
    members = validators_at(state, ctx.height)
    proposer = next((v for v in members if v.address == ctx.proposer), None)
    if proposer is None:
        raise InvalidBlock("unknown_proposer", ctx.proposer.hex())
    ctx = replace(ctx, fee_recipient=proposer.reward_address)
    refs = accept_universal_proofs(
        state, universal_proofs, ctx.height, ctx.params, block_hash_at, elf_of
    )
    convicted = slash_double_signs(state, evidence, ctx.height, ctx.params)
    slash_invalid_proofs(
        state,
        evidence,
        ctx.genesis_hash,
        ctx.height,
        ctx.params,
        sum(len(raw) for raw in universal_proofs),
    )
    receipts = execute_transactions(state, transactions, ctx)
    expire_tasks(state, ctx.height)
    release_unbonded(state, ctx.height)
    if convicted or any(r.kind == TxKind.STAKE for r in receipts):
        reschedule(state, ctx.params, ctx.height)
    return refs, receipts


def apply_block(
    state: State,
    block: Block,
    chain_id: int,
    params: ProtocolParams,
    genesis_hash: bytes,
    block_hash_at: Callable[[int], bytes | None] = lambda height: None,
    elf_of: ElfOf = _no_elf,
) -> tuple[State, list[Receipt]]:
    """Apply `block` to a copy of `state`; return the new state and the receipts.

    The header's own commitments (transactions, evidence, last commit) and the roots it claims
    (state, receipts, gas used) must all match, or InvalidBlock is raised and `state` is
    unchanged. Parent linkage, height and time are the chain's to check (execution.chain).
    """
    header = block.header
    if header.chain_id != chain_id:
        raise InvalidBlock("wrong_chain", f"header chain id {header.chain_id}, expected {chain_id}")
    if transactions_root(block.transactions) != header.transactions_root:
        raise InvalidBlock("bad_transactions_root")
    if evidence_root(block.evidence) != header.evidence_root:
        raise InvalidBlock("bad_evidence_root")
    if keccak256(block.last_commit) != header.last_commit_hash:
        raise InvalidBlock("bad_last_commit_hash")
    new_state = state.copy()
    ctx = BlockContext(header.chain_id, header.height, header.proposer, params, genesis_hash)
    refs, receipts = execute_body(
        new_state,
        block.transactions,
        block.universal_proofs,
        ctx,
        block_hash_at,
        block.evidence,
        elf_of,
    )
    if tuple(refs) != header.universal_proofs:
        raise InvalidBlock(
            "universal_proofs_mismatch", "the header lists other proofs than the body"
        )
    gas_used = receipts[-1].cumulative_gas_used if receipts else 0
    if gas_used != header.gas_used:
        raise InvalidBlock("bad_gas_used", f"header says {header.gas_used}, block used {gas_used}")
    if receipts_root(receipts) != header.receipts_root:
        raise InvalidBlock("bad_receipts_root")
    if new_state.root() != header.state_root:
        raise InvalidBlock("bad_state_root")
    return new_state, receipts
