"""Signed claims: who is proving what right now, and when a task passes to the next in line.

The assignment (node.prover.assignment) gives each task an order of provers and a start height
per rank: the first in line at once, the k-th `k * prover_timeout_blocks` blocks later. Under
load a proof can take longer than that timeout, and then every prover in the order started
every task (a prover that started late passed every fallback height at once). What should pass
a task on is silence, not slowness. So a prover that proves a task says so: it gossips a claim
signed with its prover account's key (node.prover.messages.Claim) when it starts, and again
every `interval_s` (10 s) while it proves, listing every task it is proving. A prover whose
start height has come does not start a task while another prover *entitled to it* (in the
task's order, its own start height reached) holds a fresh claim of it (one received within
`fresh_s`, 30 s). When the claims stop (the prover was killed, stalled, cut off, or dropped the
task from its claim) the task passes on once they are `fresh_s` old; the provers between the
last claimer and me get `handover_s` each (10 s) to claim it first, as the fallback heights give
the blocks-based order a step per rank.

What a claim can do, and what bounds it:
- Only the prover's own key makes a valid claim (a forged or unsigned one is refused before
  relaying and its forwarder scored down, node.prover.exchange), so a third party cannot hold a
  task; a replayed claim is ignored (its time is not newer than the last one heard from that
  prover), and so is one whose time is more than `max_age_s` (60 s) off this node's clock.
- A claim by a prover whose turn has not come (ranked after me, below its start height) or
  that is not in the task's prover set holds nothing.
- Nobody holds a task past the *hold cap*: half the task deadline after the task's block (or
  the prover's own start height, if later). A claimer that never delivers holds a task for at
  most that long; the next in line then has the other half. The on-chain miss rule is
  unchanged (execution.staking.slashing): a prover whose window closed is charged if a later
  one's proof is accepted, whatever it claimed.
- A prover that has just started, or has just learned of a task (block sync), listens for
  `fresh_s` before it treats the provers ahead of it as silent.

Claims carry the prover's own running proofs only, not tasks queued behind its busy workers, so
a loaded prover's queued tasks pass to the next in line at their fallback height; when its worker
frees it checks again and leaves a task that an entitled prover is proving (node.prover.service).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from node.prover.assignment import start_height
from node.prover.messages import Claim

__all__ = [
    "DEFAULT_TIMING",
    "ClaimBook",
    "ClaimTiming",
    "hold_cap_height",
    "may_start",
    "starts_for",
]

MAX_CLAIMERS = 256


@dataclass(frozen=True)
class ClaimTiming:
    """Seconds of the claim protocol (tests shrink them)."""

    interval_s: float = 10.0  # a proving prover's heartbeat
    fresh_s: float = 30.0  # a claim holds its tasks this long after it arrives (3 heartbeats)
    handover_s: float = 10.0  # per rank between the last claimer's silence and my start
    max_age_s: float = 60.0  # a claim whose own time is further off this node's clock is ignored


DEFAULT_TIMING = ClaimTiming()


@dataclass(frozen=True)
class _Heard:
    time_ms: int  # the claimer's clock, for ordering (replays are not newer)
    received: float  # this node's monotonic clock when it arrived
    height: int
    task_ids: frozenset[bytes]


class ClaimBook:
    """The latest signed claim heard from each prover (the caller checks signatures:
    node.prover.messages.check_claim). A claim replaces its prover's previous one, so a task
    missing from it is no longer held by that prover."""

    def __init__(self, timing: ClaimTiming = DEFAULT_TIMING, max_claimers: int = MAX_CLAIMERS):
        self.timing = timing
        self.max_claimers = max_claimers
        self._heard: dict[bytes, _Heard] = {}
        self.ignored = 0

    def add(self, claim: Claim, now: float, wall_ms: int) -> bool:
        """Record a claim received at monotonic time `now` (`wall_ms`: this node's Unix clock);
        False if it is ignored (not newer than the last one of its prover, or off the clock)."""
        # Rule: a claim's time within max_age_s of ours: an old claim replayed (or one held
        # back and released later) cannot hold a task after its prover went silent.
        if abs(claim.time_ms - wall_ms) > self.timing.max_age_s * 1000:
            self.ignored += 1
            return False
        last = self._heard.get(claim.prover)
        # Rule: strictly newer than the last claim of that prover (replays and duplicates).
        if last is not None and claim.time_ms <= last.time_ms:
            self.ignored += 1
            return False
        if last is None and len(self._heard) >= self.max_claimers:
            oldest = min(self._heard, key=lambda p: self._heard[p].received)
            del self._heard[oldest]
        self._heard[claim.prover] = _Heard(
            claim.time_ms, now, claim.height, frozenset(claim.task_ids)
        )
        return True

    def last_claim(self, prover: bytes, task_id: bytes) -> float | None:
        """When the latest claim of `prover` that still names `task_id` arrived (monotonic)."""
        heard = self._heard.get(prover)
        if heard is None or task_id not in heard.task_ids:
            return None
        return heard.received

    def claimers(self, task_id: bytes) -> list[bytes]:
        return [p for p, h in self._heard.items() if task_id in h.task_ids]


def hold_cap_height(task_height: int, own_start: int, deadline_blocks: int) -> int:
    """The height from which a prover starts whatever claims it hears: half the task deadline
    after the task's block, or its own start height if that is later."""
    return max(own_start, task_height + deadline_blocks // 2)


def may_start(
    *,
    order: Sequence[bytes],
    me: bytes,
    task_id: bytes,
    task_height: int,
    head: int,
    starts: Sequence[int],
    deadline_blocks: int,
    book: ClaimBook,
    now: float,
    listening_since: float,
) -> bool:
    """Whether `me` may start proving the task now. `starts[j]` is the start height of
    `order[j]` (node.prover.assignment, with the service's deadline clamp); `listening_since`
    is when this prover began to hear claims for the task (its start, or when it learned of
    the task, whichever is later)."""
    if me not in order:
        return False
    k = order.index(me)
    if head < starts[k]:
        return False  # not my turn yet
    if head >= hold_cap_height(task_height, starts[k], deadline_blocks):
        return True  # no claim holds a task past the cap
    # Rule: only the provers of the task's order whose own turn has come can hold it.
    entitled = [j for j in range(len(order)) if j != k and head >= starts[j]]
    if not entitled:
        return True  # the first in line, before anyone else's turn: at once
    timing = book.timing
    if now - listening_since < timing.fresh_s:
        return False  # cannot tell silence from not having listened yet
    last_rank, last_seen = -1, float("-inf")
    for j in entitled:
        seen = book.last_claim(order[j], task_id)
        if seen is None:
            continue
        if now - seen <= timing.fresh_s:
            return False  # held: an entitled prover is proving it
        if seen > last_seen:
            last_rank, last_seen = j, seen
    if last_rank < 0:
        return True  # nobody entitled has claimed it: the heights alone decide
    # The last claimer went silent: the provers between it and me come first, a step each.
    gap = max(0, k - last_rank - 1)
    return now >= last_seen + timing.fresh_s + gap * timing.handover_s


def starts_for(
    order: Sequence[bytes], task_height: int, timeout_blocks: int, latest_offset: int
) -> list[int]:
    """Every rank's start height, clamped to `latest_offset` blocks after the task's block."""
    return [
        min(start_height(task_height, j, timeout_blocks), task_height + latest_offset)
        for j in range(len(order))
    ]
