"""node/syncer.py catch-up mode: a node far behind leaves the gossip topics while it block-syncs,
so its connections carry only sync traffic, and joins them again once caught up.

Real libp2p hosts on 127.0.0.1: "me" runs the real syncer loop (its node is a stand-in: a
height, a config, the p2p service; applying fetched blocks is replaced by setting the height,
since what is tested is the mode and the gossip it stops), "peer" serves heads over the real
block-sync protocol and publishes votes.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio

import node.syncer
from consensus.state_machine import TimeoutConfig
from node.blocksync import SyncRequest, SyncResponse
from node.syncer import CATCH_UP_GAP, CATCH_UP_TOPICS, BlockSyncer, SyncProgress
from p2p import PROTOCOL_BLOCKS, TOPIC_VOTES, DialConfig, P2PConfig, P2PService, open_p2p_service

DIAL = DialConfig(attempts=3, backoff_initial_s=0.05, backoff_max_s=0.5, connect_timeout_s=3.0)


def _node(p2p: P2PService, height: int) -> Any:
    config = SimpleNamespace(block_interval=0.3, timeouts=TimeoutConfig(), sync_interval=0.2)
    return SimpleNamespace(
        p2p=p2p,
        chain=SimpleNamespace(height=height),
        config=config,
        sync=SyncProgress(height, height),
        height_started=time.monotonic(),
    )


def _validator(p2p: P2PService, height: int) -> Any:
    """A node that is a validator of every height."""
    node_ = _node(p2p, height)
    node_.signer = SimpleNamespace(public_key=b"k")
    node_.validator_set = lambda _h: SimpleNamespace(index_of=lambda _k: 0)
    return node_


async def _pair(stack: AsyncExitStack, tmp_path: Path) -> tuple[P2PService, P2PService]:
    """This node's host and one peer's (real libp2p hosts on 127.0.0.1), not yet connected."""
    me, peer = [
        await stack.enter_async_context(open_p2p_service(P2PConfig(home=tmp_path / n, dial=DIAL)))
        for n in ("me", "peer")
    ]
    return me, peer


class _Syncer(BlockSyncer):
    """Applying blocks is the chain's business (tests/node/test_blocksync.py): here a fetch
    waits for `release`, then moves the height to the target."""

    def __init__(self, node: Any, head_timeout: float = 5.0) -> None:
        super().__init__(node, head_timeout=head_timeout, fetch_timeout=5.0)
        self.release = trio.Event()
        self.fetching = trio.Event()

    async def _sync_from(self, peer: str, target: int) -> bool:
        self.fetching.set()
        await self.release.wait()
        self.node.chain.height = target
        self.node.height_started = time.monotonic()
        return True


async def _wait(predicate: Any, what: str, timeout: float = 20.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.05)


async def _delivered(votes: trio.MemoryReceiveChannel[Any], wait: float) -> int:
    count = 0
    with trio.move_on_after(wait):
        while True:
            await votes.receive()
            count += 1
    return count


@pytest.fixture(autouse=True)
def _short_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mode's minimum length (12 s, against py-libp2p's GRAFT flood rule) would make each
    entry and exit here take that long; what it guards is the netns test's business."""
    monkeypatch.setattr(node.syncer, "CATCH_UP_MIN_S", 0.2)


