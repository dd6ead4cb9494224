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

Claims (node.prover.claims): when it starts a task, and every 10 s, the service gossips a
`Claim` signed with the prover key, listing the tasks it is proving and those whose proof it
holds while they are pending (an empty list is a presence beacon). A task whose start height has
come is still not started while another prover entitled to it holds a fresh claim of it; silence
passes it on, and no claim holds it past half the task deadline. The check is made again when a
worker frees, so a busy prover leaves its queued tasks to an entitled prover that took them.
Claims also give the prover set while no prover is registered on chain (genesis `provers` or
registration transactions, execution.staking): every prover heard from within the last
`PRESENCE_BLOCKS` blocks, plus this one.

On a v1 chain, a task whose run has a shape outside the genesis allow-list
(`universal_proof_lift_shapes`) is skipped before proving (`prove_skipped_shape`): its shape
comes from an execution and the trace tables (`run_shape`, seconds), its proof from minutes of
proving, and the pool would refuse that proof anyway.

`fault` (test only) makes a malicious prover: "other-input" proves the task's program on
another input, "tampered-statement" changes the exit code in the proof's statement; both
proofs are signed, served and announced unverified; every honest pool must reject them and
turn them into invalid-proof evidence that slashes this prover.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import trio

from execution.chain import Chain
from execution.staking import provers_at, sign_proof
from execution.staking.assignment import rank_provers
from execution.state import Task, TaskStatus
from execution.types.block import Block
from execution.types.errors import DecodingError
from execution.types.hashing import keccak256
from execution.types.transaction import Transaction, TxKind
from execution.universal.lift_shapes import run_shape
from execution.zkproof import ZkProofError, prove_async
from execution.zkvm import ZkvmError, load_elf
from execution.zkvm.program import Program
from genesis.keys import AccountKey
from node.logs import event
from node.proof_pool import ShapeNotAllowed
from node.prover.assignment import my_start_height
from node.prover.claims import DEFAULT_TIMING, ClaimBook, ClaimTiming, may_start, starts_for
from node.prover.exchange import ProofExchange
from node.prover.messages import MAX_CLAIM_TASKS, BadClaim, Claim, check_claim, sign_claim
from p2p import TOPIC_PROOF_ANNOUNCEMENTS, P2PError

logger = logging.getLogger("node.prover")

