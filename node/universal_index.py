"""Where each block's Universal Proofs are, and what each prover earned: an in-memory index.

The chain stores Universal Proofs only inside the blocks that brought them, and a header names
each by (proven block height, root). `UniversalIndex` scans the committed blocks once, in
order, on first use and then only the blocks committed since its last use, and keeps: for each
proven block, where its Universal Proofs are (block, position); for each prover, its count of
accepted task proofs, their cycles and its rewards (what accept_universal_proofs paid it:
min(cycles * fee_per_cycle, escrow)). It is rebuilt after a restart, one block read per
committed block (most blocks carry no proof and decode in microseconds). Both versions are
read: a v0 leaf names its prover, a v1 root's leaf carries the statement whose prover the lift
bound (`proof_info` is what the RPC serves of either).

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
from execution.universal.version import is_v1
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
                    info = _decoded(block.universal_proofs[index])
                except (InvalidUniversalProof, IndexError):
                    continue  # a committed block's proofs decoded when it was checked
                for task_id, prover, _ in info.leaves:
                    task = state.task(task_id)
                    record = self.provers.setdefault(prover, _ProverRecord())
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
                info = proof_info(
                    raw, included, block.hash, index, block.header.universal_proofs[index].digest
                )
            except InvalidUniversalProof:
                continue
            out.append(info)
        return out


@dataclass(frozen=True)
class _Decoded:
    version: int
    height: int
    block_hash: bytes
    leaves: tuple[tuple[bytes, bytes, int], ...]  # (task id, prover, task proof bytes; v1: 0)
    control_id: bytes = b""
    shapes: tuple[tuple[int, ...], ...] = ()
    statements: tuple[bytes, ...] = ()


def _decoded(raw: bytes) -> _Decoded:
    """Either version's leaves (InvalidUniversalProof if it does not parse). A v1 leaf's prover
    is its statement's: the lift binds the statement, prover included, into the root."""
    if not is_v1(raw):
        up = UniversalProof.decode(raw)
        leaves = tuple((x.task_id, x.prover, len(x.task_proof)) for x in up.leaves)
        return _Decoded(up.version, up.block_height, up.block_hash, leaves)
    from execution.universal.proof_v1 import VERSION_V1, UniversalProofV1
    from execution.zkproof.errors import InvalidTaskProof
    from execution.zkproof.statement import Statement

    v1 = UniversalProofV1.decode(raw)
    try:
        provers = [Statement.from_bytes(x.statement).prover for x in v1.leaves]
    except InvalidTaskProof as exc:
        raise InvalidUniversalProof(str(exc)) from exc
    return _Decoded(
        VERSION_V1,
        v1.block_height,
        v1.block_hash,
        tuple((x.task_id, p, 0) for x, p in zip(v1.leaves, provers, strict=True)),
        v1.control_id,
        tuple(x.shape for x in v1.leaves),
        tuple(x.statement for x in v1.leaves),
    )


def proof_info(
    raw: bytes, included_height: int, included_hash: bytes, index: int, root: bytes
) -> UniversalProofInfo:
    """What the RPC serves of one Universal Proof of either version, brought by block
    `included_height` at position `index` (InvalidUniversalProof if it does not parse)."""
    d = _decoded(raw)
    return UniversalProofInfo(
        height=d.height,
        block_hash=d.block_hash,
        included_height=included_height,
        included_hash=included_hash,
        index=index,
        root=root,
        version=d.version,
        leaves=d.leaves,
        encoded=raw,
        control_id=d.control_id,
        shapes=d.shapes,
        statements=d.statements,
    )


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