@pytest.mark.trio
async def test_a_node_far_behind_leaves_gossip_until_block_sync_caught_up(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        me, peer = await _pair(stack, tmp_path)
        head = 2 * CATCH_UP_GAP

        async def serve_head(_peer: str, payload: bytes) -> bytes:
            SyncRequest.decode(payload)
            return SyncResponse(head, ()).encode()

        peer.register_handler(PROTOCOL_BLOCKS, serve_head)
        votes = me.subscribe(TOPIC_VOTES)
        assert votes is not None
        await me.connect(peer.listen_addrs[0])
        await peer.wait_for_topic_peers(TOPIC_VOTES, 1, timeout=20)
        await peer.publish(TOPIC_VOTES, b"vote 0")
        with trio.fail_after(20):
            assert (await votes.receive()).data == b"vote 0"

        syncer = _Syncer(_node(me, 0))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(syncer.run)
            # A vote of a height far ahead arrives: the node leaves the topics at once.
            syncer.on_gossip_height(head)
            await _wait(lambda: syncer.catching_up, "catch-up mode")
            assert not me.joined_topics() & set(CATCH_UP_TOPICS)
            await _wait(lambda: not peer.mesh_peers(TOPIC_VOTES), "the peer dropping us")
            with trio.fail_after(20):
                await syncer.fetching.wait()
            # The peer's publishes no longer come to us while we fetch blocks.
            await peer.publish(TOPIC_VOTES, b"vote 1")
            assert await _delivered(votes, 2.0) == 0

            # Caught up (the next head poll finds us at the peer's head): topics joined again.
            syncer.release.set()
            await _wait(lambda: not syncer.catching_up, "the end of catch-up mode")
            assert me.joined_topics() >= set(CATCH_UP_TOPICS)
            await _wait(lambda: me.peer_id in peer.mesh_peers(TOPIC_VOTES), "the peer adding us")
            await peer.publish(TOPIC_VOTES, b"vote 2")
            with trio.fail_after(20):
                while (await votes.receive()).data != b"vote 2":
                    pass
            assert syncer.catch_ups == 1

            # A node that just caught up does not leave again on gossip alone (a forged vote
            # far ahead would keep it off consensus) while its height moves...
            syncer.node.height_started = time.monotonic()  # its height moves (consensus)
            far = syncer.node.chain.height + 10 * CATCH_UP_GAP
            syncer.on_gossip_height(far)
            await trio.sleep(1.0)
            assert syncer.catch_ups == 1 and not syncer.catching_up
            # ... but a head poll showing it far behind does (and it catches up again) ...
            head += 2 * CATCH_UP_GAP
            syncer.last_poll = float("-inf")
            await _wait(lambda: syncer.catch_ups == 2 and not syncer.catching_up, "second catch-up")
            assert syncer.node.chain.height == head
            # ... and so does gossip once its height has stood still for a while (back on gossip
            # it may fall behind again, and its head polls then time out behind the gossip).
            syncer.node.height_started -= 60
            syncer.release = trio.Event()
            syncer.on_gossip_height(syncer.node.chain.height + 10 * CATCH_UP_GAP)
            # (The next head poll finds us at the peer's head and ends the mode at once: wait
            # for the count, not for the mode, which may already be over when we look.)
            await _wait(lambda: syncer.catch_ups == 3, "catch-up mode from gossip after a stall")
            nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_node_one_or_two_heights_behind_keeps_its_gossip(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        me, peer = await _pair(stack, tmp_path)

        async def serve_head(_peer: str, payload: bytes) -> bytes:
            return SyncResponse(12, ()).encode()

        peer.register_handler(PROTOCOL_BLOCKS, serve_head)
        await me.connect(peer.listen_addrs[0])
        syncer = _Syncer(_node(me, 10))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(syncer.run)
            syncer.on_gossip_height(12)
            with trio.fail_after(20):
                await syncer.fetching.wait()  # 2 behind: ordinary block sync
            assert not syncer.catching_up
            assert me.joined_topics() >= set(CATCH_UP_TOPICS)
            nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_full_node_whose_head_polls_go_unanswered_leaves_gossip(tmp_path: Path) -> None:
    """No peer answers a head request (answers queued behind gossip we read too slowly): a full
    node leaves the topics until a head answer comes; a validator keeps its votes."""
    async with AsyncExitStack() as stack:
        me, peer = await _pair(stack, tmp_path)
        answering = trio.Event()

        async def serve_head(_peer: str, payload: bytes) -> bytes:
            await answering.wait()
            return SyncResponse(10, ()).encode()

        peer.register_handler(PROTOCOL_BLOCKS, serve_head)
        await me.connect(peer.listen_addrs[0])

        validator = _validator(me, 10)
        for node, leaves in ((validator, False), (_node(me, 10), True)):
            syncer = _Syncer(node, head_timeout=1.0)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(syncer.run)
                await _wait(lambda s=syncer: s.polls >= 2, "two head polls")
                assert syncer.catching_up is leaves
                assert bool(me.joined_topics() & set(CATCH_UP_TOPICS)) is not leaves
                nursery.cancel_scope.cancel()
        # The peer answers: at its head, the full node joins the topics again.
        answering.set()
        syncer = _Syncer(_node(me, 10), head_timeout=1.0)
        syncer.catching_up = True
        async with trio.open_nursery() as nursery:
            nursery.start_soon(syncer.run)
            await _wait(lambda: not syncer.catching_up, "the end of catch-up mode")
            assert me.joined_topics() >= set(CATCH_UP_TOPICS)
            nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_a_forged_far_ahead_vote_takes_no_validator_off_gossip(tmp_path: Path) -> None:
    """Gossip far ahead while the peer's head is ours: a full node leaves the topics on gossip
    alone (unverified, it is all a lagging node may get); a validator asks for heads first and
    stays."""
    async with AsyncExitStack() as stack:
        me, peer = await _pair(stack, tmp_path)

        async def serve_head(_peer: str, payload: bytes) -> bytes:
            return SyncResponse(10, ()).encode()

        peer.register_handler(PROTOCOL_BLOCKS, serve_head)
        await me.connect(peer.listen_addrs[0])
        validator = _validator(me, 10)
        for node_, leaves in ((validator, False), (_node(me, 10), True)):
            syncer = _Syncer(node_)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(syncer.run)
                polls = syncer.polls
                syncer.on_gossip_height(10 + 10 * CATCH_UP_GAP)
                await _wait(lambda s=syncer, p=polls: s.polls > p, "a head poll")
                assert (syncer.catch_ups == 1) is leaves
                nursery.cancel_scope.cancel()