FAULTS = ("other-input", "tampered-statement")
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
    # When this prover began to hear claims for the task (time.monotonic): before fresh_s has
    # passed it cannot tell the provers ahead of it silent.
    since: float = field(default_factory=time.monotonic)
    held_logged: bool = False


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
        timing: ClaimTiming = DEFAULT_TIMING,
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
        self.deadline_blocks = params.task_deadline_blocks
        self.profile = params.proof.profile
        self.timing = timing
        self.claims = ClaimBook(timing)
        self._clock: Callable[[], float] = time.monotonic
        self._heard: dict[bytes, int] = {}  # prover -> chain height when last heard
        # What this prover's claims name: the tasks it is proving, then those whose proof it
        # made and holds while they are pending (peers may still be fetching it).
        self._proving: dict[bytes, None] = {}
        self._delivered: OrderedDict[bytes, None] = OrderedDict()
        self._last_claim_ms = 0
        self._tracked: dict[bytes, _Tracked] = {}
        self._programs: OrderedDict[bytes, tuple[bytes, Program]] = OrderedDict()
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
        try:
            # The exchange refuses forged claims before relaying; checked again here, as the
            # claim book trusts what it is given.
            check_claim(claim, self.exchange.genesis_hash)
        except BadClaim as exc:
            event(logger, "claim_refused", logging.DEBUG, peer=origin, error=str(exc))
            return
        if not self.claims.add(claim, self._clock(), int(time.time() * 1000)):
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
            nursery.start_soon(self._claim_loop)
            nursery.start_soon(self._tick_loop)
            while True:
                await self._schedule()
                await self._wake.wait()
                self._wake = trio.Event()

    async def _claim_loop(self) -> None:
        """The heartbeat: the tasks this prover is proving or holds a proof of, every
        interval (an empty claim is a presence beacon)."""
        while True:
            await self._publish_claim()
            await trio.sleep(self.timing.interval_s)

    async def _tick_loop(self) -> None:
        # Claims age by the clock, not by blocks: look again while no block comes.
        while True:
            await trio.sleep(min(1.0, self.timing.fresh_s / 8))
            self._wake.set()

    def _claimed(self) -> tuple[bytes, ...]:
        state = self.chain.state()
        for task_id in list(self._delivered):
            task = state.task(task_id)
            if task is None or task.status is not TaskStatus.PENDING:
                del self._delivered[task_id]
        named = [*self._proving, *reversed(self._delivered)]
        return tuple(dict.fromkeys(named))[:MAX_CLAIM_TASKS]

    async def _publish_claim(self) -> None:
        # Strictly increasing per prover: receivers ignore a claim not newer than the last.
        time_ms = max(int(time.time() * 1000), self._last_claim_ms + 1)
        self._last_claim_ms = time_ms
        claim = sign_claim(
            self.key, self.exchange.genesis_hash, self.chain.height, time_ms, self._claimed()
        )
        try:
            await self.exchange.p2p.publish(TOPIC_PROOF_ANNOUNCEMENTS, claim.encode())
        except P2PError as exc:
            event(logger, "prover_claim_failed", logging.WARNING, error=str(exc))

    async def _schedule(self) -> None:
        head = self.chain.height
        state = self.chain.state()
        by_height: dict[int, tuple[bytes, ...]] = {}
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
            if not self._may_start(tr, by_height[tr.height], head):
                continue
            tr.running = True
            if self._nursery is None:
                raise RuntimeError("ProverService.run is not running")
            self._nursery.start_soon(self._prove, tr, task)

    def _may_start(self, tr: _Tracked, provers: tuple[bytes, ...], head: int) -> bool:
        """Whether this prover's turn has come and no entitled prover holds the task
        (node.prover.claims.may_start)."""
        order = rank_provers(tr.block_hash, tr.task_id, provers)
        if self.address not in order:
            return False
        starts = starts_for(order, tr.height, self.timeout_blocks, self._latest_offset())
        ok = may_start(
            order=order,
            me=self.address,
            task_id=tr.task_id,
            task_height=tr.height,
            head=head,
            starts=starts,
            deadline_blocks=self.deadline_blocks,
            book=self.claims,
            now=self._clock(),
            listening_since=tr.since,
        )
        if not ok and not tr.held_logged and head >= starts[order.index(self.address)]:
            tr.held_logged = True  # once per task: the postponement is visible in the logs
            event(
                logger,
                "prove_held",
                task=tr.task_id.hex(),
                height=tr.height,
                claimers=[p.hex() for p in self.claims.claimers(tr.task_id)],
            )
        return ok

    def _latest_offset(self) -> int:
        return max(0, self.deadline_blocks - 2 * self.timeout_blocks)

    def start_height(self, tr: _Tracked, provers: tuple[bytes, ...]) -> int | None:
        """When this prover starts on a tracked task (None: not in the set). Never later than
        `task_deadline_blocks - 2 * prover_timeout_blocks` after the task's block: beacons
        signed with throwaway keys can fill an open prover set with fake addresses, and a rank past the deadline
        would let them deny every task; at worst the honest provers then duplicate work."""
        start = my_start_height(
            tr.block_hash, tr.task_id, tr.height, provers, self.address, self.timeout_blocks
        )
        if start is None:
            return None
        return min(start, tr.height + self._latest_offset())

    # ---- proving -----------------------------------------------------------------------
    async def _prove(self, tr: _Tracked, task: Task) -> None:
        tr.scope = trio.CancelScope()
        deferred = False
        try:
            with tr.scope:
                deferred = await self._prove_once(tr, task)
            if tr.scope.cancelled_caught:
                event(logger, "prove_abandoned", task=tr.task_id.hex(), height=tr.height)
        finally:
            self._proving.pop(tr.task_id, None)
            tr.scope = None
            tr.running = False
            tr.done = not deferred
            self._wake.set()

    async def _prove_once(self, tr: _Tracked, task: Task) -> bool:
        """Prove the task (or find it needs no proof from here); True if it was left to an
        entitled prover that claimed it while this one waited for a worker."""
        try:
            async with self._limiter:
                current = self.chain.state().task(tr.task_id)
                if tr.task_id in self.exchange.pool or (
                    current is None or current.status is not TaskStatus.PENDING
                ):
                    return False  # resolved while this waited for a worker
                # Rule: a worker that frees late looks at the claims again: an entitled
                # prover may have taken the task meanwhile.
                if not self._may_start(tr, self.provers(tr.height), self.chain.height):
                    event(logger, "prove_deferred", task=tr.task_id.hex(), height=tr.height)
                    return True
                started = trio.current_time()
                elf, program = self._program(task.image_id)
                inp = task.input + b"\x01" if self.fault == "other-input" else task.input
                if self.exchange.lift_shapes:
                    # Rule (v1): no root can lift a proof of a shape outside the allow-list;
                    # the run's shape costs an execution, its proof minutes.
                    shape = await trio.to_thread.run_sync(run_shape, elf, inp)
                    if shape not in self.exchange.lift_shapes:
                        event(
                            logger,
                            "prove_skipped_shape",
                            logging.WARNING,
                            task=tr.task_id.hex(),
                            shape=list(shape),
                        )
                        return False
                self._proving[tr.task_id] = None
                event(logger, "prove_start", task=tr.task_id.hex(), height=tr.height)
                await self._publish_claim()
                proved = await prove_async(
                    program, inp, self.profile, prover=self.address, task_id=tr.task_id
                )
                proof = proved.to_bytes()
                prove_s = trio.current_time() - started
            if self.fault:
                await self._publish_bad(tr.task_id, proof)
                return False
            signature = self._sign(tr.task_id, proof)
            verified = await self.exchange.verify(task, tr.task_id, self.address, proof, signature)
            self._delivered[tr.task_id] = None
            while len(self._delivered) > MAX_CLAIM_TASKS:
                self._delivered.popitem(last=False)
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
        return False

    def _sign(self, task_id: bytes, proof: bytes) -> bytes:
        return sign_proof(self.key.private_key, self.exchange.genesis_hash, task_id, proof)

    def _program(self, image_id: bytes) -> tuple[bytes, Program]:
        """The ELF and program of an image id, from its deploy transaction (the state keeps
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
                entry = (tx.data, load_elf(tx.data))
                self._programs[image_id] = entry
                if len(self._programs) > _PROGRAM_CACHE:
                    self._programs.popitem(last=False)
                return entry
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
