"""Proposals on the wire: compact gossip (node/compact_proposal.py) and a fetch for what the
proof pool lacks.

    transport = ProposalTransport(p2p, lookup, deliver)
        # lookup: task id -> pooled ProofLeaf; deliver(bundle, decoded block or None)
    transport.attach(nursery)         # topic validator + /ivcnet/proposal-value/1 handler
    data = transport.wire(bundle, block)      # compact when it names a leaf, else the full bundle
    await transport.on_message(msg)   # a compact proposal from gossip: rebuilt, or fetched

Sending: `wire` keeps the full value (by keccak256, a few recent ones) to serve it, and returns
the compact form when the block carries a v0 Universal Proof, else the full `ProposalBundle`
as before. Receiving: a compact proposal is rebuilt from the proof pool and handed to
`deliver` once it hashes to its value key. When a proof is missing (or the pool holds other
bytes for the task), the whole value is requested by its key over /ivcnet/proposal-value/1:
from the peer that forwarded the gossip, then its author, then other connected peers, one
at a time, each request bounded (`request_timeout`), the whole attempt too (`fetch_timeout`).
A proposal that cannot be completed is not delivered: consensus sees a lost proposal (the
round's propose timeout), nobody crashes.

    ValueRequest  = rlp([value_key(32)])
    ValueResponse = rlp([value])          (empty: not held)

Blame: a malformed compact message is refused before relaying by the topic validator (the
forwarder is scored down, as for any topic); references that do not describe the author's
value once the proofs are at hand score the author (the gossip origin), not the relay, which
could not know; a served value that does not hash to the key asked for, or a malformed
answer, scores the server. A peer that does not hold the value answers "not held", no blame.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import rlp
import trio
from rlp.exceptions import RLPException
from rlp.sedes import Binary, List, binary

from consensus import Proposal, ProposalBundle
from execution.types.block import Block
from execution.types.errors import DecodingError
from execution.types.hashing import keccak256
from execution.types.rlp_fast import check_canonical
from node.compact_proposal import (
    CompactProposal,
    InconsistentCompact,
    InvalidServed,
    LeafLookup,
    MalformedCompact,
    Rebuilt,
    check_fetched,
    decode_compact,
    encode_compact,
    is_compact,
    missing_refs,
    rebuild,
)
from node.logs import event
from p2p import (
    TOPIC_PROPOSALS,
    GossipMessage,
    Offence,
    P2PError,
    P2PService,
    RequestError,
)

logger = logging.getLogger("node.proposals")

PROTOCOL_PROPOSAL_VALUE = "/ivcnet/proposal-value/1"
# A value fetch: each request, and the whole attempt over every peer tried. Under the propose
# timeout (6 s + 1 s per round on the devnet), so a fetched proposal can still be voted for.
REQUEST_TIMEOUT_S = 4.0
FETCH_TIMEOUT_S = 12.0
MAX_FETCH_PEERS = 8
MAX_CONCURRENT_FETCHES = 2
# Values kept to serve: our own proposals and those rebuilt or fetched (a few heights' worth).
KEPT_VALUES = 8
KEPT_BYTES = 32 << 20
# A value is a block (node.MAX_BLOCK_BYTES, 3 MiB); a served one beyond this is refused.
MAX_VALUE_BYTES = 8 << 20

_KEY = Binary.fixed_length(32)
_REQUEST = List([_KEY], strict=True)
_RESPONSE = List([binary], strict=True)


class MalformedValueMessage(Exception):
    """Bytes that are not a value request or response."""


def encode_value_request(value_key: bytes) -> bytes:
    return bytes(rlp.encode([value_key], _REQUEST))


def decode_value_request(data: bytes) -> bytes:
    return _decode(data, _REQUEST, "value request")


def encode_value_response(value: bytes) -> bytes:
    return bytes(rlp.encode([value], _RESPONSE))


def decode_value_response(data: bytes) -> bytes | None:
    """The value, or None when the peer does not hold it."""
    value = _decode(data, _RESPONSE, "value response")
    return value or None


def _decode(data: bytes, sedes: List, what: str) -> bytes:
    try:
        check_canonical(data, what)  # as every message of ours (execution.types.rlp_fast)
        (item,) = rlp.decode(data, sedes=sedes, strict=True)
    except (DecodingError, RLPException, TypeError, ValueError) as exc:
        raise MalformedValueMessage(str(exc)) from exc
    return bytes(item)


def well_formed(data: bytes) -> bool:
    """Topic validator of the proposal topic: a compact proposal must decode and name the
    signed block (full bundles are left to the consumer, as before)."""
    if not is_compact(data):
        return True
    try:
        decode_compact(data)
    except MalformedCompact as exc:
        event(logger, "proposal_malformed", logging.DEBUG, error=str(exc))
        return False
    return True


@dataclass
class TransportStats:
    compact_sent: int = 0
    full_sent: int = 0
    rebuilt: int = 0  # compact proposals completed from the pool
    fetched: int = 0  # completed by a value fetch
    not_delivered: int = 0  # could not be completed
    inconsistent: int = 0  # the author's references did not describe its value
    unauthentic: int = 0  # not signed by the round's proposer at a height being decided
    served: int = 0
    serve_misses: int = 0


@dataclass
class _Fetch:
    compact: CompactProposal
    peers: list[str]
    origin: str
    tried: set[str] = field(default_factory=set)


class ProposalTransport:
    def __init__(
        self,
        p2p: P2PService,
        lookup: LeafLookup,
        deliver: Callable[[ProposalBundle, Block | None], None],
        wanted: Callable[[int], bool] = lambda height: True,
        heard: Callable[[int], None] = lambda height: None,
        authentic: Callable[[Proposal], bool] = lambda proposal: True,
        request_timeout: float = REQUEST_TIMEOUT_S,
        fetch_timeout: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.p2p = p2p
        self.lookup = lookup
        self.deliver = deliver
        self.wanted = wanted  # whether a proposal of this height is still worth a fetch
        self.heard = heard  # the height of every well-formed proposal (wakes block sync)
        # Whether a proposal is signed by its round's proposer at a height we are deciding:
        # checked before any pool read, fetch or kept value, so unsigned junk costs a decode.
        self.authentic = authentic
        self.request_timeout = request_timeout
        self.fetch_timeout = fetch_timeout
        self.stats = TransportStats()
        self._values: OrderedDict[bytes, bytes] = OrderedDict()
        self._values_bytes = 0
        self._wire: OrderedDict[bytes, bytes] = OrderedDict()  # value key -> bytes we send
        self._fetching: dict[bytes, _Fetch] = {}
        self._slots = trio.Semaphore(MAX_CONCURRENT_FETCHES)
        self._nursery: trio.Nursery | None = None

    def attach(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self.p2p.set_topic_validator(TOPIC_PROPOSALS, well_formed)
        self.p2p.register_handler(PROTOCOL_PROPOSAL_VALUE, self._serve)

    # ---- sending ----------------------------------------------------------------------
    def wire(self, bundle: ProposalBundle, block: Block | None) -> bytes:
        """What to gossip for `bundle` (`block`: its decoded value, None if it does not decode).
        Keeps the value to serve; the same bundle again (re-gossip) costs no new encoding."""
        key = keccak256(bundle.value)
        self.remember(key, bundle.value)
        data = self._wire.get(key)
        if data is None:
            compact = None if block is None else encode_compact(bundle, block)
            data = bundle.encode() if compact is None else compact
            self._wire[key] = data
            while len(self._wire) > KEPT_VALUES:
                self._wire.popitem(last=False)
        if is_compact(data):
            self.stats.compact_sent += 1
        else:
            self.stats.full_sent += 1
        return data

    def remember(self, key: bytes, value: bytes) -> None:
        """Keep a complete value to serve (the most recent ones, bounded in count and bytes)."""
        if key in self._values:
            self._values.move_to_end(key)
            return
        self._values[key] = value
        self._values_bytes += len(value)
        while len(self._values) > KEPT_VALUES or self._values_bytes > KEPT_BYTES:
            _, old = self._values.popitem(last=False)
            self._values_bytes -= len(old)

    def value(self, key: bytes) -> bytes | None:
        return self._values.get(key)

    # ---- serving ----------------------------------------------------------------------
    async def _serve(self, peer_id: str, data: bytes) -> bytes:
        key = decode_value_request(data)  # a MalformedValueMessage becomes the caller's error
        value = self._values.get(key)
        if value is None:
            self.stats.serve_misses += 1
            return encode_value_response(b"")
        self.stats.served += 1
        return encode_value_response(value)

    # ---- receiving --------------------------------------------------------------------
    async def on_message(self, msg: GossipMessage) -> None:
        """A compact proposal from gossip (the topic validator passed it)."""
        try:
            compact = decode_compact(msg.data)
        except MalformedCompact as exc:
            # Own publishes and validator-free paths only: the gate refused the rest.
            event(logger, "proposal_malformed", logging.WARNING, peer=msg.from_peer, error=str(exc))
            self._blame(msg.from_peer, Offence.MALFORMED)
            return
        self.heard(compact.height)  # as for a full bundle: even one we cannot complete
        known = self._values.get(compact.value_key)
        if known is not None:  # re-gossip of a value we already completed
            self.deliver(ProposalBundle(compact.proposal, known), None)
            return
        if not self.authentic(compact.proposal):
            # Not signed by the round's proposer, or of a height/round we are not at: the
            # receiver's own state decides the latter, so nobody is blamed; a full bundle
            # would be dropped by consensus the same way.
            self.stats.unauthentic += 1
            return
        try:
            rebuilt = rebuild(compact, self.lookup)
        except InconsistentCompact as exc:
            self._inconsistent(compact, msg.origin, str(exc))
            return
        if rebuilt is not None:
            self.stats.rebuilt += 1
            self._complete(rebuilt)
            return
        self._want(compact, msg)

    def _complete(self, rebuilt: Rebuilt) -> None:
        self.remember(rebuilt.key, rebuilt.bundle.value)  # hashed once, by the check
        self.deliver(rebuilt.bundle, rebuilt.block)

    def _inconsistent(self, compact: CompactProposal, origin: str, reason: str) -> None:
        self.stats.inconsistent += 1
        event(
            logger,
            "proposal_inconsistent",
            logging.WARNING,
            height=compact.height,
            round=compact.proposal.round,
            author=origin,
            reason=reason,
        )
        self._blame(origin, Offence.INVALID)

    def _want(self, compact: CompactProposal, msg: GossipMessage) -> None:
        """Fetch the value of `compact` (or add this message's peers to a running fetch)."""
        key = compact.value_key
        running = self._fetching.get(key)
        if running is not None:
            for peer in (msg.from_peer, msg.origin):
                if peer not in running.peers and len(running.peers) < MAX_FETCH_PEERS:
                    running.peers.append(peer)
            return
        if self._nursery is None or not self.wanted(compact.height):
            return
        missing = missing_refs(compact, self.lookup)
        event(
            logger,
            "proposal_fetch",
            height=compact.height,
            round=compact.proposal.round,
            missing=len(missing),
            task=missing[0].task_id.hex() if missing else "",
            peer=msg.from_peer,
        )
        self._fetching[key] = _Fetch(
            compact, list(dict.fromkeys([msg.from_peer, msg.origin])), msg.origin
        )
        self._nursery.start_soon(self._fetch, key)

    async def _fetch(self, key: bytes) -> None:
        job = self._fetching[key]
        started = trio.current_time()
        outcome = "timeout"
        try:
            with trio.move_on_after(self.fetch_timeout):
                async with self._slots:
                    outcome = await self._try_peers(job)
        finally:
            del self._fetching[key]
        ms = round((trio.current_time() - started) * 1000, 1)
        if outcome == "fetched":
            return
        self.stats.not_delivered += 1
        event(
            logger,
            "proposal_not_delivered",
            logging.WARNING,
            height=job.compact.height,
            round=job.compact.proposal.round,
            reason=outcome,
            peers_tried=len(job.tried),
            ms=ms,
        )

    async def _try_peers(self, job: _Fetch) -> str:
        """ "fetched", or why not."""
        i = 0
        while True:
            if i >= len(job.peers):
                self._add_connected_peers(job)
                if i >= len(job.peers):
                    return "no peer holds it"
            peer = job.peers[i]
            i += 1
            if peer in job.tried:
                continue
            job.tried.add(peer)
            if not self.wanted(job.compact.height):
                return "height passed"
            outcome = await self._fetch_from(job, peer)
            if outcome is not None:
                return outcome

    def _add_connected_peers(self, job: _Fetch) -> None:
        try:
            statuses = self.p2p.peers()
        except P2PError:
            return
        for status in statuses:
            if len(job.peers) >= MAX_FETCH_PEERS:
                return
            if status.connected and not status.banned and status.peer_id not in job.peers:
                job.peers.append(status.peer_id)

    async def _fetch_from(self, job: _Fetch, peer: str) -> str | None:
        """ "fetched" (delivered) or a reason to stop; None to try the next peer."""
        compact = job.compact
        started = trio.current_time()
        try:
            data = await self.p2p.request(
                peer,
                PROTOCOL_PROPOSAL_VALUE,
                encode_value_request(compact.value_key),
                timeout=self.request_timeout,
            )
            value = decode_value_response(data)
        except RequestError as exc:
            event(logger, "proposal_fetch_failed", logging.DEBUG, peer=peer, error=str(exc))
            return None
        except MalformedValueMessage as exc:
            event(logger, "proposal_fetch_failed", logging.WARNING, peer=peer, error=str(exc))
            self._blame(peer, Offence.MALFORMED)
            return None
        if value is None:
            return None  # not held (a relay that has not completed it, or evicted it)
        if len(value) > MAX_VALUE_BYTES:
            self._blame(peer, Offence.INVALID)
            return None
        try:
            rebuilt = check_fetched(compact, value)
        except InvalidServed as exc:
            event(logger, "proposal_fetch_failed", logging.WARNING, peer=peer, error=str(exc))
            self._blame(peer, Offence.INVALID)
            return None
        except InconsistentCompact as exc:
            # The bytes are the ones the author's key names, so no peer can do better.
            self._inconsistent(compact, job.origin, str(exc))
            return "inconsistent"
        self.stats.fetched += 1
        event(
            logger,
            "proposal_fetched",
            height=compact.height,
            round=compact.proposal.round,
            peer=peer,
            bytes=len(value),
            ms=round((trio.current_time() - started) * 1000, 1),
        )
        self._complete(rebuilt)
        return "fetched"

    def _blame(self, peer: str, offence: Offence) -> None:
        with contextlib.suppress(P2PError):
            self.p2p.report_peer(peer, offence)
