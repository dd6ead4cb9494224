"""`ChainView` over the real node: the chain database, the mempool and the p2p host.

Every method runs on the node's trio loop and only does LevelDB point reads and small
computations; a submitted transaction enters the mempool and is queued for batched gossip.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from typing import TYPE_CHECKING

from execution.chain import ChainError
from execution.staking import (
    ProverStatus,
    StakeStatus,
    owned_keys,
    prover_stake,
    unbondings,
    validator_stake,
)
from execution.state import TaskStatus
from execution.transition import intrinsic_gas
from execution.types.block import Block
from execution.types.errors import ExecutionError
from execution.types.receipt import Receipt
from execution.types.transaction import Transaction, TxKind
from genesis.keys import validator_address
from node.mempool import MempoolRejected
from node.rpc.chain_view import (
    EMPTY_CODE_HASH,
    EMPTY_TRIE_ROOT,
    AccountProof,
    CallRequest,
    NodeStatus,
    PeerInfo,
    ProgramInfo,
    RpcBlock,
    RpcReceipt,
    RpcTransaction,
    StateUnavailable,
    SyncStatus,
    TaskInfo,
    TransactionRejected,
    ValidatorInfo,
)
from node.rpc.methods_staking import BondInfo, ProverStakeInfo, StakeInfo
from storage import block_store
from storage.errors import StorageError
from storage.lru_cache import LruCache

if TYPE_CHECKING:
    from node.node import Node

_TASK_STATUS = {
    TaskStatus.PENDING: "pending",
    TaskStatus.PROVEN: "proven",
    TaskStatus.EXPIRED: "expired",
}
_KIND_NAMES = {
    TxKind.TRANSFER: "transfer",
    TxKind.DEPLOY: "deploy",
    TxKind.TASK: "task",
    TxKind.STAKE: "stake",
}
_STAKE_STATUS = {
    StakeStatus.BONDED: "bonded",
    StakeStatus.UNBONDED: "unbonded",
    StakeStatus.TOMBSTONED: "tombstoned",
}


def _version() -> str:
    try:
        return metadata.version("ivcnet")
    except metadata.PackageNotFoundError:
        return "unknown"


def rpc_transaction(
    tx: Transaction,
    base_fee: int,
    block: Block | None = None,
    index: int | None = None,
) -> RpcTransaction:
    price = min(tx.max_fee_per_gas, base_fee + tx.max_priority_fee_per_gas)
    return RpcTransaction(
        hash=tx.hash,
        nonce=tx.nonce,
        sender=tx.sender,
        to=tx.to or None,
        value=tx.value,
        input=tx.data,
        gas=tx.gas_limit,
        gas_price=price if block is not None else tx.max_fee_per_gas,
        max_fee_per_gas=tx.max_fee_per_gas,
        max_priority_fee_per_gas=tx.max_priority_fee_per_gas,
        chain_id=tx.chain_id,
        tx_type=2,
        kind=_KIND_NAMES[tx.kind],
        y_parity=tx.y_parity,
        r=tx.r,
        s=tx.s,
        block_hash=None if block is None else block.hash,
        block_number=None if block is None else block.height,
        transaction_index=index,
    )


# Committed blocks whose decoded form and receipts `NodeChainView` keeps. A block and its
# receipts never change once committed (no reorgs), and eth_getTransactionReceipt decoded both
# for every call: 100-270 ms on the event loop for a 2,000-transfer block, while a wallet
# polls the same recent blocks (docs/benchmarks.md, "Pubsub per-message cost").
RECENT_BLOCKS = 8


class NodeChainView:
    def __init__(self, node: Node) -> None:
        self.node = node
        self._blocks: LruCache[bytes, Block] = LruCache(RECENT_BLOCKS)
        self._receipts: LruCache[bytes, list[Receipt]] = LruCache(RECENT_BLOCKS)

    def _committed_block(self, height: int) -> Block | None:
        block_hash = block_store.hash_at(self.node.chain.db, height)
        if block_hash is None:
            return None
        block = self._blocks.get(block_hash)
        if block is None:
            block = self.node.chain.block_by_hash(block_hash)
            if block is None:
                return None
            self._blocks.put(block_hash, block)
        return block

    def _committed_receipts(self, block_hash: bytes) -> list[Receipt] | None:
        receipts = self._receipts.get(block_hash)
        if receipts is None:
            receipts = self.node.chain.receipts(block_hash)
            if receipts is None:
                return None
            self._receipts.put(block_hash, receipts)
        return receipts

    @property
    def _base_fee(self) -> int:
        return int(self.node.chain.genesis.params.base_fee_per_gas)

    async def chain_id(self) -> int:
        return int(self.node.chain.chain_id)

    async def head_height(self) -> int:
        return int(self.node.chain.height)

    def _state(self, height: int | None):  # type: ignore[no-untyped-def]
        chain = self.node.chain
        if height is None or height >= chain.height:
            return self.node.mempool.head_state() if height is None else chain.state()
        try:
            return chain.state_at(height)
        except (ChainError, StorageError) as exc:
            raise StateUnavailable(height, str(exc)) from None

    async def balance(self, address: bytes, height: int | None) -> int:
        try:
            return int(self._state(height).account(address).balance)
        except StorageError as exc:
            raise StateUnavailable(height or 0, str(exc)) from None

    async def nonce(self, address: bytes, height: int | None) -> int:
        if height is None:
            return self.node.mempool.pending_nonce(address)
        try:
            return int(self._state(height).account(address).nonce)
        except StorageError as exc:
            raise StateUnavailable(height, str(exc)) from None

    def _rpc_block(self, block: Block, full: bool) -> RpcBlock:
        txs = [Transaction.decode(raw) for raw in block.transactions]
        header = block.header
        return RpcBlock(
            number=block.height,
            hash=block.hash,
            parent_hash=header.parent_hash,
            timestamp=header.time_ms // 1000,
            proposer=header.proposer,
            state_root=header.state_root,
            transactions_root=header.transactions_root,
            receipts_root=header.receipts_root,
            transaction_hashes=tuple(tx.hash for tx in txs),
            size=len(block.encode()),
            gas_limit=self.node.chain.genesis.params.block_gas_limit,
            gas_used=header.gas_used,
            base_fee_per_gas=self._base_fee,
            transactions=(
                tuple(rpc_transaction(tx, self._base_fee, block, i) for i, tx in enumerate(txs))
                if full
                else None
            ),
        )

    async def block_by_number(self, number: int, full_transactions: bool) -> RpcBlock | None:
        block = self.node.chain.block_at(number)
        return None if block is None else self._rpc_block(block, full_transactions)

    async def block_by_hash(self, block_hash: bytes, full_transactions: bool) -> RpcBlock | None:
        block = self.node.chain.block_by_hash(block_hash)
        return None if block is None else self._rpc_block(block, full_transactions)

    def _located(self, tx_hash: bytes) -> tuple[Block, int] | None:
        loc = self.node.chain.transaction_location(tx_hash)
        if loc is None:
            return None
        height, index = loc
        block = self._committed_block(height)
        if block is None or index >= len(block.transactions):
            return None
        return block, index

    async def transaction_by_hash(self, tx_hash: bytes) -> RpcTransaction | None:
        entry = self.node.mempool.get(tx_hash)
        if entry is not None:
            return rpc_transaction(entry.tx, self._base_fee)
        found = self._located(tx_hash)
        if found is None:
            return None
        block, index = found
        return rpc_transaction(
            Transaction.decode(block.transactions[index]), self._base_fee, block, index
        )

    async def receipt_by_hash(self, tx_hash: bytes) -> RpcReceipt | None:
        found = self._located(tx_hash)
        if found is None:
            return None
        block, index = found
        receipts = self._committed_receipts(block.hash)
        if receipts is None or index >= len(receipts):
            return None
        receipt = receipts[index]
        tx = Transaction.decode(block.transactions[index])
        created = receipt.created if tx.kind is TxKind.DEPLOY and receipt.created else None
        return RpcReceipt(
            transaction_hash=tx.hash,
            transaction_index=index,
            block_hash=block.hash,
            block_number=block.height,
            sender=tx.sender,
            to=tx.to or None,
            success=receipt.status == 1,
            gas_used=receipt.gas_used,
            cumulative_gas_used=receipt.cumulative_gas_used,
            effective_gas_price=min(
                tx.max_fee_per_gas, self._base_fee + tx.max_priority_fee_per_gas
            ),
            tx_type=2,
            contract_address=created,
        )

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        try:
            return self.node.submit_transaction(raw)
        except MempoolRejected as exc:
            raise TransactionRejected(exc.reason) from None

    async def estimate_gas(self, call: CallRequest) -> int:
        params = self.node.chain.genesis.params
        tx = Transaction(
            chain_id=self.node.chain.chain_id,
            nonce=0,
            max_priority_fee_per_gas=0,
            max_fee_per_gas=params.base_fee_per_gas,
            gas_limit=0,
            to=call.to or b"",
            value=call.value,
            data=call.data,
        )
        gas = int(intrinsic_gas(tx, params))
        if call.sender is not None:
            balance = self.node.chain.state().account(call.sender).balance
            if balance < call.value + gas * params.base_fee_per_gas:
                raise TransactionRejected("insufficient funds for gas * price + value")
        return gas

    async def suggested_priority_fee(self) -> int:
        return 0

    async def account_proof(self, address: bytes, height: int) -> AccountProof:
        try:
            state = self._state(height)
            account, proof = state.prove_account(address)
        except (StorageError, ExecutionError) as exc:
            raise StateUnavailable(height, str(exc)) from None
        # ivcnet accounts have no code or storage: Ethereum's empty values, as wallets expect.
        return AccountProof(
            address=address,
            nonce=account.nonce,
            balance=account.balance,
            code_hash=EMPTY_CODE_HASH,
            storage_hash=EMPTY_TRIE_ROOT,
            proof=tuple(proof),
        )

    async def validators(self, height: int) -> Sequence[ValidatorInfo]:
        """The set that signs block `height` (the genesis set for block 0), each member with
        its stake and owner as the head state records them."""
        members = self.node.validator_members(max(1, height))
        view = self.node.chain.head_view()
        out = []
        for v in members:
            record = validator_stake(view, v.bls_public_key)
            stake = record.stake if record is not None else 0
            out.append(ValidatorInfo(v.address, v.bls_public_key, v.power, stake, v.reward_address))
        return out

    async def stake(self, address: bytes) -> StakeInfo:
        chain = self.node.chain
        view = chain.head_view()
        power = {v.bls_public_key: v.power for v in self.node.validator_members(chain.height + 1)}
        bonds = []
        for key in owned_keys(view, address):
            record = validator_stake(view, key)
            if record is None or record.owner != address:
                continue
            bonds.append(
                BondInfo(
                    key,
                    validator_address(key),
                    record.stake,
                    _STAKE_STATUS[record.status],
                    record.slashed,
                    power.get(key, 0),
                )
            )
        prover = prover_stake(view, address)
        return StakeInfo(
            chain.height,
            tuple(bonds),
            tuple((u.amount, u.release_height) for u in unbondings(view, address)),
            None
            if prover is None
            else ProverStakeInfo(
                prover.stake,
                prover.status is ProverStatus.REGISTERED,
                prover.slashed,
                prover.misses,
            ),
        )

    async def peers(self) -> Sequence[PeerInfo]:
        p2p = self.node.p2p
        if p2p is None:
            return []
        return [PeerInfo(p.peer_id, p.addresses) for p in p2p.peers() if p.connected]

    async def syncing(self) -> SyncStatus:
        head = self.node.chain.height
        highest = max(head, self.node.sync.highest_seen)
        syncing = highest > head + 1
        return SyncStatus(syncing, self.node.sync.starting_height, head, highest)

    async def status(self) -> NodeStatus:
        p2p = self.node.p2p
        return NodeStatus(
            node_id=p2p.peer_id if p2p is not None else "",
            moniker=self.node.config.moniker,
            version=_version(),
            listen_addresses=tuple(p2p.listen_addrs) if p2p is not None else (),
            validator_address=self.node.validator_address,
        )

    async def program(self, image_id: bytes) -> ProgramInfo | None:
        program = self.node.chain.state().program(image_id)
        if program is None:
            return None
        return ProgramInfo(
            image_id=program.image_id,
            address=program.address,
            elf_hash=program.elf_hash,
            elf_size=program.elf_size,
            deployer=program.deployer,
            height=program.height,
        )

    async def task(self, task_id: bytes) -> TaskInfo | None:
        task = self.node.chain.state().task(task_id)
        if task is None:
            return None
        return TaskInfo(
            task_id=task.task_id,
            image_id=task.image_id,
            submitter=task.submitter,
            input=task.input,
            max_cycles=task.max_cycles,
            fee_per_cycle=task.fee_per_cycle,
            escrow=task.escrow,
            status=_TASK_STATUS[task.status],
            submitted_height=task.submitted_height,
            deadline_height=task.deadline_height,
            exit_code=task.exit_code,
            output=task.output,
            cycles=task.cycles,
            prover=task.prover or None,
        )
