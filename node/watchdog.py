"""Stall diagnostics: make a node that stops following the chain say where it waits.

A full node follows the chain by consensus gossip (decide on a proposal and +2/3 precommits)
and by block sync (node/syncer.py). If both stop, nothing is logged: nothing happens. Two
watchers turn that silence into events:

- `follow_stalled` (a trio task): the chain height has not moved for `stall_after` seconds.
  The event names the block syncer's current step and how long it has been in it (`idle`,
  `poll_heads`, `fetch`, `apply`, with the peer), the consensus driver's height and round,
  the connected peers, the best head they answered, and the event loop's longest late
  wake-up since the last report (`loop_lag_s`: seconds a 1 s heartbeat woke late). Repeated
  every `stall_after` while the stall lasts; `follow_resumed` when the height moves again.
- `loop_blocked` (an OS thread): the trio event loop has not run the heartbeat task for
  `blocked_after` seconds, i.e. something holds the loop (a synchronous call, a lock, a
  deadlock in native code). No trio task can log then, so the thread logs the main thread's
  stack; `loop_unblocked` with the duration once the loop runs again.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING

import trio

from node.logs import event

if TYPE_CHECKING:
    from node.node import Node

logger = logging.getLogger("node.watchdog")

HEARTBEAT_S = 1.0
STACK_FRAMES = 12


class Watchdog:
    def __init__(self, node: Node, stall_after: float = 30.0, blocked_after: float = 10.0) -> None:
        self.node = node
        self.stall_after = stall_after
        self.blocked_after = blocked_after
        # The heartbeat must come well within `blocked_after`, or an idle loop looks blocked.
        self.tick = min(HEARTBEAT_S, blocked_after / 4)
        self.beat = time.monotonic()
        # Longest late wake-up of the heartbeat since the last report: how far behind the
        # event loop runs (a saturated loop runs every task late, timeouts included).
        self.max_lag = 0.0
        self._main_ident = threading.get_ident()
        self._stop = threading.Event()

    async def run(self) -> None:
        """Heartbeat and height watch; also runs the loop-blocked thread while it runs."""
        self._main_ident = threading.get_ident()
        thread = threading.Thread(target=self._watch_loop, name="loop-watchdog", daemon=True)
        thread.start()
        try:
            await self._watch_height()
        finally:
            self._stop.set()

    async def _watch_height(self) -> None:
        height = self.node.chain.height
        moved = time.monotonic()
        reported = moved
        stalled = False
        while True:
            await trio.sleep(self.tick)
            now = time.monotonic()
            self.max_lag = max(self.max_lag, now - self.beat - self.tick)
            self.beat = now
            current = self.node.chain.height
            if current != height:
                if stalled:
                    event(
                        logger,
                        "follow_resumed",
                        height=current,
                        stalled_s=round(now - moved, 1),
                    )
                height, moved, reported, stalled = current, now, now, False
                continue
            if now - reported >= self.stall_after:
                stalled = True
                reported = now
                event(logger, "follow_stalled", logging.WARNING, **self._follow_state(now, moved))
                self.max_lag = 0.0

    def _follow_state(self, now: float, moved: float) -> dict[str, object]:
        node = self.node
        syncer = node.syncer
        peers = [] if node.p2p is None else node.p2p.peers()
        return {
            "height": node.chain.height,
            "since_commit_s": round(now - moved, 1),
            "sync_step": syncer.step,
            "sync_peer": syncer.step_peer,
            "sync_step_s": round(now - syncer.step_since, 1),
            "sync_polls": syncer.polls,
            "best_head": syncer.best_head,
            "catching_up": syncer.catching_up,
            "consensus_height": node.driver.height,
            "consensus_round": node.driver.core.round,
            "peers_connected": sum(1 for p in peers if p.connected and not p.banned),
            "peers_banned": sum(1 for p in peers if p.banned),
            "loop_lag_s": round(self.max_lag, 2),
        }

    def _watch_loop(self) -> None:
        blocked_since: float | None = None
        last_report = 0.0
        while not self._stop.wait(self.blocked_after / 4):
            now = time.monotonic()
            late = now - self.beat
            if late < self.blocked_after:
                if blocked_since is not None:
                    event(logger, "loop_unblocked", blocked_s=round(now - blocked_since, 1))
                    blocked_since = None
                continue
            if blocked_since is None:
                blocked_since = self.beat
            if now - last_report >= max(self.blocked_after, 60.0) or last_report < blocked_since:
                last_report = now
                event(
                    logger,
                    "loop_blocked",
                    logging.WARNING,
                    blocked_s=round(late, 1),
                    height=self.node.chain.height,
                    stack=self._main_stack(),
                )

    def _main_stack(self) -> list[str]:
        frame = sys._current_frames().get(self._main_ident)
        if frame is None:
            return []
        lines = traceback.format_stack(frame)[-STACK_FRAMES:]
        return [line.strip().replace("\n", " | ") for line in lines]
