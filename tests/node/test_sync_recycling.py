"""node/syncer.py: block sync never closes a connection that still carries gossip, and a node
that follows consensus polls heads rarely.

In the 20-task scenario (load average ~17) head polls timed out on every peer; the syncer
closed each connection after 3 timeouts, which also closed the pubsub streams carrying the
consensus votes, and all four validators stopped at height 119. Real libp2p hosts on
127.0.0.1; the node around the syncer is a stand-in (the syncer reads only its chain height,
config and p2p service here).
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio

from consensus.state_machine import TimeoutConfig
from node.syncer import FOLLOWING_POLL_S, RECYCLE_AFTER, BlockSyncer
from p2p import TOPIC_VOTES, DialConfig, P2PConfig, P2PService, RequestTimeout, open_p2p_service

DIAL = DialConfig(
    attempts=3,
    backoff_initial_s=0.05,
    backoff_max_s=0.5,
    connect_timeout_s=3.0,
    reconnect_check_s=0.1,
)


def _node(p2p: P2PService | None = None, height: int = 5) -> Any:
    config = SimpleNamespace(block_interval=1.0, timeouts=TimeoutConfig(), sync_interval=1.0)
    return SimpleNamespace(p2p=p2p, chain=SimpleNamespace(height=height), config=config)


async def _fail_requests(syncer: BlockSyncer, p2p: P2PService, peer: str) -> None:
    for _ in range(RECYCLE_AFTER):
        await syncer._note_failure(p2p, peer, RequestTimeout("no answer within 10 s"))


@pytest.mark.trio
async def test_timeouts_recycle_a_silent_peer_but_never_one_that_gossips(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        me, talker, mute = [
            await stack.enter_async_context(
                open_p2p_service(P2PConfig(home=tmp_path / name, dial=DIAL))
            )
            for name in ("me", "talker", "mute")
        ]
        votes = me.subscribe(TOPIC_VOTES)
        assert votes is not None
        await me.connect(talker.listen_addrs[0])
        await me.connect(mute.listen_addrs[0])
        await talker.wait_for_topic_peers(TOPIC_VOTES, 1, timeout=20)
        with trio.fail_after(20):
            await talker.publish(TOPIC_VOTES, b"vote")
            assert (await votes.receive()).from_peer == talker.peer_id
        assert me.gossip_silence(talker.peer_id) < 20
        assert me.gossip_silence(mute.peer_id) == float("inf")

        syncer = BlockSyncer(_node(me))
        await _fail_requests(syncer, me, talker.peer_id)
        await _fail_requests(syncer, me, mute.peer_id)

        assert (syncer.kept, syncer.recycled) == (1, 1)
        assert me.is_connected(talker.peer_id)
        with trio.fail_after(10):
            while me.is_connected(mute.peer_id):
                await trio.sleep(0.05)

        # Two or more heights behind, consensus gossip is of no use: block sync is, so a
        # gossiping peer whose requests time out is recycled too.
        syncer.behind_since = time.monotonic()
        await _fail_requests(syncer, me, talker.peer_id)
        assert (syncer.kept, syncer.recycled) == (1, 2)
        with trio.fail_after(10):
            while me.is_connected(talker.peer_id):
                await trio.sleep(0.05)


def test_a_node_whose_height_moves_polls_heads_rarely() -> None:
    node = _node()
    syncer = BlockSyncer(node)
    assert syncer._poll_due()  # never polled
    syncer.last_poll = time.monotonic()
    assert not syncer._poll_due()  # the height moved just now: following
    syncer.last_poll = time.monotonic() - FOLLOWING_POLL_S
    assert syncer._poll_due()
    # The height stands still for longer than a few block intervals: poll every interval.
    syncer.last_poll = time.monotonic() - node.config.sync_interval
    syncer._height_moved -= 60
    assert syncer._poll_due()


def test_a_network_waiting_in_one_height_backs_off_its_head_polls() -> None:
    node = _node()
    syncer = BlockSyncer(node)
    syncer._poll_due()
    syncer._height_moved -= 60  # the height stands still
    syncer.last_poll = time.monotonic() - 1.5
    assert syncer._poll_due()  # 1.5 s > one sync interval
    syncer._level_polls = 3  # three polls found nobody ahead: wait 8 intervals
    assert not syncer._poll_due()
    syncer.last_poll -= 8
    assert syncer._poll_due()
