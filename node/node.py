"""The node: chain, mempool, consensus, p2p, block sync and JSON-RPC in one trio nursery.

    node = Node.open(config)          # opens the chain database (LevelDB) and the signer's WAL
    trio.run(node.run)                # until SIGINT/SIGTERM or cancellation

One task owns consensus: it takes decoded votes, proposals, timeout firings and "start the
next height" events from one channel, feeds them to the `ConsensusDriver` and acts on its
outputs (gossip, timers, commit). The value being agreed on is the encoded block; its id is
the block (header) hash, so a commit certificate names the block hash. Everything else (gossip
handlers, transaction batching, re-gossip of a stuck height, block sync, the RPC server) runs
in its own task around it.
"""

from __future__ import annotations

import contextlib
import cProfile
import logging
import os
import signal
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from consensus import (
    Commit,
    ConsensusDriver,
    ConsensusError,
    Decided,
    DuplicateVoteEvidence,
    EvidenceFound,
    FileSignerStore,
    Output,
    PrivValidator,
    Proposal,
    ProposalBundle,
    ScheduleTimeout,
    SendProposal,
    SendVote,
    SignRefused,
    Step,
    TimeoutEvent,
    ValidatorSet,
    Vote,
    keccak256,
    verify_commit,
)
from execution.chain import Chain, ChainError, relax_gc
from execution.staking import apply_staking, check_staking, is_proof_evidence
from execution.state import State, ValidatorRecord
from execution.types.block import Block
from execution.types.errors import (
    DecodingError,
    ExecutionError,
    InvalidBlock,
    InvalidTransaction,
)
from execution.types.receipt import Receipt
from execution.types.transaction import Transaction, TxKind
from execution.universal import ProofLeaf
from genesis import Genesis, GenesisError, ValidatorKey, read_key_file
from genesis.params import UNIVERSAL_PROOF_V1, ProtocolParams
from node.admin_rpc import admin_methods
from node.aggregator import (
    UP_BYTES_PER_BLOCK,
    drop_rejected,
    pack_universal_proofs,
    resolved_task_ids,
    tamper_enabled,
    tampered,
)
from node.aggregator_v1 import RECURSION_KEYS_DIR, V1Builder, configure_key_store
from node.chain_view import NodeChainView
from node.compact_proposal import is_compact
from node.config import NodeConfig, NodeConfigError
from node.evidence_pool import EvidencePool
from node.logs import event
from node.mempool import Mempool, MempoolRejected
from node.proof_pool import ProofPool
from node.proposal_transport import ProposalTransport
from node.prover.role import Proving, prover_settings, start_proving
from node.rpc import RpcConfig, RpcEndpoint, serve_rpc
from node.rpc.methods_staking import staking_methods
from node.rpc.methods_universal import proven_tag, universal_methods
from node.syncer import BlockSyncer, StartHeight, SyncProgress
from node.universal_index import NodeUniversalView
from node.validator_sets import ValidatorSets
from node.watchdog import Watchdog
from p2p import (
    PROTOCOL_BLOCKS,
    TOPIC_EVIDENCE,
    TOPIC_PROPOSALS,
    TOPIC_TRANSACTIONS,
    TOPIC_VOTES,
    GossipMessage,
    MalformedBatch,
    Offence,
    P2PConfig,
    P2PConfigError,
    P2PError,
    P2PService,
    decode_tx_batch,
    open_p2p_service,
)
from p2p.txbatch import MAX_TXS_PER_BATCH

logger = logging.getLogger("node")

# A proposal travels as one gossip message (4 MiB limit): leave room for the envelope.
MAX_BLOCK_BYTES = 3 * 1024 * 1024
MAX_TX_BATCH_BYTES = 900 * 1024
# A proposed block may be this far ahead of our clock.
MAX_CLOCK_DRIFT_MS = 10_000
EVENT_BUFFER = 8192
OUTBOX_SIZE = 4096
MAX_PUBLISHING = 64
# Re-gossip of a round that stands still backs off: regossip_interval, x2, x4, up to x8.
REGOSSIP_BACKOFF_MAX = 8
PROFILE_ENV = "IVCNET_PROFILE"


ConsensusEvent = Vote | ProposalBundle | TimeoutEvent | StartHeight
# A compact proposal more rounds ahead of ours than this is not completed (node.proposal_transport):
# its proposer re-gossips it while the round stands still.
COMPACT_ROUNDS_AHEAD = 8


@dataclass(frozen=True, slots=True)
class _BlockInputs:
    proposer: bytes
    time_ms: int
    last_commit: bytes
    evidence: tuple[bytes, ...]
    proofs: tuple[bytes, ...]
    txs: list[bytes]


def _failed_index(exc: InvalidBlock) -> int | None:
    """The index of the transaction an "invalid_transaction" InvalidBlock names."""
    return exc.index if exc.reason == "invalid_transaction" else None


def _stake_applies(
    scratch: State, sender: bytes, tx: Transaction, params: ProtocolParams, height: int
) -> bool:
    """Whether staking `tx` still applies after those chosen before it (applied to `scratch`,
    which it then joins). The bond's owner signature was verified when the mempool took it."""
    try:
        op = tx.staking_op
        check_staking(
            scratch, sender, op, tx.value, params, chain_id=tx.chain_id, verify_proof=False
        )
    except InvalidTransaction:
        return False
    apply_staking(scratch, sender, op, tx.value, params, height)
    return True


