"""An in-process network of consensus nodes on a virtual clock, for tests and benchmarks.

`Network` runs N nodes with a deterministic, seeded scheduler: each delivery of a message to
each receiver gets its own random delay (so messages are reordered), may be dropped, and can
be blocked by a partition predicate; crashed nodes neither send nor receive. Time is virtual:
timeouts fire when the clock reaches them, so a run with 3 s timeouts takes no wall time.

Drops do not break liveness because nodes re-gossip their own messages of the current height
every `gossip_interval` (what the p2p layer does), and a node that has fallen a height behind
is given the decided value and commit of that height by `sync` (what block sync does).

Nodes come in two kinds behind one interface (`SimNode`): `CoreNode` runs the bare state
machine on authenticated events (fast, no cryptography), `DriverNode` runs the full driver
with BLS signatures, the signer guard, evidence and commits. Every decision is checked for
agreement as it happens: `AgreementViolation` is raised the moment two nodes decide
different values for one height.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consensus import bls
from consensus.commit import Commit, verify_commit
from consensus.driver import (
    ConsensusDriver,
    Decided,
    EvidenceFound,
    Output,
    SendProposal,
    SendVote,
)
from consensus.evidence import DuplicateVoteEvidence
from consensus.messages import Proposal, ProposalBundle, Vote
from consensus.signer import MemorySignerStore, PrivValidator
from consensus.state_machine import (
    Action,
    BroadcastProposal,
    BroadcastVote,
    Decide,
    ProposalEvent,
    ScheduleTimeout,
    Tendermint,
    TimeoutConfig,
    TimeoutEvent,
    VoteEvent,
    keccak256,
)
from consensus.validator_set import ValidatorSet

FAST_TIMEOUTS = TimeoutConfig(
    propose=0.3,
    propose_delta=0.1,
    prevote=0.2,
    prevote_delta=0.1,
    precommit=0.2,
    precommit_delta=0.1,
)


class AgreementViolation(AssertionError):
    """Two nodes decided different values for one height."""


# ---- what a node hands back to the network ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broadcast:
    message: object


@dataclass(frozen=True, slots=True)
class Unicast:
    to: int
    message: object


@dataclass(frozen=True, slots=True)
class Timer:
    event: TimeoutEvent
    delay: float


@dataclass(frozen=True, slots=True)
class Decision:
    height: int
    round: int
    value: bytes
    commit: Commit | None


@dataclass(frozen=True, slots=True)
class Evidence:
    evidence: DuplicateVoteEvidence


Effect = Broadcast | Unicast | Timer | Decision | Evidence


class _HeightSets:
    """The validator set of each height for a set that never changes: priorities advance by
    one increment per height (ValidatorSet.next_height)."""

    def __init__(self, genesis: ValidatorSet) -> None:
        self._sets = {1: genesis}

    def at(self, height: int) -> ValidatorSet:
        top = max(self._sets)
        while top < height:
            self._sets[top + 1] = self._sets[top].next_height()
            top += 1
        return self._sets[height]


class SimNode(Protocol):
    index: int
    height: int

    def start(self, height: int) -> list[Effect]: ...
    def receive(self, message: object) -> list[Effect]: ...
    def timeout(self, event: TimeoutEvent) -> list[Effect]: ...
    def regossip(self) -> list[Effect]: ...
    def sync(self, height: int, value: bytes, commit: Commit | None) -> list[Effect]: ...


# ---- the bare state machine as a node -----------------------------------------------------


class CoreNode:
    """Tendermint core only: messages are ProposalEvent / VoteEvent, senders trusted."""

    def __init__(
        self,
        index: int,
        validators: ValidatorSet,
        *,
        get_value: Callable[[int], bytes] | None = None,
        is_valid: Callable[[bytes], bool] = lambda v: True,
        timeouts: TimeoutConfig = FAST_TIMEOUTS,
    ) -> None:
        self.index = index
        self.validators = validators
        self.sets = _HeightSets(validators)
        self.height = 0
        gv = get_value or (lambda h: f"block h={h} by {index}".encode())
        self.core = Tendermint(my_index=index, get_value=gv, is_valid=is_valid, timeouts=timeouts)
        self._sent: list[object] = []
        self._next: list[ProposalEvent | VoteEvent] = []  # messages of height + 1

    def _effects(self, actions: list[Action]) -> list[Effect]:
        out: list[Effect] = []
        h = self.core.height
        for a in actions:
            if isinstance(a, BroadcastProposal):
                msg: object = ProposalEvent(h, a.round, a.value, a.valid_round, self.index)
                self._sent.append(msg)
                out.append(Broadcast(msg))
            elif isinstance(a, BroadcastVote):
                msg = VoteEvent(h, a.round, a.vote_type, a.value_id, self.index)
                self._sent.append(msg)
                out.append(Broadcast(msg))
            elif isinstance(a, ScheduleTimeout):
                out.append(Timer(TimeoutEvent(a.step, a.height, a.round), a.duration))
            elif isinstance(a, Decide):
                out.append(Decision(a.height, a.round, a.value, None))
        return out

    def start(self, height: int) -> list[Effect]:
        self.height = height
        self._sent = []
        out = self._effects(self.core.start_height(height, self.sets.at(height)))
        pending, self._next = self._next, []
        for m in pending:
            out += self.receive(m)
        return out

    def receive(self, message: object) -> list[Effect]:
        if not isinstance(message, ProposalEvent | VoteEvent):
            return []
        if message.height == self.height + 1:
            self._next.append(message)
            return []
        return self._effects(self.core.handle(message))

    def timeout(self, event: TimeoutEvent) -> list[Effect]:
        return self._effects(self.core.on_timeout(event))

    def regossip(self) -> list[Effect]:
        return [Broadcast(m) for m in self._sent]

    def sync(self, height: int, value: bytes, commit: Commit | None) -> list[Effect]:
        return [Decision(height, -1, value, commit)] if height == self.height else []


# ---- the full driver as a node ------------------------------------------------------------


class DriverNode:
    """ConsensusDriver with BLS signatures; messages are signed Votes and ProposalBundles."""

    def __init__(
        self,
        index: int,
        chain_id: int,
        validators: ValidatorSet,
        signer: PrivValidator | None,
        *,
        get_value: Callable[[int], bytes] | None = None,
        is_valid: Callable[[bytes], bool] = lambda v: True,
        timeouts: TimeoutConfig = FAST_TIMEOUTS,
        driver_kwargs: dict[str, object] | None = None,
    ) -> None:
        self.index = index
        self.chain_id = chain_id
        self.validators = validators
        self.sets = _HeightSets(validators)
        self.height = 0
        gv = get_value or (lambda h: f"block h={h} by {index}".encode())
        self.driver = ConsensusDriver(
            chain_id,
            signer=signer,
            get_value=gv,
            is_valid=is_valid,
            timeouts=timeouts,
            **(driver_kwargs or {}),  # type: ignore[arg-type]
        )
        self.evidence: list[DuplicateVoteEvidence] = []

    def _effects(self, outputs: list[Output]) -> list[Effect]:
        out: list[Effect] = []
        for o in outputs:
            if isinstance(o, SendVote):
                out.append(Broadcast(o.vote))
            elif isinstance(o, SendProposal):
                out.append(Broadcast(o.bundle))
            elif isinstance(o, ScheduleTimeout):
                out.append(Timer(TimeoutEvent(o.step, o.height, o.round), o.duration))
            elif isinstance(o, Decided):
                out.append(Decision(o.height, o.round, o.value, o.commit))
            elif isinstance(o, EvidenceFound):
                self.evidence.append(o.evidence)
                out.append(Evidence(o.evidence))
        return out

    def start(self, height: int) -> list[Effect]:
        self.height = height
        return self._effects(self.driver.start_height(height, self.sets.at(height)))

    def receive(self, message: object) -> list[Effect]:
        if isinstance(message, Vote):
            return self._effects(self.driver.on_vote(message))
        if isinstance(message, ProposalBundle):
            return self._effects(self.driver.on_proposal(message))
        return []

    def timeout(self, event: TimeoutEvent) -> list[Effect]:
        return self._effects(self.driver.on_timeout(event))

    def regossip(self) -> list[Effect]:
        return self._effects(list(self.driver.own_messages()))

    def sync(self, height: int, value: bytes, commit: Commit | None) -> list[Effect]:
        # Block sync: accept a decided height only with a commit that verifies.
        if height != self.height or commit is None:
            return []
        verify_commit(commit, self.sets.at(height), self.chain_id, height=height)
        return [Decision(height, -1, value, commit)]


# ---- the network ----------------------------------------------------------------------------


@dataclass(order=True, slots=True)
class _Event:
    time: float
    seq: int
    kind: str = field(compare=False)
    node: int = field(compare=False)
    payload: object = field(compare=False)


@dataclass
class NetworkStats:
    delivered: int = 0
    dropped: int = 0
    timeouts_fired: int = 0
    max_round: int = 0
    rounds_by_height: dict[int, int] = field(default_factory=dict)


class Network:
    def __init__(
        self,
        nodes: Sequence[SimNode],
        *,
        seed: int = 0,
        min_delay: float = 0.001,
        max_delay: float = 0.02,
        drop_rate: float = 0.0,
        gossip_interval: float = 0.5,
        commit_delay: float = 0.0,
        blocked: Callable[[int, int, float], bool] | None = None,
        relay: bool = True,
    ) -> None:
        self.nodes = list(nodes)
        self.relay = relay
        # Messages each node received, for relaying (the gossip property of the paper).
        self._seen: dict[int, dict[object, None]] = {n.index: {} for n in self.nodes}
        self.rng = random.Random(seed)
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.drop_rate = drop_rate
        self.gossip_interval = gossip_interval
        self.commit_delay = commit_delay
        self.blocked = blocked
        self.crashed: set[int] = set()
        self.now = 0.0
        self._queue: list[_Event] = []
        self._seq = 0
        self.decisions: dict[int, dict[int, bytes]] = {n.index: {} for n in self.nodes}
        self.commits: dict[int, Commit] = {}
        self.evidence: list[DuplicateVoteEvidence] = []
        self.stats = NetworkStats()
        self.trace: list[tuple[float, int, Effect]] = []
        self.record_trace = False

    def _push(self, delay: float, kind: str, node: int, payload: object) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Event(self.now + delay, self._seq, kind, node, payload))

    def _send(self, src: int, dst: int, message: object) -> None:
        if dst in self.crashed or src in self.crashed:
            return
        if self.blocked is not None and self.blocked(src, dst, self.now):
            self.stats.dropped += 1
            return
        if self.drop_rate and self.rng.random() < self.drop_rate:
            self.stats.dropped += 1
            return
        self._push(self.rng.uniform(self.min_delay, self.max_delay), "msg", dst, message)

    def _apply(self, node: SimNode, effects: list[Effect]) -> None:
        for e in effects:
            if self.record_trace:
                self.trace.append((self.now, node.index, e))
            if isinstance(e, Broadcast):
                for other in self.nodes:
                    if other.index != node.index:
                        self._send(node.index, other.index, e.message)
            elif isinstance(e, Unicast):
                self._send(node.index, e.to, e.message)
            elif isinstance(e, Timer):
                self._push(e.delay, "timeout", node.index, e.event)
            elif isinstance(e, Evidence):
                self.evidence.append(e.evidence)
            elif isinstance(e, Decision):
                self._record_decision(node, e)

    def _record_decision(self, node: SimNode, d: Decision) -> None:
        mine = self.decisions[node.index]
        if d.height in mine:
            return
        # Agreement, checked on every height as it is decided.
        for other, decided in self.decisions.items():
            if d.height in decided and decided[d.height] != d.value:
                raise AgreementViolation(
                    f"height {d.height}: node {node.index} decided {d.value!r}, "
                    f"node {other} decided {decided[d.height]!r}"
                )
        mine[d.height] = d.value
        if d.commit is not None:
            self.commits.setdefault(d.height, d.commit)
        if d.round >= 0:
            self.stats.max_round = max(self.stats.max_round, d.round)
            self.stats.rounds_by_height[d.height] = max(
                self.stats.rounds_by_height.get(d.height, 0), d.round
            )
        self._push(self.commit_delay, "start", node.index, d.height + 1)

    def start(self, height: int = 1) -> None:
        for n in self.nodes:
            if n.index not in self.crashed:
                self._apply(n, n.start(height))
        self._push(self.gossip_interval, "gossip", -1, None)

    def crash(self, index: int) -> None:
        self.crashed.add(index)

    def restart(self, node: SimNode, height: int | None = None) -> None:
        """Replace a crashed node by a new incarnation (e.g. a DriverNode on the same signer
        files) and start it at `height`, by default the one after its last decision."""
        idx = node.index
        self.crashed.discard(idx)
        self.nodes = [node if n.index == idx else n for n in self.nodes]
        # Timers and height starts of the dead incarnation die with it; messages in flight
        # to it stay in flight.
        self._queue = [e for e in self._queue if e.node != idx or e.kind == "msg"]
        heapq.heapify(self._queue)
        if height is None:
            height = max(self.decisions[idx], default=0) + 1
        self._apply(node, node.start(height))

    def run(
        self,
        *,
        until_height: int,
        max_time: float = 3600.0,
        max_events: int = 10_000_000,
        nodes: Sequence[int] | None = None,
        stop_when: Callable[[], bool] | None = None,
    ) -> bool:
        """Run until every live node (or those in `nodes`) decided `until_height`, or until
        `stop_when()` holds (checked after every event; the result is then False)."""
        watch = [
            n
            for n in (nodes if nodes is not None else [x.index for x in self.nodes])
            if n not in self.crashed
        ]
        by_index = {n.index: n for n in self.nodes}
        events = 0
        while self._queue and events < max_events:
            if all(until_height in self.decisions[i] for i in watch):
                return True
            ev = heapq.heappop(self._queue)
            if ev.time > max_time:
                heapq.heappush(self._queue, ev)
                return False
            self.now = ev.time
            events += 1
            if ev.kind == "gossip":
                self._gossip(by_index)
                self._push(self.gossip_interval, "gossip", -1, None)
                continue
            if ev.node in self.crashed:
                continue
            node = by_index[ev.node]
            if ev.kind == "msg":
                self.stats.delivered += 1
                if self.relay:
                    self._seen.setdefault(ev.node, {}).setdefault(ev.payload, None)
                self._apply(node, node.receive(ev.payload))
            elif ev.kind == "timeout":
                assert isinstance(ev.payload, TimeoutEvent)
                self.stats.timeouts_fired += 1
                self._apply(node, node.timeout(ev.payload))
            elif ev.kind == "start":
                assert isinstance(ev.payload, int)
                if node.height < ev.payload:
                    self._apply(node, node.start(ev.payload))
            if stop_when is not None and stop_when():
                return False
        return all(until_height in self.decisions[i] for i in watch)

    def _relay(self, node: SimNode) -> None:
        """Re-send what this node received for its current height and forget older heights:
        Algorithm 1's liveness assumes that a message one correct process receives reaches
        every correct process, including a faulty sender's messages."""
        seen = self._seen.setdefault(node.index, {})
        keep: dict[object, None] = {}
        for m in seen:
            h = getattr(m, "height", None)
            if h is None or h < node.height:
                continue
            keep[m] = None
            if h == node.height:
                for other in self.nodes:
                    if other.index != node.index:
                        self._send(node.index, other.index, m)
        self._seen[node.index] = keep

    def _gossip(self, by_index: dict[int, SimNode]) -> None:
        for node in self.nodes:
            if node.index in self.crashed:
                continue
            self._apply(node, node.regossip())
            if self.relay:
                self._relay(node)
            # A node behind gets the heights it missed from anyone who decided them.
            while True:
                h = node.height
                source = next(
                    (d for i, d in self.decisions.items() if i != node.index and h in d), None
                )
                if source is None:
                    break
                if h not in self.decisions[node.index]:
                    self._apply(node, node.sync(h, source[h], self.commits.get(h)))
                    if h not in self.decisions[node.index]:
                        break
                self._apply(node, node.start(h + 1))


