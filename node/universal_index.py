"""Where each block's Universal Proofs are, and what each prover earned: an in-memory index.

The chain stores Universal Proofs only inside the blocks that brought them, and a header names
each by (proven block height, root). `UniversalIndex` scans the committed blocks once, in
order, on first use and then only the blocks committed since its last use, and keeps: for each
proven block, where its Universal Proofs are (block, position); for each prover, its count of
accepted task proofs, their cycles and its rewards (what accept_universal_proofs paid it:
min(cycles * fee_per_cycle, escrow)). It is rebuilt after a restart, one block read per
committed block (most blocks carry no proof and decode in microseconds).

`NodeUniversalView` serves node/rpc/methods_universal.py from it and from the head state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from execution.chain import Chain
from execution.staking import prover_stake, provers_at
from execution.state import TaskStatus
from execution.types.transaction import TxKind
from execution.universal import InvalidUniversalProof, UniversalProof
from node.aggregator import proven_height
from node.rpc.methods_universal import BlockTasks, ProverInfo, UniversalProofInfo
from storage import block_store

if TYPE_CHECKING:
    from node.node import Node

_STATUS = {
    TaskStatus.PENDING: "pending",
    TaskStatus.PROVEN: "proven",
    TaskStatus.EXPIRED: "expired",
}


@dataclass
class _ProverRecord:
    tasks: int = 0
    cycles: int = 0
    rewards: int = 0
    last_height: int | None = None


@dataclass
class UniversalIndex:
    chain: Chain
    scanned: int = 0
    located: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    provers: dict[bytes, _ProverRecord] = field(default_factory=dict)

    def update(self) -> None:
        """Index the blocks committed since the last call."""
        chain = self.chain
        state = chain.state()
        while self.scanned < chain.height:
            height = self.scanned + 1
            block = chain.block_at(height)
            if block is None:
                return
            for index, ref in enumerate(block.header.universal_proofs):
                self.located.setdefault(ref.height, []).append((height, index))
                try:
                    up = UniversalProof.decode(block.universal_proofs[index])
                except (InvalidUniversalProof, IndexError):
                    continue  # a committed block's proofs decoded when it was checked
                for leaf in up.leaves:
                    task = state.task(leaf.task_id)
                    record = self.provers.setdefault(leaf.prover, _ProverRecord())
                    record.tasks += 1
                    record.last_height = height
                    if task is not None and task.status is TaskStatus.PROVEN:
                        record.cycles += task.cycles
                        record.rewards += min(task.cycles * task.fee_per_cycle, task.escrow)
            self.scanned = height

    def proofs_of(self, height: int) -> list[UniversalProofInfo]:
        self.update()
        out: list[UniversalProofInfo] = []
        for included, index in self.located.get(height, ()):
            block = self.chain.block_at(included)
            if block is None or index >= len(block.universal_proofs):
                continue
            raw = block.universal_proofs[index]
            try:
                up = UniversalProof.decode(raw)
            except InvalidUniversalProof:
                continue
            out.append(
                UniversalProofInfo(
                    height=up.block_height,
                    block_hash=up.block_hash,
                    included_height=included,
                    included_hash=block.hash,
                    index=index,
                    root=block.header.universal_proofs[index].digest,
                    version=up.version,
                    leaves=tuple((x.task_id, x.prover, len(x.task_proof)) for x in up.leaves),
                    encoded=raw,
                )
            )
        return out


class NodeUniversalView:
    """`UniversalView` over a running node. The active provers are the genesis prover set
    (when it names one) plus what `prover_set` returns (a hook for the prover service)."""

    def __init__(self, node: Node, prover_set: Callable[[], Sequence[bytes]] | None = None) -> None:
        self.node = node
        self.prover_set = prover_set
        self.index = UniversalIndex(node.chain)
        self._proven: tuple[bytes, int] | None = None

    async def block_tasks(self, height: int) -> BlockTasks | None:
        chain = self.node.chain
        if height > chain.height:
            return None
        block_hash = block_store.hash_at(chain.db, height)
        receipts = None if block_hash is None else chain.receipts(block_hash)
        if block_hash is None or receipts is None:
            return None
        state = chain.state()
        tasks = []
        for receipt in receipts:
            if receipt.kind != TxKind.TASK:
                continue
            task = state.task(receipt.tx_hash)
            tasks.append((receipt.tx_hash, "pending" if task is None else _STATUS[task.status]))
        return BlockTasks(height, block_hash, tuple(tasks))

    async def universal_proofs(self, height: int) -> Sequence[UniversalProofInfo]:
        return self.index.proofs_of(height)

    async def provers(self) -> Sequence[ProverInfo]:
        self.index.update()
        # The registered prover set on chain (genesis provers and registrations); else whoever
        # the prover service reports.
        chain = self.node.chain
        view = chain.head_view()
        registered = set(provers_at(view, chain.height + 1))
        active = set(registered)
        if self.prover_set is not None:
            active |= set(self.prover_set())
        addresses = sorted(set(self.index.provers) | active)
        out = []
        for address in addresses:
            record = self.index.provers.get(address, _ProverRecord())
            stake = prover_stake(view, address)
            out.append(
                ProverInfo(
                    address,
                    record.tasks,
                    record.cycles,
                    record.rewards,
                    record.last_height,
                    address in active,
                    stake.stake if stake is not None else 0,
                    stake.slashed if stake is not None else 0,
                    stake.misses if stake is not None else 0,
                    address in registered,
                )
            )
        return out

    async def proven_height(self) -> int:
        head = self.node.chain.head.hash
        if self._proven is None or self._proven[0] != head:
            self._proven = (head, proven_height(self.node.chain))
        return self._proven[1]

    async def proof_profile(self) -> str:
        return str(self.node.chain.genesis.params.proof.profile)