def _now_ms() -> int:
    return int(time.time() * 1000)


class Node:
    def __init__(
        self,
        config: NodeConfig,
        chain: Chain,
        validator_key: ValidatorKey | None,
    ) -> None:
        self.config = config
        self.chain = chain
        self.genesis = chain.genesis
        self.chain_id = chain.chain_id
        self.validator_key = validator_key
        self.validator_address = None if validator_key is None else validator_key.address
        self._vsets = ValidatorSets(chain, config.data_dir)
        self.signer: PrivValidator | None = None
        self._signer_store: FileSignerStore | None = None
        if validator_key is not None:
            self._signer_store = FileSignerStore(config.signer_dir)
            # Deferred: the consensus loop fsyncs the signer's records in a worker thread.
            self.signer = PrivValidator(validator_key.secret_key, self._signer_store, deferred=True)
        self.driver = ConsensusDriver(
            self.chain_id,
            signer=self.signer,
            get_value=self._get_value,
            is_valid=self._is_valid,
            value_hash=self._value_hash,
            timeouts=config.timeouts,
        )
        self.mempool = Mempool(
            self.chain_id,
            self.genesis.params,
            chain.state,
            lambda h: chain.transaction_location(h) is not None,
        )
        self.p2p: P2PService | None = None
        self.rpc_endpoint: RpcEndpoint | None = None
        self.sync = SyncProgress(chain.height, chain.height)
        self._decoded: OrderedDict[bytes, Block | None] = OrderedDict()
        self._own_values: set[bytes] = set()
        self.evidence = EvidencePool(
            self.chain_id, self.validator_set, chain.genesis.params, chain.genesis_hash, chain.state
        )
        self._tx_out: list[bytes] = []
        self._tx_out_event = trio.Event()
        self._send: trio.MemorySendChannel[ConsensusEvent]
        self._receive: trio.MemoryReceiveChannel[ConsensusEvent]
        self._send, self._receive = trio.open_memory_channel(EVENT_BUFFER)
        self._nursery: trio.Nursery | None = None
        self._outbox_send: trio.MemorySendChannel[tuple[str, bytes]]
        self._outbox_receive: trio.MemoryReceiveChannel[tuple[str, bytes]]
        self._outbox_send, self._outbox_receive = trio.open_memory_channel(OUTBOX_SIZE)
        self.height_started = time.monotonic()
        # CPU-heavy block work runs in a worker thread (see "Off the event loop" in
        # docs/node.md): held while a thread executes a block on the head, and taken by
        # whoever moves the head on another task (block sync), so the head never moves under it.
        self.chain_lock = trio.Lock()
        # Execution verdicts of proposals checked in a worker thread, by (value key, head hash):
        # None if the block executes, else the reason it does not.
        self._verdicts: OrderedDict[tuple[bytes, bytes], str | None] = OrderedDict()
        self._prechecked: set[tuple[int, int, int]] = set()  # (height, round, proposer)
        self._early: list[ProposalBundle] = []  # proposals of the next height, seen early
        # (head hash, height, block, ms it took) from `_prebuild`, for `_get_value`
        self._prebuilt: tuple[bytes, int, Block, float] | None = None
        self.syncer = BlockSyncer(self)
        self.evidence.scan(chain)
        # Universal Proofs (node/aggregator.py): verified task proofs wait in the pool until a
        # proposal of ours brings them; the RPC reads proofs and provers through the view.
        self.proof_pool = ProofPool.open(config.data_dir / "proofs")
        # A v1 chain's roots are built by a worker process (node/aggregator_v1.py).
        self.v1_builder: V1Builder | None = None
        params = chain.genesis.params
        if params.universal_proof_version == UNIVERSAL_PROOF_V1:
            # Recursion keys on disk: a restarted validator does not record them again.
            configure_key_store(config.data_dir / RECURSION_KEYS_DIR)
            self.v1_builder = V1Builder(
                config.data_dir / "universal-v1",
                params.proof.profile,
                params.universal_proof_lift_shapes,
                config.data_dir / RECURSION_KEYS_DIR,
            )
        self.universal_view = NodeUniversalView(self)
        # The proving network (node/prover): proof exchange always, prover service if asked.
        self.proving: Proving | None = None
        # Proposals travel compact (their pooled task proofs by hash) once p2p runs.
        self.proposals: ProposalTransport | None = None
        self.prover_settings = prover_settings(config, chain, self.validator_address)

    # ---- opening ------------------------------------------------------------------------
    @classmethod
    def open(cls, config: NodeConfig) -> Node:
        if not config.genesis_path.exists():
            raise NodeConfigError(f"{config.genesis_path}: no genesis file in the node home")
        # The proofs of possession (a pairing check each, ~7 ms) are checked once: when the database
        # is created. A database records its genesis hash and refuses any other genesis.
        fresh = not (config.chain_dir / "CURRENT").exists()
        try:
            genesis = Genesis.load(config.genesis_path, verify_keys=fresh)
        except GenesisError as exc:
            raise NodeConfigError(str(exc)) from None
        key: ValidatorKey | None = None
        if config.validator_key_path.exists():
            try:
                loaded = read_key_file(config.validator_key_path)
            except GenesisError as exc:
                raise NodeConfigError(str(exc)) from None
            if not isinstance(loaded, ValidatorKey):
                raise NodeConfigError(f"{config.validator_key_path}: not a BLS validator key")
            key = loaded
        config.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            chain = Chain.open(config.chain_dir, genesis)
        except (ChainError, OSError, ExecutionError) as exc:
            raise NodeConfigError(f"cannot open the chain in {config.chain_dir}: {exc}") from None
        try:
            return cls(config, chain, key)
        except BaseException:
            chain.close()
            raise

    def close(self) -> None:
        if self._signer_store is not None:
            self._signer_store.close()
        if self.v1_builder is not None:
            self.v1_builder.close()
        self.chain.close()

    def validator_set(self, height: int) -> ValidatorSet:
        """The set (with proposer priorities) of `height`."""
        return self._vsets.at(height)

    def validator_members(self, height: int) -> tuple[ValidatorRecord, ...]:
        """The members of `height`'s set with their addresses and reward addresses."""
        return self._vsets.members_at(height)

    # ---- values: blocks -----------------------------------------------------------------
    def _decode(self, value: bytes) -> Block | None:
        key = keccak256(value)
        if key in self._decoded:
            return self._decoded[key]
        try:
            block: Block | None = Block.decode(value)
        except DecodingError:
            block = None
        self._decoded[key] = block
        while len(self._decoded) > 32:
            self._decoded.popitem(last=False)
        return block

    def _value_hash(self, value: bytes) -> bytes:
        block = self._decode(value)
        # Undecodable bytes get a hash no real block has; is_valid rejects them anyway.
        return keccak256(value) if block is None else block.hash

    def _block_inputs(self) -> _BlockInputs:
        """What our next block carries (mempool, evidence and proof pool reads: loop only)."""
        head = self.chain.head
        last_commit = b""
        if self.chain.height >= 1:
            last_commit = self.chain.commit_at(self.chain.height) or b""
        if self.v1_builder is not None:
            proofs = self.v1_builder.proofs(self.chain, self.proof_pool)
        else:
            proofs = pack_universal_proofs(self.chain, self.proof_pool, UP_BYTES_PER_BLOCK)
        evidence = self.evidence.for_block(self.chain.height + 1, sum(len(p) for p in proofs))
        taken = sum(len(p) for p in proofs) + sum(len(e) for e in evidence)
        return _BlockInputs(
            proposer=self.validator_address or b"\x00" * 20,
            time_ms=max(_now_ms(), head.header.time_ms + 1),
            last_commit=last_commit,
            evidence=evidence,
            proofs=proofs,
            txs=self._select_transactions(MAX_BLOCK_BYTES - taken),
        )

    def _get_value(self, height: int) -> bytes:
        started = time.perf_counter()
        prebuilt, self._prebuilt = self._prebuilt, None
        ready = prebuilt is not None and prebuilt[:2] == (self.chain.head.hash, height)
        if prebuilt is not None and ready:
            block = prebuilt[2]
            started -= prebuilt[3] / 1000  # report the build's time, spent in the thread
        else:
            block = self._build(height, self._block_inputs())
        if tamper_enabled():
            block = tampered(block)  # test only: see node/aggregator.py
        value = block.encode()
        key = keccak256(value)
        self._decoded[key] = block
        self._own_values.add(key)
        event(
            logger,
            "proposal_built",
            height=block.height,
            txs=len(block.transactions),
            universal_proofs=len(block.universal_proofs),
            bytes=len(value),
            ms=round((time.perf_counter() - started) * 1000, 1),
            prebuilt=ready,
        )
        return value

    def _build(self, height: int, inputs: _BlockInputs) -> Block:
        """Build on the head from `inputs`, leaving out what the chain refuses (loop only)."""
        proposer, time_ms, last_commit = inputs.proposer, inputs.time_ms, inputs.last_commit
        evidence, proofs, txs = inputs.evidence, inputs.proofs, inputs.txs
        block: Block | None = None
        # The mempool re-checks its transactions after every block, so a failure here is rare:
        # drop the transaction the chain names (and its sender's later ones) and build again.
        for _ in range(8):
            try:
                block = self.chain.build_block(
                    txs, proposer, time_ms, last_commit, evidence, proofs
                )
                break
            except ExecutionError as exc:
                if isinstance(exc, InvalidBlock) and exc.reason == "invalid_universal_proof":
                    # A pooled proof that no longer fits the state: leave it out (aggregator).
                    if self.v1_builder is not None:
                        for raw in proofs:
                            self.v1_builder.rejected(raw, str(exc))
                        proofs = ()
                        continue
                    proofs = drop_rejected(proofs, exc, self.proof_pool)
                    continue
                if isinstance(exc, InvalidBlock) and exc.reason == "invalid_evidence":
                    # Pooled invalid-proof evidence the state rejects: leave it out
                    # (node.evidence_pool); duplicate-vote evidence was verified when pooled.
                    fewer = self.evidence.drop_proof_evidence(evidence, exc)
                    if fewer != evidence:
                        evidence = fewer
                        continue
                bad = _failed_index(exc) if isinstance(exc, InvalidBlock) else None
                event(logger, "build_retry", logging.WARNING, height=height, error=str(exc))
                if bad is None or bad >= len(txs):
                    break
                self.mempool.remove(keccak256(txs[bad]))
                txs = [raw for raw in txs if keccak256(raw) in self.mempool]
        if block is None:
            # An empty block on our own head must build; if it does not, the database is
            # damaged or from another version, and the node stops (run_node reports it).
            txs = []
            block = self.chain.build_block([], proposer, time_ms, last_commit, evidence)
        return block

    async def _prebuild(self, height: int, round_: int = 0) -> None:
        """If we propose `round_` of `height` with a new value, build the block in a worker
        thread now, so that `_get_value` (called inside the driver, on the loop) finds it ready.
        Execution and Universal Proof checks are most of a proposal's cost (~170 us per
        transfer: a 2,000-transfer block held the loop 1.6-2.1 s under load, long enough for
        peers' requests to this node to time out)."""
        if self.signer is None or height != self.chain.height + 1:
            return
        vset = self.validator_set(height)
        me = vset.index_of(self.signer.public_key)
        if me is None or vset.proposer_index(round_) != me:
            return
        if round_ > 0 and self.driver.core.valid_value is not None:
            return  # the driver proposes its valid value again: nothing to build
        started = time.perf_counter()
        inputs = self._block_inputs()
        async with self.chain_lock:
            head = self.chain.head.hash
            if height != self.chain.height + 1:
                return
            try:
                block = await trio.to_thread.run_sync(
                    self.chain.build_block,
                    inputs.txs,
                    inputs.proposer,
                    inputs.time_ms,
                    inputs.last_commit,
                    inputs.evidence,
                    inputs.proofs,
                )
            except ExecutionError:
                return  # `_get_value` builds again on the loop, dropping what fails
        self._prebuilt = (head, height, block, (time.perf_counter() - started) * 1000)

    def _select_transactions(self, max_bytes: int = MAX_BLOCK_BYTES) -> list[bytes]:
        """Mempool order (fee, then nonce per sender) within the block's gas and size.

        Staking transactions were checked one by one against the head, so several may conflict
        (bonds of one key by two owners, a double unbond, bonds for the last free seat): they
        are applied in order to a scratch state and one that no longer applies is dropped with
        its sender's later ones. Otherwise each conflict costs a whole re-execution of the
        block and enough of them (resubmitted for free: they are never included) would leave
        every block empty."""
        params = self.genesis.params
        out: list[bytes] = []
        gas = 0
        size = 0
        scratch = self.chain.head_view()  # staking records as the chosen transactions leave them
        skipped: set[bytes] = set()  # senders with a dropped transaction: their later ones fail
        dropped: list[bytes] = []
        for entry in self.mempool.ordered():
            if len(out) >= self.config.max_block_txs:
                break
            if gas + entry.tx.gas_limit > params.block_gas_limit:
                break
            if size + len(entry.raw) > max_bytes - 64 * 1024:
                break
            if entry.sender in skipped:
                continue
            if entry.tx.kind is TxKind.STAKE and not _stake_applies(
                scratch, entry.sender, entry.tx, params, self.chain.height + 1
            ):
                skipped.add(entry.sender)
                dropped.append(entry.tx.hash)
                continue
            gas += entry.tx.gas_limit
            size += len(entry.raw)
            out.append(entry.raw)
        for tx_hash in dropped:
            self.mempool.remove(tx_hash)
        return out

    def _is_valid(self, value: bytes) -> bool:
        block = self._decode(value)
        key = keccak256(value)
        # Our own proposal was built by the chain on this head: executing it again is waste.
        if block is not None and key in self._own_values:
            return block.height == self.chain.height + 1
        if block is None:
            event(logger, "proposal_invalid", logging.WARNING, reason="undecodable")
            return False
        started = time.perf_counter()
        reason = self._invalid_reason(block, key)
        if block.universal_proofs:
            # What verifying Universal Proofs costs consensus (docs/proving.md).
            event(
                logger,
                "proposal_checked",
                height=block.height,
                universal_proofs=len(block.universal_proofs),
                bytes=sum(len(p) for p in block.universal_proofs),
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
        if reason is not None:
            event(logger, "proposal_invalid", logging.WARNING, height=block.height, reason=reason)
            return False
        return True

    def _invalid_reason(self, block: Block, key: bytes | None = None) -> str | None:
        """Why `block` is not a valid next block, or None; `key` (keccak256 of its encoding)
        lets a verdict from `_precheck` stand in for executing it."""
        header = block.header
        height = header.height
        if height != self.chain.height + 1:
            return f"height {height}, expected {self.chain.height + 1}"
        # Rule: the proposer named in the header (who gets the tips) is a validator of the height.
        if header.proposer not in self._vsets.addresses_at(height):
            return "proposer is not a validator"
        # Rule: a block time is not far ahead of our clock (it must also increase: chain).
        if header.time_ms > _now_ms() + MAX_CLOCK_DRIFT_MS:
            return "block time is in the future"
        # Rule: the block carries the commit certificate of its parent (none at height 1).
        if height == 1:
            if block.last_commit != b"":
                return "height 1 carries no last commit"
        else:
            try:
                commit = Commit.decode(block.last_commit)
                verify_commit(
                    commit,
                    self.validator_set(height - 1),
                    self.chain_id,
                    height=height - 1,
                    block_hash=header.parent_hash,
                )
            except ConsensusError as exc:
                return f"last commit: {exc}"
        # Rule: evidence is verifiable, recent, new, and not repeated.
        seen: set[bytes] = set()
        for raw in block.evidence:
            if is_proof_evidence(raw):
                continue  # invalid-proof evidence: the state transition judges it (check_block)
            try:
                ev = DuplicateVoteEvidence.decode(raw)
                h = ev.hash()
                if h in seen or h in self.evidence.committed:
                    return "evidence already committed"
                seen.add(h)
                if not height - self.evidence.max_age <= ev.height < height:
                    return "evidence height out of range"
                ev.verify(self.validator_set(ev.height), self.chain_id)
            except ConsensusError as exc:
                return f"evidence: {exc}"
        if key is not None and (key, self.chain.head.hash) in self._verdicts:
            # Executed by `_precheck` in a worker thread, on this very head.
            return self._verdicts[(key, self.chain.head.hash)]
        return self._execute(block)

    def _execute(self, block: Block) -> str | None:
        """Execute `block` on the head (its Universal Proofs verified): None if it applies.
        Runs in a worker thread under `chain_lock` (`_precheck`) or on the loop."""
        try:
            self.chain.check_block(block)
        except ExecutionError as exc:
            return f"execution: {exc}"
        return None

    async def _precheck(self, bundle: ProposalBundle, *, starting: bool = False) -> None:
        """Execute a proposal's block in a worker thread before the driver sees the proposal,
        so that its `is_valid` call finds the verdict instead of running the block on the loop.
        `starting`: the height is about to start (a proposal that arrived before we committed
        the previous block, which the driver buffered and replays in `start_height`).

        Only a proposal the driver will consider is executed: this height, on our head, the
        round's proposer's, signed by it (the driver's signature cache remembers the check),
        and one per (height, round, proposer): an equivocating proposer's further values are
        left to the driver, which executes only the one it acts on."""
        p = bundle.proposal
        if starting:
            vset: ValidatorSet | None = self.validator_set(p.height)
            height, round_ = p.height, 0
        else:
            vset, height, round_ = (
                self.driver.validators,
                self.driver.height,
                self.driver.core.round,
            )
        if (
            vset is None
            or p.height != height
            or p.height != self.chain.height + 1
            or not round_ <= p.round <= round_ + 1
        ):
            return
        slot = (p.height, p.round, p.proposer_index)
        key = keccak256(bundle.value)
        if slot in self._prechecked or key in self._own_values:
            return
        if not self.driver.signed_by_proposer(bundle, vset):
            return
        block = self._decode(bundle.value)  # decoded and cached by the check above
        if block is None:
            return
        self._prechecked.add(slot)
        async with self.chain_lock:
            head = self.chain.head.hash
            if block.height != self.chain.height + 1 or block.header.parent_hash != head:
                return
            verdict = await trio.to_thread.run_sync(self._execute, block)
        self._verdicts[(key, head)] = verdict
        while len(self._verdicts) > 16:
            self._verdicts.popitem(last=False)

    def _add_evidence(self, ev: DuplicateVoteEvidence) -> bool:
        if not self.evidence.add(ev, self.chain.height):
            return False
        event(
            logger, "evidence", height=ev.height, validator=ev.validator_index, hash=ev.hash().hex()
        )
        return True

    # ---- committing ---------------------------------------------------------------------
    def apply_block(self, block: Block, commit: Commit, source: str) -> bool:
        """Apply a decided (or synced) block; False if the chain already moved past it."""
        if block.height != self.chain.height + 1:
            return False
        started = time.perf_counter()
        receipts: list[Receipt] = self.chain.commit_block(block, commit.encode())
        self._own_values.clear()
        self.mempool.update([r.tx_hash for r in receipts])
        self.evidence.mark_committed(block)
        self.proof_pool.discard(resolved_task_ids(block, self.chain.state()))
        if self.proving is not None:
            self.proving.on_commit(block)
        event(
            logger,
            "commit",
            height=block.height,
            round=commit.round,
            hash=block.hash.hex(),
            txs=len(block.transactions),
            evidence=len(block.evidence),
            source=source,
            mempool=len(self.mempool),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return True

    def submit_transaction(self, raw: bytes) -> bytes:
        """Admit a transaction from RPC and queue it for gossip; raise MempoolRejected."""
        entry = self.mempool.add(raw)
        self._tx_out.append(entry.raw)
        self._tx_out_event.set()
        return bytes(entry.tx.hash)

    # ---- running ------------------------------------------------------------------------
    async def run(self) -> None:
        """Run until SIGINT/SIGTERM (or cancellation), then close everything."""
        config = self.config
        p2p_config = P2PConfig(
            home=config.p2p_home,
            listen_host=config.p2p_host,
            listen_port=config.p2p_port,
            external_address=config.external_address,
            bootstrap_peers=config.seeds,
            persistent_peers=config.peers,
        )
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._watch_signals, nursery.cancel_scope)
                async with open_p2p_service(p2p_config) as p2p:
                    # libp2p logs a failed bind (port in use) and runs on without a listener.
                    if not p2p.listen_addrs:
                        raise P2PConfigError(
                            f"cannot listen for p2p on {config.p2p_host}:{config.p2p_port} "
                            "(port in use?)"
                        )
                    self.p2p = p2p
                    self._attach_p2p(p2p)
                    self.proving = start_proving(
                        self.chain,
                        self.proof_pool,
                        p2p,
                        nursery,
                        self.prover_settings,
                        self.evidence,
                    )
                    rpc_config = RpcConfig(
                        host=config.rpc_host,
                        port=config.rpc_port,
                        extra_methods={
                            **universal_methods(self.universal_view),
                            **staking_methods(NodeChainView(self)),
                            **(admin_methods(self) if config.admin_rpc else {}),
                        },
                        extra_block_tags={"proven": proven_tag(self.universal_view)},
                    )
                    self.rpc_endpoint = await nursery.start(
                        serve_rpc, rpc_config, NodeChainView(self)
                    )
                    event(
                        logger,
                        "started",
                        height=self.chain.height,
                        peer_id=p2p.peer_id,
                        p2p=p2p.listen_addrs,
                        rpc=self.rpc_endpoint.url,
                        validator=None
                        if self.validator_address is None
                        else self.validator_address.hex(),
                    )
                    async with trio.open_nursery() as inner:
                        inner.start_soon(self._publisher)
                        inner.start_soon(self._consensus_loop)
                        inner.start_soon(self._tx_gossip_loop)
                        inner.start_soon(self._regossip_loop)
                        inner.start_soon(self.syncer.run)
                        inner.start_soon(Watchdog(self).run)
        finally:
            event(logger, "stopped", height=self.chain.height)

    async def _watch_signals(self, scope: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                event(logger, "signal", signal=signal.Signals(signum).name)
                scope.cancel()
                return

    def _attach_p2p(self, p2p: P2PService) -> None:
        p2p.subscribe(TOPIC_VOTES, self._on_vote_message)
        if self._nursery is not None:
            self.proposals = ProposalTransport(
                p2p,
                self._pooled_leaf,
                self._deliver_proposal,
                wanted=lambda height: height >= self.driver.height,
                heard=lambda height: self._note_height(height - 1),
                authentic=self._proposal_signed,
            )
            self.proposals.attach(self._nursery)
        p2p.subscribe(TOPIC_PROPOSALS, self._on_proposal_message)
        p2p.subscribe(TOPIC_EVIDENCE, self._on_evidence_message)
        p2p.subscribe(TOPIC_TRANSACTIONS, self._on_tx_message)
        p2p.register_handler(PROTOCOL_BLOCKS, self.syncer.serve)

    def deliver(self, ev: ConsensusEvent) -> None:
        try:
            self._send.send_nowait(ev)
        except trio.WouldBlock:
            event(logger, "consensus_queue_full", logging.WARNING)

    def _note_height(self, height: int) -> None:
        # Unverified gossip only wakes block sync (and may start its catch-up mode); the peers'
        # answered heads set what ivc_syncing reports (a made-up height must not make the node
        # look behind for good).
        self.syncer.on_gossip_height(height)

    async def _on_vote_message(self, msg: GossipMessage) -> None:
        try:
            vote = Vote.decode(msg.data)
        except ConsensusError:
            self._report(msg)
            return
        self._note_height(vote.height - 1)
        self.deliver(vote)

    async def _on_proposal_message(self, msg: GossipMessage) -> None:
        if self.proposals is not None and is_compact(msg.data):
            await self.proposals.on_message(msg)  # rebuilt or fetched: _deliver_proposal
            return
        try:
            bundle = ProposalBundle.decode(msg.data)
        except ConsensusError:
            self._report(msg)
            return
        self._note_height(bundle.height - 1)
        self.deliver(bundle)

    def _deliver_proposal(self, bundle: ProposalBundle, block: Block | None) -> None:
        if block is not None:  # rebuilt from the pool: consensus need not decode it again
            self._decoded[keccak256(bundle.value)] = block
            while len(self._decoded) > 32:
                self._decoded.popitem(last=False)
        self.deliver(bundle)

    def _proposal_signed(self, p: Proposal) -> bool:
        """Whether a compact proposal is worth a pool read or a fetch: of our height (a round at
        most COMPACT_ROUNDS_AHEAD ahead) or round 0 of the next, signed by its round's proposer.
        Picking the proposer of round r costs r steps, hence the bound."""
        height = self.driver.height
        if p.height not in (height, height + 1):
            return False
        base = self.driver.core.round if p.height == height else 0
        if p.round > base + COMPACT_ROUNDS_AHEAD:
            return False
        try:
            vset = self.driver.validators if p.height == height else self.validator_set(p.height)
        except ValueError:
            vset = None
        if vset is None:
            return True  # the set is not known here yet: consensus judges it, as a full bundle
        return self.driver.proposal_signed(p, vset)

    def _pooled_leaf(self, task_id: bytes) -> ProofLeaf | None:
        pooled = self.proof_pool.get(task_id)
        return None if pooled is None else pooled.leaf

    def _proposal_wire(self, bundle: ProposalBundle) -> bytes:
        """The gossip form of our proposal: compact when its block names pooled proofs."""
        if self.proposals is None:
            return bundle.encode()
        return self.proposals.wire(bundle, self._decode(bundle.value))

    async def _on_evidence_message(self, msg: GossipMessage) -> None:
        try:
            ev = DuplicateVoteEvidence.decode(msg.data)
        except ConsensusError:
            self._report(msg)
            return
        self._add_evidence(ev)

    async def _on_tx_message(self, msg: GossipMessage) -> None:
        try:
            raws = decode_tx_batch(msg.data)
        except MalformedBatch:
            self._report(msg)
            return
        invalid = False
        for raw in raws:
            try:
                self.mempool.add(raw)
            except MempoolRejected as exc:
                # Stale or already known transactions are normal under gossip.
                invalid = invalid or exc.invalid
            await trio.lowlevel.checkpoint()
        # Rule: a node publishes only transactions its mempool admitted, and an invalid one
        # (undecodable, bad signature, wrong chain, static fee/gas rules) is invalid whatever
        # the state: the batch's signed author made it, not the peers that relayed it. Scoring
        # the author lets every node ban it, and then ignore its batches relayed by others.
        if invalid and self.p2p is not None:
            with contextlib.suppress(P2PError):
                self.p2p.report_peer(msg.origin, Offence.INVALID)

    def _report(self, msg: GossipMessage) -> None:
        if self.p2p is not None:
            with contextlib.suppress(P2PError):
                self.p2p.report_peer(msg.from_peer)

    # ---- consensus ----------------------------------------------------------------------
    async def _consensus_loop(self) -> None:
        """The one task that drives `self.driver` (and so the signer)."""
        outputs = self._start_outputs(self.chain.height + 1)
        await self._sync_signer()
        await self._handle(outputs)
        async for ev in self._receive:
            try:
                if isinstance(ev, Vote):
                    outputs = self.driver.on_vote(ev)
                elif isinstance(ev, ProposalBundle):
                    if self._holds_early(ev):
                        self._early.append(ev)  # executed off the loop when its height starts
                    await self._precheck(ev)
                    outputs = self.driver.on_proposal(ev)
                elif isinstance(ev, TimeoutEvent):
                    if ev.step == Step.PRECOMMIT and ev.height == self.driver.height:
                        # A precommit timeout of the current round starts the next one.
                        core = self.driver.core
                        if ev.round == core.round and core.step != Step.DECIDED:
                            await self._prebuild(ev.height, ev.round + 1)
                    outputs = self.driver.on_timeout(ev)
                else:
                    if ev.height != self.chain.height + 1 or ev.height == self.driver.height:
                        continue
                    started = time.monotonic()  # the block interval counts the build too
                    await self._prebuild(ev.height)
                    early, self._early = self._early, []
                    for bundle in early:
                        if bundle.height == ev.height:
                            await self._precheck(bundle, starting=True)
                    if ev.height != self.chain.height + 1:
                        continue  # block sync moved the head meanwhile
                    outputs = self._start_outputs(ev.height, started)
            except ConsensusError as exc:
                event(logger, "consensus_error", logging.ERROR, error=str(exc))
                outputs = []  # what it signed before the error is made durable all the same
            await self._sync_signer()
            await self._handle(outputs)

    def _holds_early(self, bundle: ProposalBundle) -> bool:
        """Whether to keep a next-height proposal for an off-loop check when its height starts.

        Only signed ones of round 0 (a height starts there): junk must not take the few places
        from the real proposal. The set of the next height is known ahead (sets change with a
        delay); if it still changes, the check is only skipped, the driver decides anyway."""
        if bundle.height != self.driver.height + 1 or bundle.proposal.round != 0:
            return False
        if len(self._early) >= 8 or any(b.proposal == bundle.proposal for b in self._early):
            return False
        try:
            vset = self.validator_set(bundle.height)
        except ValueError:
            return False
        return self.driver.signed_by_proposer(bundle, vset)

    async def _sync_signer(self) -> None:
        """Make what the driver just signed durable before any of it is sent or committed.

        The fsyncs (about 6 ms each here) run in a worker thread, so RPC and gossip go on
        meanwhile; this task waits, so no driver call overlaps a sync."""
        if self.signer is not None and self.signer.pending:
            await trio.to_thread.run_sync(self.signer.sync)

    def _start_outputs(self, height: int, started: float | None = None) -> list[Output]:
        self.height_started = time.monotonic() if started is None else started
        self._prechecked = {s for s in self._prechecked if s[0] >= height}
        event(logger, "height_start", logging.DEBUG, height=height)
        return self.driver.start_height(height, self.validator_set(height))

    async def _handle(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, SendVote):
                await self._publish(TOPIC_VOTES, out.vote.encode())
            elif isinstance(out, SendProposal):
                await self._publish(TOPIC_PROPOSALS, self._proposal_wire(out.bundle))
            elif isinstance(out, ScheduleTimeout):
                self._spawn(self._fire_timeout, out)
            elif isinstance(out, Decided):
                self._on_decided(out)
            elif isinstance(out, EvidenceFound):
                if self._add_evidence(out.evidence):
                    await self._publish(TOPIC_EVIDENCE, out.evidence.encode())
            elif isinstance(out, SignRefused):
                event(logger, "sign_refused", logging.WARNING, reason=out.reason)

    async def _publish(self, topic: str, data: bytes) -> None:
        """Queue a gossip message. Consensus never waits on the network: a peer that reads
        slowly (busy executing a big block) would otherwise stall this node's state machine."""
        try:
            self._outbox_send.send_nowait((topic, data))
        except trio.WouldBlock:
            event(logger, "outbox_full", logging.WARNING, topic=topic)
        await trio.lowlevel.checkpoint()

    async def _publisher(self) -> None:
        """Send queued messages, each in its own task, at most MAX_PUBLISHING at once."""
        limiter = trio.CapacityLimiter(MAX_PUBLISHING)
        async with trio.open_nursery() as nursery:
            async for topic, data in self._outbox_receive:
                token = object()  # the same bytes may be queued twice (re-gossip)
                await limiter.acquire_on_behalf_of(token)
                nursery.start_soon(self._publish_now, topic, data, limiter, token)

    async def _publish_now(
        self, topic: str, data: bytes, limiter: trio.CapacityLimiter, token: object
    ) -> None:
        started = time.monotonic()
        try:
            if self.p2p is not None:
                await self.p2p.publish(topic, data)
        except (P2PError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            event(logger, "publish_failed", logging.WARNING, topic=topic, error=repr(exc))
        finally:
            limiter.release_on_behalf_of(token)
        elapsed = time.monotonic() - started
        if elapsed > 2.0:
            event(logger, "publish_slow", logging.WARNING, topic=topic, seconds=round(elapsed, 1))

    def _spawn(self, fn: Callable[..., Awaitable[None]], *args: object) -> None:
        if self._nursery is None:
            raise RuntimeError("the node is not running")
        self._nursery.start_soon(fn, *args)

    async def _fire_timeout(self, t: ScheduleTimeout) -> None:
        await trio.sleep(t.duration)
        self.deliver(TimeoutEvent(t.step, t.height, t.round))

    def _on_decided(self, d: Decided) -> None:
        block = self._decode(d.value)
        if block is None:  # cannot happen: only valid values are decided
            event(logger, "decided_undecodable", logging.ERROR, height=d.height)
            return
        try:
            committed = self.apply_block(block, d.commit, "consensus")
        except ExecutionError as exc:
            event(logger, "commit_failed", logging.ERROR, height=d.height, error=str(exc))
            return
        if committed:
            self._schedule_next(self.chain.height + 1)

    def _schedule_next(self, height: int) -> None:
        """Start `height` once the block interval since the previous start has passed."""
        delay = max(0.0, self.height_started + self.config.block_interval - time.monotonic())
        self._spawn(self._start_later, height, delay)

    async def _start_later(self, height: int, delay: float) -> None:
        await trio.sleep(delay)
        self.deliver(StartHeight(height))

    async def _regossip_loop(self) -> None:
        """Re-send our own messages of a height that is not moving (lost or missed gossip).

        The interval doubles, up to REGOSSIP_BACKOFF_MAX times, while the same round stands
        still: every message of the height to every peer each second was most of the gossip
        of a stuck round on a loaded machine, so each node fell further behind and rounds
        grew longer (the 20-task stall, docs/proving.md)."""
        last = (-1, -1)
        repeats = 0
        while True:
            await trio.sleep(self.config.regossip_interval * min(2**repeats, REGOSSIP_BACKOFF_MAX))
            now = (self.driver.height, self.driver.core.round)
            # While the signer syncs, own_messages() may hold records not yet durable.
            waiting = self.signer is not None and self.signer.pending
            if now == last and self.driver.height == self.chain.height + 1 and not waiting:
                for msg in self.driver.own_messages():
                    if isinstance(msg, SendVote):
                        await self._publish(TOPIC_VOTES, msg.vote.encode())
                    else:
                        # compact: re-sending a block's proofs every few seconds flooded a
                        # stalled round (docs/proving.md, "Proposal transport")
                        await self._publish(TOPIC_PROPOSALS, self._proposal_wire(msg.bundle))
                repeats += 1
            elif now != last:
                repeats = 0
            last = now

    # ---- transactions -------------------------------------------------------------------
    async def _tx_gossip_loop(self) -> None:
        while True:
            await self._tx_out_event.wait()
            self._tx_out_event = trio.Event()
            await trio.sleep(self.config.tx_batch_interval)
            pending, self._tx_out = self._tx_out, []
            while pending:
                batch: list[bytes] = []
                size = 0
                while pending and len(batch) < MAX_TXS_PER_BATCH:
                    if batch and size + len(pending[0]) > MAX_TX_BATCH_BYTES:
                        break
                    size += len(pending[0])
                    batch.append(pending.pop(0))
                if self.p2p is not None:
                    try:
                        await self.p2p.publish_transactions(batch)
                    except P2PError as exc:
                        event(logger, "publish_failed", logging.WARNING, error=repr(exc))


def run_node(config: NodeConfig) -> None:
    """Open the node in `config.home` and run it until a signal; always close the database.

    A port in use or an unusable p2p setting surfaces as NodeConfigError (one line for the
    user), whichever task of the nursery hit it."""
    relax_gc()  # a chain process allocates many acyclic objects: see its docstring
    node = Node.open(config)
    profile = _start_profile()
    try:
        trio.run(node.run)
    except BaseExceptionGroup as group:
        cause = _user_error(group)
        if cause is None:
            raise
        raise NodeConfigError(cause) from None
    except (OSError, P2PError) as exc:
        raise NodeConfigError(str(exc)) from None
    finally:
        node.close()
        if profile is not None:
            _stop_profile(profile)


def _start_profile() -> cProfile.Profile | None:
    """With IVCNET_PROFILE=FILE, profile the event loop's thread (cProfile) until the node
    stops and write the stats to FILE (read with `python -m pstats FILE`): for benches."""
    if not os.environ.get(PROFILE_ENV):
        return None
    profile = cProfile.Profile()
    profile.enable()
    return profile


def _stop_profile(profile: cProfile.Profile) -> None:
    profile.disable()
    profile.dump_stats(os.environ[PROFILE_ENV])


def _user_error(group: BaseExceptionGroup[BaseException]) -> str | None:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = _user_error(exc)
            if found is not None:
                return found
        elif isinstance(exc, OSError | P2PError):
            return str(exc)
        elif isinstance(exc, ExecutionError):
            return (
                f"chain error ({type(exc).__name__}): {exc}; "
                "the database may be from another version of ivcnet"
            )
    return None
