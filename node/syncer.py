"""Block sync as the node runs it: serve blocks to peers, and catch up from the best peer.

Every `sync_interval` (or at once when gossip shows a height two or more ahead) the node asks
its connected peers for their head, all at once (`head_timeout`, 10 s). If one is 2 or more
blocks ahead, or 1 ahead while our height has been stuck for longer than a block interval plus
a propose timeout, it fetches blocks from the best peer in order (`fetch_timeout`, 30 s per
request; the next best peer if that one fails), verifies each against its commit
(`node.blocksync`), commits it, and restarts consensus at the new head.

Why those timeouts: on a loaded machine a peer took 3-15 s to open a request stream (its event
loop gets a few percent of a core). Head polls of 2 s each, one peer after the other, then
never got an answer: a follower that had fallen behind once (it missed one height's gossip)
could never catch up, and said nothing (the 20-task scenario's prover that stopped at a
height; tests/node/test_proving_network.py).

A connection can also freeze (every new stream on it waits while gossip still flows; one
cause, fixed in p2p/libp2p_patches.py, was yamux keeping a stream slot for every open cancelled
by a deadline). So a peer whose requests fail without an answer `RECYCLE_AFTER` times in a row
is disconnected (`sync_peer_recycled`; persistent peers are redialed at once) - but only if it
has not gossiped to us for `GOSSIP_ALIVE_S`, or we are 2 or more heights behind (gossip or a
head showed it in the last 30 s: then consensus gossip is of no use to us and block sync is).
A peer that still gossips to a node that is not behind is kept (`sync_peer_kept`): closing its connection also closed the pubsub streams carrying consensus
votes, and under load re-opening them took seconds or failed, which stopped all four
validators of the 20-task scenario at height 119 (each recycled every peer every 30-50 s).

Head polls: every `sync_interval` while the height stands still (doubling up to 8 intervals
while every peer answers a head no higher than ours), every `FOLLOWING_POLL_S` while it moves (the node follows consensus; gossip of a height two or more ahead still wakes
the syncer at once).

Catch-up mode (CometBFT's block sync before consensus): a node `CATCH_UP_GAP` or more heights
behind leaves the gossip topics (`CATCH_UP_TOPICS`: proposals, votes, transactions, evidence;
proof announcements stay), so that its connections carry only block sync, polls heads every
`sync_interval` and fetches; once a poll shows it at most `CATCH_UP_EXIT` behind it joins the
topics again and follows consensus (`catch_up_on` / `catch_up_off` events). Why: late provers of
the 20-task scenario (load ~20) held 290-590 KB of unread gossip per validator connection (every
proposal, vote and proof announcement of a network 100+ heights ahead, from up to 6 peers), and
their block requests, answered on the same yamux connections behind that gossip, timed out for
~9 minutes. A head poll's answer or, at once, a gossiped height starts the mode (gossip is
unverified: never for a validator of the next height, and within `GOSSIP_ENTRY_COOLDOWN_S` of
leaving the mode only while our height stands still, since a forged far-ahead vote could
otherwise keep a node off consensus gossip); an answered head poll or a fetch that reaches the
peer's named head ends it, no sooner than `CATCH_UP_MIN_S` after it began. A node that votes in none of the next height's rounds also
starts it when no connected peer answered a head poll at all (timeouts, no stream; an error
answer shows a working link): the 23:51 run's provers, back on gossip while proving, read it so
far behind that the messages they read were of their own height, and every head request timed
out behind that backlog.

The syncer records the step it is in (`step`, `step_peer`, `step_since`: idle, poll_heads,
fetch, apply) so that node/watchdog.py can say where a node that stopped following waits, and
logs `sync_no_heads` (at most every 30 s) when no connected peer answered a head poll.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import trio

from execution.types.errors import ExecutionError
from node.blocksync import (
    MAX_BLOCKS,
    MAX_RESPONSE_BYTES,
    SyncError,
    SyncRequest,
    SyncResponse,
    verify_synced_block,
)
from node.logs import event
from p2p import (
    PROTOCOL_BLOCKS,
    TOPIC_EVIDENCE,
    TOPIC_PROPOSALS,
    TOPIC_TRANSACTIONS,
    TOPIC_VOTES,
    P2PError,
    P2PService,
    PeerUnreachable,
    RequestTimeout,
)
from storage import block_store

if TYPE_CHECKING:
    from node.node import Node

logger = logging.getLogger("node.sync")

NO_HEADS_REPORT_S = 30.0
HEAD_TIMEOUT_S = 10.0
FETCH_TIMEOUT_S = 30.0
RECYCLE_AFTER = 3
# A peer that sent us a gossip message this recently is never disconnected for requests
# that timed out: its connection works, its event loop is just slow to open streams.
GOSSIP_ALIVE_S = 30.0
# Head polls of a node that follows the chain by consensus (its height moved within
# FOLLOW_GRACE_FACTOR block intervals plus propose timeouts): at most one per this.
FOLLOWING_POLL_S = 30.0
FOLLOW_GRACE_FACTOR = 3.0
# While the height stands still and no peer is ahead (the whole network waits in one height),
# the poll interval doubles per poll up to this many sync intervals.
STUCK_POLL_BACKOFF_MAX = 8
# Catch-up mode: entered this many heights behind, left at most CATCH_UP_EXIT behind (the gap
# between them keeps a node that lags by a block or two under load from flapping). A gap one
# fetch closes (MAX_BLOCKS) is synced with gossip on: leaving the topics costs a joining
# validator its peers' meshes for a while (CATCH_UP_MIN_S below), and the netns test's new
# validator, 11 heights behind at its start, stalled the chain that needed its vote.
CATCH_UP_GAP = MAX_BLOCKS
CATCH_UP_EXIT = 2
# Proof announcements stay: they are small, and a prover that is catching up learns from them
# that another prover's proof of the task it is proving exists, so it abandons the duplicate
# (minutes of a core under load; in the 00:06 run every late prover proved the same first task,
# since the fallback heights of a task had all passed by the time they synced past it).
CATCH_UP_TOPICS = (TOPIC_PROPOSALS, TOPIC_VOTES, TOPIC_TRANSACTIONS, TOPIC_EVIDENCE)
GOSSIP_ENTRY_COOLDOWN_S = 60.0
# Leaving the topics sends each mesh peer a PRUNE; py-libp2p's gossipsub refuses a GRAFT that
# comes within 10 s of a PRUNE (its `graft_flood_threshold`: "GRAFT flood", a score penalty
# and a PRUNE with a 60 s backoff), so a node that left and joined again within a second was
# kept out of its peers' meshes for a minute (the netns test at 01:30: a new validator that
# caught up 11 heights in 0.07 s; the chain, needing its vote, stood still 60 s). Stay out
# longer than that threshold.
CATCH_UP_MIN_S = 12.0


@dataclass(frozen=True, slots=True)
class StartHeight:
    """Start consensus for `height` (after a commit wait, or after block sync)."""

    height: int


@dataclass
class SyncProgress:
    starting_height: int
    highest_seen: int


class BlockSyncer:
    def __init__(
        self,
        node: Node,
        head_timeout: float = HEAD_TIMEOUT_S,
        fetch_timeout: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.node = node
        self.head_timeout = head_timeout
        self.fetch_timeout = fetch_timeout
        self.wanted = trio.Event()
        self.step = "idle"
        self.step_peer = ""
        self.step_since = time.monotonic()
        self.polls = 0
        self.best_head = 0
        self.last_poll = float("-inf")
        self._height = -1
        self._height_moved = time.monotonic()
        # Polls in a row that found no peer ahead of us.
        self._level_polls = 0
        # When gossip or a head last showed us 2 or more heights behind.
        self.behind_since = float("-inf")
        self._no_heads_reported = 0.0
        # Requests in a row per peer that got no answer at all (timeout, no stream).
        self._silent: dict[str, int] = {}
        # Connections closed for silence, and kept because the peer still gossiped.
        self.recycled = 0
        self.kept = 0
        # Catch-up mode (module docstring): gossip topics left while far behind.
        self.catching_up = False
        self.catch_up_since = 0.0
        self.catch_up_left = float("-inf")
        self._gossip_height = -1
        self.catch_ups = 0
        self._poll_silent = 0

    def _enter(self, step: str, peer: str = "") -> None:
        self.step, self.step_peer, self.step_since = step, peer, time.monotonic()

    async def serve(self, peer: str, payload: bytes) -> bytes:
        req = SyncRequest.decode(payload)  # a SyncError becomes the peer's RemoteError
        head = self.node.chain.height
        items: list[tuple[bytes, bytes]] = []
        size = 0
        for h in range(max(req.from_height, 1), min(head, req.from_height + req.count - 1) + 1):
            block_hash = block_store.hash_at(self.node.chain.db, h)
            raw = (
                None
                if block_hash is None
                else block_store.block_bytes(self.node.chain.db, block_hash)
            )
            commit = self.node.chain.commit_at(h)
            if raw is None or commit is None:
                break
            if items and size + len(raw) > MAX_RESPONSE_BYTES:
                break
            size += len(raw) + len(commit)
            items.append((raw, commit))
        return SyncResponse(head, tuple(items)).encode()

    def on_gossip_height(self, height: int) -> None:
        """A gossip message (unverified) names `height` as committed: wake the syncer if it is
        2 or more ahead of ours, and note it for catch-up mode."""
        if height > self.node.chain.height + 1:
            self._gossip_height = max(self._gossip_height, height)
            self.wanted.set()

    async def run(self) -> None:
        again = False
        while True:
            self._enter("idle")
            with trio.move_on_after(0 if again else self.node.config.sync_interval):
                await self.wanted.wait()
            forced, again = again, False
            woken = self.wanted.is_set()
            if woken:
                # Gossip showed a height 2 or more ahead of ours (node._note_height).
                self.behind_since = time.monotonic()
            self.wanted = trio.Event()
            p2p = self.node.p2p
            if p2p is None:
                continue
            gossiped, self._gossip_height = self._gossip_height, -1
            if (
                gossiped >= self.node.chain.height + CATCH_UP_GAP
                and not self._votes()
                and self._gossip_may_start()
            ):
                # Not for a validator: one forged far-ahead vote would take every validator off
                # consensus gossip; its head poll (below, at once) decides instead.
                await self._start_catch_up(p2p, gossiped, "gossip")
            if not (woken or forced) and not self._poll_due():
                continue
            self.polls += 1
            self.last_poll = time.monotonic()
            heads, errors = await self._poll_heads(p2p)
            if not heads:
                self._report_no_heads(errors)
                if errors and self._poll_silent == len(errors) and not self._votes():
                    # Every connected peer left a head request unanswered: our connections are
                    # choked with gossip we read too slowly (the gossip we do read may be too
                    # old to show that we are behind). Leave it until a head answer says where
                    # we are; a validator keeps the votes it needs.
                    await self._start_catch_up(p2p, self.best_head, "no_heads")
                continue
            best = max(heads.values())
            self._level_polls = self._level_polls + 1 if best <= self.node.chain.height else 0
            if best >= self.node.chain.height + 2:
                self.behind_since = time.monotonic()
            elif not woken:
                self.behind_since = float("-inf")  # caught up
            self.best_head = best
            self.node.sync.highest_seen = best
            behind = best - self.node.chain.height
            if behind >= CATCH_UP_GAP:
                await self._start_catch_up(p2p, best, "heads")
            elif behind <= CATCH_UP_EXIT:
                await self._end_catch_up(p2p)
            stuck = time.monotonic() - self.node.height_started
            grace = self.node.config.block_interval + self.node.config.timeouts.propose
            if behind >= 2 or (behind == 1 and stuck > grace):
                # The best peer first; another one ahead if it fails to serve.
                for peer in sorted(heads, key=lambda p: -heads[p]):
                    if heads[peer] <= self.node.chain.height:
                        break
                    if await self._sync_from(peer, heads[peer]):
                        # In catch-up mode nothing else wakes us: poll again at once.
                        again = self.catching_up
                        break

    def _votes(self) -> bool:
        """Whether this node is a validator of its next height."""
        signer = getattr(self.node, "signer", None)
        if signer is None:
            return False
        vset = self.node.validator_set(self.node.chain.height + 1)
        return vset.index_of(signer.public_key) is not None

    def _gossip_may_start(self) -> bool:
        """Whether an unverified gossiped height may start catch-up mode: not within
        GOSSIP_ENTRY_COOLDOWN_S of leaving it (a forged vote far ahead would keep a node off
        consensus gossip), unless our height has stood still for a few block intervals anyway.
        That exception is the late provers of the 20-task scenario (23:51 run): back on gossip
        while proving, they fell behind again within seconds, every head poll timed out behind
        the gossip, and only gossip could tell them to leave it again."""
        now = time.monotonic()
        if now - self.catch_up_left >= GOSSIP_ENTRY_COOLDOWN_S:
            return True
        config = self.node.config
        grace = FOLLOW_GRACE_FACTOR * (config.block_interval + config.timeouts.propose)
        return now - self.node.height_started >= grace

    async def _start_catch_up(self, p2p: P2PService, best: int, source: str) -> None:
        if self.catching_up:
            return
        self.catching_up = True
        self.catch_ups += 1
        self.catch_up_since = time.monotonic()
        event(
            logger,
            "catch_up_on",
            height=self.node.chain.height,
            best=best,
            source=source,
        )
        await p2p.leave_topics(CATCH_UP_TOPICS)

    async def _end_catch_up(self, p2p: P2PService) -> None:
        if not self.catching_up or time.monotonic() - self.catch_up_since < CATCH_UP_MIN_S:
            return  # (polls go on every sync_interval in the mode: a later one ends it)
        self.catching_up = False
        self.catch_up_left = time.monotonic()
        event(
            logger,
            "catch_up_off",
            height=self.node.chain.height,
            best=self.best_head,
            seconds=round(self.catch_up_left - self.catch_up_since, 1),
        )
        await p2p.join_topics(CATCH_UP_TOPICS)

    def _poll_due(self) -> bool:
        """Poll every `sync_interval` while the height stands still (backing off to
        STUCK_POLL_BACKOFF_MAX intervals while no peer is ahead); a node whose height moves
        (it follows consensus) polls every FOLLOWING_POLL_S. Every poll opens one
        stream per peer, and on a loaded machine those cost the peers' event loops more
        than the gossip that carries consensus (the 20-task stall: 6 polls a second per
        node, most of them timing out)."""
        now = time.monotonic()
        height = self.node.chain.height
        if height != self._height:
            self._height, self._height_moved, self._level_polls = height, now, 0
        config = self.node.config
        if self.catching_up:
            # No gossip arrives to wake us: the polls are how a catching-up node moves.
            return now - self.last_poll >= config.sync_interval
        grace = FOLLOW_GRACE_FACTOR * (config.block_interval + config.timeouts.propose)
        if now - self._height_moved < grace:
            return now - self.last_poll >= FOLLOWING_POLL_S
        backoff = min(2**self._level_polls, STUCK_POLL_BACKOFF_MAX)
        return now - self.last_poll >= config.sync_interval * backoff

    async def _poll_heads(self, p2p: P2PService) -> tuple[dict[str, int], dict[str, str]]:
        """Every connected peer's head, asked all at once: one slow peer (or several) costs
        one `head_timeout`, not one each. Returns (heads, errors by peer)."""
        heads: dict[str, int] = {}
        errors: dict[str, str] = {}
        self._poll_silent = 0  # peers that gave no answer at all (not an error answer)
        peers = [s.peer_id for s in p2p.peers() if s.connected and not s.banned]
        self._enter("poll_heads", f"{len(peers)} peers")

        async def ask(peer: str) -> None:
            try:
                answer = await p2p.request(
                    peer, PROTOCOL_BLOCKS, SyncRequest(0, 0).encode(), timeout=self.head_timeout
                )
                heads[peer] = SyncResponse.decode(answer).head_height
                self._silent.pop(peer, None)
            except (P2PError, SyncError) as exc:
                errors[peer] = f"{type(exc).__name__}: {exc}"[:120]
                if isinstance(exc, RequestTimeout | PeerUnreachable):
                    self._poll_silent += 1
                await self._note_failure(p2p, peer, exc)

        async with trio.open_nursery() as nursery:
            for peer in peers:
                nursery.start_soon(ask, peer)
        return heads, errors

    async def _note_failure(self, p2p: P2PService, peer: str, exc: Exception) -> None:
        """Count requests that got no answer; recycle the connection after RECYCLE_AFTER,
        unless the peer still gossips to us (then the connection is alive and closing it
        would cut the consensus messages it carries) and we are not behind. A node 2 or more
        heights behind cannot use the consensus gossip of the network's height: block sync is
        its only way forward, and a fresh connection served it 64 blocks where the old one
        answered nothing (the 20-task scenario's late provers)."""
        if not isinstance(exc, RequestTimeout | PeerUnreachable):
            self._silent.pop(peer, None)  # it answered, if with an error: the link works
            return
        silent = self._silent.get(peer, 0) + 1
        if silent < RECYCLE_AFTER:
            self._silent[peer] = silent
            return
        self._silent.pop(peer, None)
        gossip_silence = p2p.gossip_silence(peer)
        behind = self.catching_up or time.monotonic() - self.behind_since < GOSSIP_ALIVE_S
        if gossip_silence < GOSSIP_ALIVE_S and not behind:
            self.kept += 1
            event(
                logger,
                "sync_peer_kept",
                peer=peer,
                failures=silent,
                gossip_silence_s=round(gossip_silence, 1),
                error=f"{type(exc).__name__}: {exc}"[:120],
            )
            return
        self.recycled += 1
        event(
            logger,
            "sync_peer_recycled",
            logging.WARNING,
            peer=peer,
            failures=silent,
            gossip_silence_s=None if math.isinf(gossip_silence) else round(gossip_silence, 1),
            behind=behind,
            error=f"{type(exc).__name__}: {exc}"[:120],
        )
        await p2p.disconnect(peer)

    def _report_no_heads(self, errors: dict[str, str]) -> None:
        now = time.monotonic()
        if now - self._no_heads_reported < NO_HEADS_REPORT_S:
            return
        self._no_heads_reported = now
        event(
            logger,
            "sync_no_heads",
            logging.WARNING,
            height=self.node.chain.height,
            errors=errors,
        )

    async def _sync_from(self, peer: str, target: int) -> bool:
        """Fetch and commit blocks from `peer` up to `target`; True if any was committed."""
        if self.node.p2p is None:
            return False
        self.node.sync.starting_height = self.node.chain.height
        event(logger, "sync_start", height=self.node.chain.height, target=target, peer=peer)
        progressed = False
        peer_head = target
        while self.node.chain.height < target:
            start = self.node.chain.height + 1
            self._enter("fetch", peer)
            try:
                answer = await self.node.p2p.request(
                    peer,
                    PROTOCOL_BLOCKS,
                    SyncRequest(start, MAX_BLOCKS).encode(),
                    timeout=self.fetch_timeout,
                )
                response = SyncResponse.decode(answer)
            except (P2PError, SyncError) as exc:
                event(logger, "sync_failed", logging.WARNING, peer=peer, error=str(exc))
                if isinstance(exc, P2PError):
                    await self._note_failure(self.node.p2p, peer, exc)
                break
            if not response.blocks:
                break
            peer_head = response.head_height
            height = start
            self._enter("apply", peer)
            for raw_block, raw_commit in response.blocks:
                # The lock: consensus may be executing a proposal on this head in a worker
                # thread (node.py); the head must not move under it.
                async with self.node.chain_lock:
                    if height != self.node.chain.height + 1:
                        break  # consensus committed meanwhile
                    try:
                        block, commit = verify_synced_block(
                            raw_block,
                            raw_commit,
                            height,
                            self.node.validator_set(height),
                            self.node.chain_id,
                        )
                        self.node.apply_block(block, commit, "sync")
                    except (SyncError, ExecutionError) as exc:
                        event(logger, "sync_bad_block", logging.WARNING, peer=peer, error=str(exc))
                        if self.node.p2p is not None:
                            self._report_peer_id(peer)
                        return progressed
                progressed = True
                height += 1
                await trio.lowlevel.checkpoint()
        event(logger, "sync_done", height=self.node.chain.height)
        if self.catching_up and progressed and peer_head - self.node.chain.height <= CATCH_UP_EXIT:
            # At most CATCH_UP_EXIT behind the head the peer named in its last answer: caught
            # up. Waiting for the next head poll instead never ends the mode on a fast chain
            # (0.3 s blocks: the head is 3+ ahead again by the time a poll answers; the
            # fresh-clone CI of 01:00 at load ~2).
            await self._end_catch_up(self.node.p2p)
        if progressed:
            self.node.height_started = time.monotonic()
            self.node.deliver(StartHeight(self.node.chain.height + 1))
        return progressed

    def _report_peer_id(self, peer: str) -> None:
        if self.node.p2p is not None:
            with contextlib.suppress(P2PError):
                self.node.p2p.report_peer(peer)