# ---- Byzantine nodes ----------------------------------------------------------------------


def _variants(value: bytes) -> tuple[bytes, bytes]:
    return value + b"#0", value + b"#1"


class EquivocatingCoreNode(CoreNode):
    """A faulty validator: proposes two different values and votes for both of them.

    It follows the rounds with an honest core but, as gossip would, sends every peer both
    variants of each of its proposals and, for each vote, a vote for each variant (or for the
    value and for nil), so that different peers count different first messages from it.
    """

    _proposed: set[int]
    _byz_sent: list[Effect]

    def start(self, height: int) -> list[Effect]:
        self._proposed = set()
        self._byz_sent = []
        return super().start(height)

    def regossip(self) -> list[Effect]:
        return list(self._byz_sent)

    def _effects(self, actions: list[Action]) -> list[Effect]:
        out: list[Effect] = []
        for e in super()._effects(actions):
            msg = e.message if isinstance(e, Broadcast) else None
            if isinstance(msg, ProposalEvent):
                self._proposed.add(msg.round)
                for variant in _variants(msg.value):
                    out.append(
                        Broadcast(ProposalEvent(msg.height, msg.round, variant, -1, self.index))
                    )
            elif isinstance(msg, VoteEvent):
                props = self.core._proposals.get(msg.round, [])
                own = props[0] if props and msg.round in self._proposed else None
                if own is not None and own.value_id == msg.value_id:
                    ids = [keccak256(v) for v in _variants(own.value)]
                else:
                    ids = [msg.value_id, b""]
                for vid in ids:
                    out.append(
                        Broadcast(VoteEvent(msg.height, msg.round, msg.vote_type, vid, self.index))
                    )
            else:
                out.append(e)
        self._byz_sent += [e for e in out if isinstance(e, Broadcast)]
        return out


