"""The prover role (`ivcnet node start --prover`): take assigned tasks, prove, announce.

    service = ProverService(chain, exchange, key, workers=os.cpu_count())  # key: AccountKey
    nursery.start_soon(service.run)
    service.on_commit(block)          # from the node, after each committed block

On each committed block the service learns the block's tasks (its receipts name them) and, at
start, every task still pending in the last `task_deadline_blocks` blocks, so a restarted
prover picks up where it was killed. Each task is started when the chain reaches the height the
assignment gives this prover (node.prover.assignment: at once for the first in line, k *
`prover_timeout_blocks` later for the k-th) and no valid proof of it is in the pool yet. At most
`workers` proofs run at once, each in a child process (`prove_async`), never on the event loop.
A finished proof is signed with the prover account's key (the envelope,
execution.staking.proof_envelope: it makes the proof attributable, so a wrong one can be
slashed), verified like any other (node.proof_pool.verify_proof), pooled and announced; the
exchange serves it in its envelope. The key is the account's whose address is the prover
address (the one that registered), read from `config/prover_key.json` (node.prover.role).

Claims: when it starts tasks the service gossips a `Claim` (prover, block height, task ids),
and every 10 s an empty one as a presence beacon. Claims are not signed and grant nothing: the
fallback order is driven by the absence of a valid proof in the pool, never by a claim, and the
reward goes to the prover named with the proof; so a forged claim can neither delay a task nor
redirect a reward, and a signature would only force a hot secp256k1 key onto prover machines.
They let provers see who is working and, while no prover is registered on chain (genesis
`provers` or registration transactions, execution.staking), learn the set (every prover heard
from within the last `PRESENCE_BLOCKS` blocks, plus this one).

`fault` (test only) makes a malicious prover: "other-input" proves the task's program on
another input, "tampered-statement" changes the exit code in the proof's statement; both
proofs are signed, served and announced unverified; every honest pool must reject them and
turn them into invalid-proof evidence that slashes this prover.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, replace

import trio

from execution.chain import Chain
from execution.staking import provers_at, sign_proof
from execution.state import Task, TaskStatus
from execution.types.block import Block
from execution.types.errors import DecodingError
from execution.types.hashing import keccak256
from execution.types.transaction import Transaction, TxKind
from execution.zkproof import ZkProofError, prove_async
from execution.zkvm import ZkvmError, load_elf
from execution.zkvm.program import Program
from genesis.keys import AccountKey
from node.logs import event
from node.proof_pool import ShapeNotAllowed
from node.prover.assignment import my_start_height
from node.prover.exchange import ProofExchange
from node.prover.messages import MAX_CLAIM_TASKS, Claim
from p2p import TOPIC_PROOF_ANNOUNCEMENTS, P2PError

logger = logging.getLogger("node.prover")

FAULTS = ("other-input", "tampered-statement")
PRESENCE_INTERVAL_S = 10.0
PRESENCE_BLOCKS = 60
MAX_KNOWN_PROVERS = 256
_PROGRAM_CACHE = 32


@dataclass
class _Tracked:
    task_id: bytes
    height: int
    block_hash: bytes
    running: bool = False
    # Cancels a running proof once the task no longer needs it (another prover's proof was
    # pooled, or the task expired): the worker process is killed, its core freed.
    scope: trio.CancelScope | None = None
    done: bool = False  # proven, or failed here: not tried again by this prover


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class ProverService:
    def __init__(
        self,
        chain: Chain,
        exchange: ProofExchange,
        key: AccountKey,
        workers: int = 0,
        fault: str = "",
    ) -> None:
        if fault and fault not in FAULTS:
            raise ValueError(f"unknown prover fault {fault!r}")
        self.chain = chain
        self.exchange = exchange
        self.key = key
        self.address = key.address
        self.workers = workers or default_workers()
        self.fault = fault
        params = chain.genesis.params
        self.timeout_blocks = params.prover_timeout_blocks
        self.profile = params.proof.profile
        self._heard: dict[bytes, int] = {}  # prover -> chain height when last heard
        self._tracked: dict[bytes, _Tracked] = {}
        self._programs: OrderedDict[bytes, Program] = OrderedDict()
        self._limiter = trio.CapacityLimiter(self.workers)
        self._wake = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.proven = 0
        exchange.on_claim = self._on_claim
        exchange.on_pooled = self._on_pooled

    # ---- the prover set ----------------------------------------------------------------
    def provers(self, task_height: int | None = None) -> tuple[bytes, ...]:
        """The provers a task of block `task_height` (default: the next block) is assigned to:
        the registered prover set on chain for that height (genesis provers, registrations;
        execution.staking), or, while nobody is registered, every prover heard from lately."""
        height = self.chain.height + 1 if task_height is None else task_height
        registered = provers_at(self.chain.head_view(), height)
        if registered:
            return tuple(registered)
        floor = self.chain.height - PRESENCE_BLOCKS
        heard = [p for p, h in self._heard.items() if h >= floor]
        return tuple(sorted({self.address, *heard}))

    def _on_claim(self, claim: Claim, origin: str) -> None:
        if claim.prover == self.address:
            return
        if claim.prover not in self._heard and len(self._heard) >= MAX_KNOWN_PROVERS:
            oldest = min(self._heard, key=self._heard.__getitem__)
            del self._heard[oldest]
        self._heard[claim.prover] = self.chain.height

    def _on_pooled(self, task_id: bytes) -> None:
        if task_id in self._tracked:
            self._wake.set()  # a proof we may be working on arrived: stop ours (_schedule)

    # ---- following the chain -----------------------------------------------------------
    def on_commit(self, block: Block) -> None:
        """Learn the tasks of a committed block (call after every commit)."""
        receipts = self.chain.receipts(block.hash) or []
        for receipt in receipts:
            if receipt.kind == TxKind.TASK and receipt.status == 1 and len(receipt.created) == 32:
                self._tracked.setdefault(
                    receipt.created, _Tracked(receipt.created, block.height, block.hash)
                )
        self._wake.set()

    def _scan_pending(self) -> None:
        """Track every task still pending in the head state (after a restart)."""
        state = self.chain.state()
        head = self.chain.height
        deadline = self.chain.genesis.params.task_deadline_blocks
        for height in range(max(1, head - deadline + 1), head + 1):
            block = self.chain.block_at(height)
            if block is None:
                continue
            for task_id in state.tasks_due(height + deadline):
                task = state.task(task_id)
                if task is not None and task.status is TaskStatus.PENDING:
                    self._tracked.setdefault(task_id, _Tracked(task_id, height, block.hash))

    async def run(self) -> None:
        self._scan_pending()
        event(
            logger,
            "prover_started",
            address=self.address.hex(),
            workers=self.workers,
            tracked=len(self._tracked),
            fault=self.fault or None,
        )
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._presence_loop)
            while True:
                await self._schedule()
                await self._wake.wait()
                self._wake = trio.Event()

    async def _presence_loop(self) -> None:
        while True:
            await self._publish_claim(self.chain.height, [])
            await trio.sleep(PRESENCE_INTERVAL_S)

    async def _publish_claim(self, height: int, task_ids: list[bytes]) -> None:
        for i in range(0, max(1, len(task_ids)), MAX_CLAIM_TASKS):
            claim = Claim(self.address, height, tuple(task_ids[i : i + MAX_CLAIM_TASKS]))
            try:
                await self.exchange.p2p.publish(TOPIC_PROOF_ANNOUNCEMENTS, claim.encode())
            except P2PError as exc:
                event(logger, "prover_claim_failed", logging.WARNING, error=str(exc))

    async def _schedule(self) -> None:
        head = self.chain.height
        state = self.chain.state()
        by_height: dict[int, tuple[bytes, ...]] = {}
        claims: dict[int, list[bytes]] = {}
        for task_id, tr in list(self._tracked.items()):
            task = state.task(task_id)
            resolved = task is None or task.status is not TaskStatus.PENDING
            if resolved or task_id in self.exchange.pool:
                theirs = self.exchange.pool.prover(task_id) not in (None, self.address)
                if not tr.running:
                    del self._tracked[task_id]
                elif (resolved or theirs) and tr.scope is not None:
                    tr.scope.cancel()
                continue
            if tr.running or tr.done:
                continue
            if tr.height not in by_height:
                by_height[tr.height] = self.provers(tr.height)
            start = self.start_height(tr, by_height[tr.height])
            if start is None or start > head:
                continue
            tr.running = True
            claims.setdefault(tr.height, []).append(task_id)
            if self._nursery is None:
                raise RuntimeError("ProverService.run is not running")
            self._nursery.start_soon(self._prove, tr, task)
        for height, ids in claims.items():
            await self._publish_claim(height, ids)

    def start_height(self, tr: _Tracked, provers: tuple[bytes, ...]) -> int | None:
        """When this prover starts on a tracked task (None: not in the set). Never later than
        `task_deadline_blocks - 2 * prover_timeout_blocks` after the task's block: unsigned
        beacons can fill an open prover set with fake addresses, and a rank past the deadline
        would let them deny every task; at worst the honest provers then duplicate work."""
        start = my_start_height(
            tr.block_hash, tr.task_id, tr.height, provers, self.address, self.timeout_blocks
        )
        if start is None:
            return None
        latest = max(0, self.chain.genesis.params.task_deadline_blocks - 2 * self.timeout_blocks)
        return min(start, tr.height + latest)

    # ---- proving -----------------------------------------------------------------------
    async def _prove(self, tr: _Tracked, task: Task) -> None:
        tr.scope = trio.CancelScope()
        try:
            with tr.scope:
                await self._prove_once(tr, task)
            if tr.scope.cancelled_caught:
                event(logger, "prove_abandoned", task=tr.task_id.hex(), height=tr.height)
        finally:
            tr.scope = None
            tr.running = False
            tr.done = True
            self._wake.set()

    async def _prove_once(self, tr: _Tracked, task: Task) -> None:
        try:
            async with self._limiter:
                current = self.chain.state().task(tr.task_id)
                if tr.task_id in self.exchange.pool or (
                    current is None or current.status is not TaskStatus.PENDING
                ):
                    return  # resolved while this waited for a worker
                started = trio.current_time()
                program = self._program(task.image_id)
                inp = task.input + b"\x01" if self.fault == "other-input" else task.input
                event(logger, "prove_start", task=tr.task_id.hex(), height=tr.height)
                proved = await prove_async(
                    program, inp, self.profile, prover=self.address, task_id=tr.task_id
                )
                proof = proved.to_bytes()
                prove_s = trio.current_time() - started
            if self.fault:
                await self._publish_bad(tr.task_id, proof)
                return
            signature = self._sign(tr.task_id, proof)
            verified = await self.exchange.verify(task, tr.task_id, self.address, proof, signature)
            await self.exchange.add_and_announce(verified)
            self.proven += 1
            event(
                logger,
                "proof_done",
                task=tr.task_id.hex(),
                height=tr.height,
                cycles=verified.statement.cycles,
                bytes=len(proof),
                prove_s=round(prove_s, 2),
            )
        except ShapeNotAllowed as exc:
            # The run's shape is fixed by the program and input (the prover pads each table to
            # the next power of two only): no honest proof of this task has an allowed shape,
            # so nothing is published; the task expires and its fee is refunded.
            event(
                logger,
                "prove_shape_not_allowed",
                logging.WARNING,
                task=tr.task_id.hex(),
                error=str(exc),
            )
        except (ZkProofError, ZkvmError, DecodingError, LookupError) as exc:
            # This prover cannot prove it (unsupported instruction, cycle limit, program not
            # found); do not retry: the next in line will try after its timeout.
            event(logger, "prove_failed", logging.WARNING, task=tr.task_id.hex(), error=str(exc))
        except Exception as exc:  # a bug must not take the node down; leave it to the others
            logger.exception("proving task %s failed", tr.task_id.hex())
            event(logger, "prove_failed", logging.ERROR, task=tr.task_id.hex(), error=repr(exc))

    def _sign(self, task_id: bytes, proof: bytes) -> bytes:
        return sign_proof(self.key.private_key, self.exchange.genesis_hash, task_id, proof)

    def _program(self, image_id: bytes) -> Program:
        """The deployed program of an image id, from its deploy transaction (the state keeps
        only the ELF's hash and the deploy height)."""
        cached = self._programs.get(image_id)
        if cached is not None:
            self._programs.move_to_end(image_id)
            return cached
        record = self.chain.state().program(image_id)
        if record is None:
            raise LookupError(f"no program {image_id.hex()}")
        block = self.chain.block_at(record.height)
        for raw in block.transactions if block is not None else ():
            tx = Transaction.decode(raw)
            if tx.kind is TxKind.DEPLOY and keccak256(tx.data) == record.elf_hash:
                program = load_elf(tx.data)
                self._programs[image_id] = program
                if len(self._programs) > _PROGRAM_CACHE:
                    self._programs.popitem(last=False)
                return program
        raise LookupError(f"the deploy of program {image_id.hex()} is not in block {record.height}")

    async def _publish_bad(self, task_id: bytes, proof: bytes) -> None:
        """Test only: serve and announce a proof that no honest pool may accept."""
        from execution.zkproof.task import TaskProof

        parsed = TaskProof.from_bytes(proof)
        if self.fault == "tampered-statement":
            parsed.statement = replace(parsed.statement, exit_code=parsed.statement.exit_code ^ 1)
            proof = parsed.to_bytes()
        statement = parsed.statement
        self.exchange.unverified[task_id] = (self.address, proof, self._sign(task_id, proof))
        await self.exchange.announce(task_id, self.address, statement.to_bytes(), len(proof))
        event(logger, "bad_proof_published", logging.WARNING, task=task_id.hex(), fault=self.fault)
