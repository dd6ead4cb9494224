"""node/watchdog.py: a node that stops following the chain logs where it waits (the 20-task
scenario once saw a prover full node stop at a height with nothing in its log)."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from typing import Any

import pytest
import trio

from node.watchdog import Watchdog


def _node(height: int = 7) -> Any:
    syncer = SimpleNamespace(
        step="fetch",
        step_peer="QmPeer",
        step_since=time.monotonic(),
        polls=3,
        best_head=12,
        catching_up=True,
    )
    driver = SimpleNamespace(height=height + 1, core=SimpleNamespace(round=2))
    return SimpleNamespace(
        chain=SimpleNamespace(height=height), syncer=syncer, driver=driver, p2p=None
    )


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if getattr(r, "fields", {}).get("event") == name]  # type: ignore[attr-defined]


async def test_a_height_that_stops_moving_is_reported_with_the_sync_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="node.watchdog")
    node = _node()
    dog = Watchdog(node, stall_after=2.0, blocked_after=30.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dog.run)
        await trio.sleep(3.5)
        node.chain.height = 8
        await trio.sleep(1.5)
        nursery.cancel_scope.cancel()
    stalled, *_ = _events(caplog, "follow_stalled")
    assert stalled["height"] == 7 and stalled["sync_step"] == "fetch"
    assert stalled["sync_peer"] == "QmPeer" and stalled["best_head"] == 12
    assert stalled["catching_up"] is True
    assert stalled["consensus_height"] == 8 and stalled["consensus_round"] == 2
    assert stalled["since_commit_s"] >= 2.0
    assert [e["height"] for e in _events(caplog, "follow_resumed")] == [8]


def _hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # a synchronous call on the event loop


async def test_a_blocked_event_loop_is_reported_with_its_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="node.watchdog")
    dog = Watchdog(_node(), stall_after=60.0, blocked_after=0.8)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(dog.run)
        await trio.sleep(1.2)
        _hold_the_loop(2.0)
        await trio.sleep(1.2)
        nursery.cancel_scope.cancel()
    # (a loaded machine may add short blocks of its own; the held one must be there)
    held = [
        e
        for e in _events(caplog, "loop_blocked")
        if any("_hold_the_loop" in line for line in e["stack"])
    ]
    assert held and held[0]["blocked_s"] >= 0.8 and held[0]["height"] == 7
    assert any(e["blocked_s"] >= 1.5 for e in _events(caplog, "loop_unblocked"))