class EquivocatingDriverNode(DriverNode):
    """The same faulty behaviour with real signatures: its BLS key signs conflicting
    proposals and votes directly, bypassing the double-sign guard an honest node has."""

    def __init__(
        self,
        index: int,
        chain_id: int,
        validators: ValidatorSet,
        secret_key: bytes,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            index, chain_id, validators, PrivValidator(secret_key, MemorySignerStore()), **kwargs
        )
        self._sk = secret_key
        self._own_values: dict[tuple[int, int], bytes] = {}

    def _effects(self, outputs: list[Output]) -> list[Effect]:
        out: list[Effect] = []
        for e in super()._effects(outputs):
            msg = e.message if isinstance(e, Broadcast) else None
            if isinstance(msg, ProposalBundle):
                p = msg.proposal
                self._own_values[(p.height, p.round)] = msg.value
                for variant in _variants(msg.value):
                    q = Proposal(
                        p.chain_id,
                        p.height,
                        p.round,
                        keccak256(variant),
                        p.valid_round,
                        p.proposer_index,
                    )
                    q = q.with_signature(bls.sign(self._sk, q.sign_bytes()))
                    out.append(Broadcast(ProposalBundle(q, variant)))
            elif isinstance(msg, Vote):
                own = self._own_values.get((msg.height, msg.round))
                if own is not None and keccak256(own) == msg.block_hash:
                    hashes = [keccak256(v) for v in _variants(own)]
                else:
                    hashes = [msg.block_hash, b"" if msg.block_hash else b"\x66" * 32]
                for bh in hashes:
                    v = Vote(
                        msg.chain_id, msg.height, msg.round, msg.vote_type, bh, msg.validator_index
                    )
                    out.append(Broadcast(v.with_signature(bls.sign(self._sk, v.sign_bytes()))))
            else:
                out.append(e)
        return out
