"""Moving task proofs between nodes: announcements by gossip, proofs by request/response.

Every node runs one `ProofExchange` (provers and validators alike):

- it serves the proofs of its pool over /ivcnet/proof/1 (request: a task id);
- on an announcement (/ivcnet/proof-announce/1) of a proof it lacks for a task that is pending
  in its head state, it fetches the proof from the peer that forwarded the announcement or from
  its author, checks the announced size and statement digest, verifies it against the task's
  on-chain record (`node.proof_pool.verify_proof`, in a worker thread, one at a time), pools
  it and announces it in turn, so that its own neighbours can fetch from it;
- an announcement of a task this node has not committed yet (the prover's block may be ahead
  of ours) is kept (bounded) and retried after each commit;
- a served proof comes in its prover's envelope (execution.staking.proof_envelope), checked
  before anything else: unsigned or signed by anyone but the prover it names, it is dropped;
- a malformed message, a bad envelope, or a served proof that does not verify or does not
  match its announcement, scores the serving peer down (`P2PService.report_peer`); nothing a
  peer sends can raise out of here;
- a correctly signed proof that fails verification against the task's record is handed to
  `on_invalid_proof` as invalid-proof evidence (execution.staking.proof_evidence), which the
  node pools for a block that slashes the prover (node.evidence_pool).

Claims (node.prover.messages.Claim) are handed to `on_claim`, which the prover service uses;
one not signed by the prover it names is refused before relaying (its forwarder scored down),
and one whose time is more than a minute off this node's clock is not relayed (nobody blamed).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

import trio

from execution.chain import Chain
from execution.staking import BadEnvelope, InvalidProofEvidence, check_envelope
from execution.state import Task, TaskStatus
from execution.types.hashing import keccak256
from node.logs import event
from node.proof_pool import (
    InvalidPoolProof,
    ProofPool,
    ShapeNotAllowed,
    VerifiedProof,
    verify_proof,
)
from node.prover.claims import DEFAULT_TIMING
from node.prover.messages import (
    Announcement,
    Claim,
    MalformedMessage,
    check_claim,
    decode_gossip,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from p2p import (
    PROTOCOL_PROOF,
    TOPIC_PROOF_ANNOUNCEMENTS,
    GossipMessage,
    NotRelayed,
    Offence,
    P2PError,
    P2PService,
    RequestError,
)

logger = logging.getLogger("node.prover")

FETCH_TIMEOUT_S = 30.0
MAX_CONCURRENT_FETCHES = 4
MAX_DEFERRED = 1024
MAX_FETCH_PEERS = 16  # peers tried in turn for one task's proof
# Pooled proofs of pending tasks are announced again this often (at most REANNOUNCE_MAX each
# time, oldest task blocks first): a node that connected after the first announcement, or was
# cut off, learns of them too.
REANNOUNCE_INTERVAL_S = 30.0
REANNOUNCE_MAX = 64
MAX_CLAIM_SKEW_MS = DEFAULT_TIMING.max_age_s * 1000


class ProofExchange:
    def __init__(
        self,
        chain: Chain,
        pool: ProofPool,
        p2p: P2PService,
        reannounce_interval: float = REANNOUNCE_INTERVAL_S,
    ) -> None:
        self.chain = chain
        self.reannounce_interval = reannounce_interval
        self.pool = pool
        self.p2p = p2p
        self.profile = chain.genesis.params.proof.profile
        # A v1 chain's allow-list (empty on v0): proofs of other shapes are not pooled.
        self.lift_shapes = frozenset(chain.genesis.params.universal_proof_lift_shapes)
        self.on_claim: Callable[[Claim, str], None] | None = None
        self.on_pooled: Callable[[bytes], None] | None = None
        self.on_invalid_proof: Callable[[InvalidProofEvidence], None] | None = None
        self.chain_id = chain.chain_id
        self.genesis_hash = chain.genesis_hash  # which proof envelopes bind
        # Proofs this node serves without having verified them: only a test-only malicious
        # prover puts anything here (node.prover.service, --prover-fault): task id -> (prover,
        # proof, envelope signature).
        self.unverified: dict[bytes, tuple[bytes, bytes, bytes]] = {}
        # task id -> (announcement, peer) to try in turn; an announcement that arrives while
        # its task is being fetched joins the list, so a peer that stalls or answers "not held"
        # cannot make us drop every other peer's announcement of that proof.
        self._fetching: dict[bytes, list[tuple[Announcement, str]]] = {}
        # task id -> peers that announced it, for tasks not yet in our state.
        self._deferred: OrderedDict[bytes, list[tuple[Announcement, str]]] = OrderedDict()
        self._fetch_slots = trio.Semaphore(MAX_CONCURRENT_FETCHES)
        self._verify_limiter = trio.CapacityLimiter(1)
        self._nursery: trio.Nursery | None = None
        self.fetched = 0
        self.rejected = 0

    def attach(self, nursery: trio.Nursery) -> None:
        """Subscribe to announcements and serve proofs; fetches run in `nursery`."""
        self._nursery = nursery
        # Checked before relaying too: a malformed claim or announcement goes no further.
        self.p2p.set_topic_validator(TOPIC_PROOF_ANNOUNCEMENTS, self._well_formed)
        self.p2p.subscribe(TOPIC_PROOF_ANNOUNCEMENTS, self._on_message)
        self.p2p.register_handler(PROTOCOL_PROOF, self._serve)
        nursery.start_soon(self._reannounce_loop)

    async def _reannounce_loop(self) -> None:
        while True:
            await trio.sleep(self.reannounce_interval)
            state = self.chain.state()
            sent = 0
            for height in self.pool.heights():
                for task_id in self.pool.task_ids(height):
                    info = self.pool.info(task_id)
                    task = state.task(task_id)
                    if info is None or task is None or task.status is not TaskStatus.PENDING:
                        continue
                    await self.announce(task_id, info.prover, info.statement.to_bytes(), info.size)
                    sent += 1
                    if sent >= REANNOUNCE_MAX:
                        break
                if sent >= REANNOUNCE_MAX:
                    break

    # ---- serving ----------------------------------------------------------------------
    async def _serve(self, peer_id: str, data: bytes) -> bytes:
        task_id = decode_request(data)  # a MalformedMessage becomes the caller's RemoteError
        pooled = self.pool.get(task_id)
        if pooled is not None and pooled.signature:
            return encode_response(pooled.leaf.prover, pooled.leaf.task_proof, pooled.signature)
        if task_id in self.unverified:
            return encode_response(*self.unverified[task_id])
        return encode_response(b"", b"", b"")

    # ---- own proofs -------------------------------------------------------------------
    async def verify(
        self, task: Task | None, task_id: bytes, prover: bytes, proof: bytes, signature: bytes
    ) -> VerifiedProof:
        """`verify_proof` in a worker thread (one at a time): a verification takes 0.1-0.3 s
        of numpy work, too long for the event loop that also runs consensus."""
        return await trio.to_thread.run_sync(
            verify_proof,
            task,
            task_id,
            prover,
            proof,
            self.profile,
            signature,
            self.lift_shapes,
            limiter=self._verify_limiter,
        )

    async def add_and_announce(self, proof: VerifiedProof) -> bool:
        """Pool a verified proof and, if it is new here, announce it."""
        if not self.pool.add(proof):
            return False
        if self.on_pooled is not None:
            self.on_pooled(proof.task_id)
        await self.announce(
            proof.task_id, proof.prover, proof.statement.to_bytes(), len(proof.proof)
        )
        return True

    async def announce(self, task_id: bytes, prover: bytes, statement: bytes, size: int) -> None:
        msg = Announcement(task_id, prover, keccak256(statement), size)
        try:
            await self.p2p.publish(TOPIC_PROOF_ANNOUNCEMENTS, msg.encode())
        except P2PError as exc:
            event(logger, "proof_announce_failed", logging.WARNING, error=str(exc))

    # ---- announcements from peers -----------------------------------------------------
    async def _on_message(self, msg: GossipMessage) -> None:
        try:
            decoded = decode_gossip(msg.data)
        except MalformedMessage as exc:
            event(
                logger,
                "proof_message_malformed",
                logging.DEBUG,
                peer=str(msg.from_peer),
                error=str(exc),
            )
            self.p2p.report_peer(msg.from_peer, Offence.MALFORMED)
            return
        if isinstance(decoded, Claim):
            if self.on_claim is not None:
                self.on_claim(decoded, str(msg.origin))
            return
        self._consider(decoded, [str(msg.from_peer), str(msg.origin)])

    def _consider(self, ann: Announcement, peers: list[str]) -> None:
        if ann.task_id in self.pool:
            return
        queued = self._fetching.get(ann.task_id)
        if queued is not None:
            known = {peer for _, peer in queued}
            for peer in dict.fromkeys(peers):
                if peer not in known and len(queued) < MAX_FETCH_PEERS:
                    queued.append((ann, peer))
            return
        task = self.chain.state().task(ann.task_id)
        if task is None:
            entry = self._deferred.setdefault(ann.task_id, [])
            self._deferred.move_to_end(ann.task_id)
            entry.extend((ann, p) for p in peers)
            del entry[:-8]
            while len(self._deferred) > MAX_DEFERRED:
                self._deferred.popitem(last=False)
            return
        if task.status is not TaskStatus.PENDING or self._nursery is None:
            return
        self._fetching[ann.task_id] = [(ann, peer) for peer in dict.fromkeys(peers)]
        self._nursery.start_soon(self._fetch, ann.task_id)

    def on_commit(self) -> None:
        """Retry the announcements of tasks that were not in our state yet."""
        if not self._deferred:
            return
        state = self.chain.state()
        ready = [t for t in self._deferred if state.task(t) is not None]
        for task_id in ready:
            entries = self._deferred.pop(task_id)
            self._consider(entries[0][0], [peer for _, peer in entries])

    async def _fetch(self, task_id: bytes) -> None:
        queued = self._fetching[task_id]
        try:
            async with self._fetch_slots:
                i = 0
                while i < len(queued):  # grows while we fetch (_consider)
                    ann, peer = queued[i]
                    i += 1
                    if task_id in self.pool:
                        return
                    if await self._fetch_from(ann, peer):
                        return
        finally:
            del self._fetching[task_id]

    async def _fetch_from(self, ann: Announcement, peer: str) -> bool:
        """True once the task's proof is pooled; False to try the next peer."""
        started = trio.current_time()
        try:
            data = await self.p2p.request(
                peer, PROTOCOL_PROOF, encode_request(ann.task_id), timeout=FETCH_TIMEOUT_S
            )
            answer = decode_response(data)
        except RequestError as exc:
            event(logger, "proof_fetch_failed", logging.DEBUG, peer=peer, error=str(exc))
            return False
        except MalformedMessage as exc:
            self._reject(peer, ann, str(exc))
            return False
        if answer is None:
            return False  # a relay that has not fetched it (yet)
        prover, proof, signature = answer
        # Rule: the envelope first; an unsigned or forged proof costs us no verification.
        try:
            check_envelope(self.genesis_hash, ann.task_id, prover, proof, signature)
        except BadEnvelope as exc:
            self._reject(peer, ann, f"bad envelope: {exc}")
            return False
        task = self.chain.state().task(ann.task_id)
        if task is None or task.status is not TaskStatus.PENDING:
            return True  # resolved meanwhile: nothing to pool
        if len(proof) > ann.size or prover != ann.prover:
            self._reject(peer, ann, "the served proof is not the announced one")
            return False
        try:
            verified = await self.verify(task, ann.task_id, prover, proof, signature)
        except ShapeNotAllowed as exc:
            # Not evidence (the proof may well verify), but useless here: keep looking for a
            # proof of an allowed shape (the next peer, a later announcement).
            self._reject(peer, ann, str(exc))
            return False
        except InvalidPoolProof as exc:
            self._reject(peer, ann, str(exc))
            # Signed by its prover and wrong for the task: evidence against the prover.
            if self.on_invalid_proof is not None:
                self.on_invalid_proof(InvalidProofEvidence(ann.task_id, prover, signature, proof))
            return False
        if keccak256(verified.statement.to_bytes()) != ann.statement_digest:
            self._reject(peer, ann, "the statement does not match the announced digest")
            return False
        added = await self.add_and_announce(verified)
        if added:
            self.fetched += 1
            event(
                logger,
                "proof_fetched",
                task=ann.task_id.hex(),
                prover=prover.hex(),
                peer=peer,
                bytes=len(proof),
                ms=round((trio.current_time() - started) * 1000, 1),
            )
        return True

    def _reject(self, peer: str, ann: Announcement, reason: str) -> None:
        self.rejected += 1
        event(
            logger,
            "proof_rejected",
            logging.WARNING,
            task=ann.task_id.hex(),
            prover=ann.prover.hex(),
            peer=peer,
            reason=reason,
        )
        self.p2p.report_peer(peer, Offence.INVALID)

    def _well_formed(self, data: bytes) -> bool:
        try:
            decoded = decode_gossip(data)
            if isinstance(decoded, Claim):
                check_claim(decoded, self.genesis_hash)  # BadClaim is a MalformedMessage
        except MalformedMessage:
            return False
        # Rule: a claim off our clock by more than its max age holds nothing anywhere
        # (node.prover.claims): not relayed, but an honest relay may be behind, so no blame.
        if (
            isinstance(decoded, Claim)
            and abs(decoded.time_ms - time.time() * 1000) > MAX_CLAIM_SKEW_MS
        ):
            raise NotRelayed("claim time off this node's clock")
        return True
