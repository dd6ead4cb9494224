"""Gossip between real libp2p hosts on 127.0.0.1."""

from __future__ import annotations

import pytest
import trio
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.validators import PUBSUB_SIGNING_PREFIX

from p2p import (
    TOPIC_PROPOSALS,
    TOPIC_TRANSACTIONS,
    TOPIC_VOTES,
    GossipMessage,
    MessageTooLarge,
    Offence,
    P2PService,
    UnknownTopic,
    decode_tx_batch,
)

from .conftest import ConfigFactory, connect_all, open_nodes

pytestmark = pytest.mark.trio


async def drain(
    channel: trio.MemoryReceiveChannel[GossipMessage], count: int, timeout: float
) -> list[GossipMessage]:
    got: list[GossipMessage] = []
    with trio.move_on_after(timeout):
        while len(got) < count:
            got.append(await channel.receive())
    return got


async def test_three_hosts_each_receive_every_burst(make_config: ConfigFactory) -> None:
    burst = 200
    async with open_nodes([make_config(n) for n in "abc"]) as nodes:
        channels = [n.subscribe(TOPIC_VOTES) for n in nodes]
        await connect_all(nodes)
        for node in nodes:
            await node.wait_for_topic_peers(TOPIC_VOTES, 2, timeout=15)

        async def blast(i: int, node: P2PService) -> None:
            for k in range(burst):
                await node.publish(TOPIC_VOTES, b"%d:%04d:" % (i, k) + b"v" * 100)

        with trio.fail_after(90):
            async with trio.open_nursery() as nursery:
                for i, node in enumerate(nodes):
                    nursery.start_soon(blast, i, node)
            for i, (node, channel) in enumerate(zip(nodes, channels, strict=True)):
                assert channel is not None
                got = await drain(channel, 2 * burst, timeout=60)
                senders = {m.origin for m in got}
                # Nothing dropped, nothing of its own, each message once.
                assert len(got) == 2 * burst, f"node {i} got {len(got)}"
                assert node.peer_id not in senders
                assert len({m.data for m in got}) == 2 * burst
                assert senders == {n.peer_id for n in nodes} - {node.peer_id}


async def test_publish_right_after_connect_is_delivered(make_config: ConfigFactory) -> None:
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        inbox = b.subscribe(TOPIC_PROPOSALS)
        assert inbox is not None
        with trio.fail_after(30):
            await a.connect(b.listen_addrs[0])
            await a.publish(TOPIC_PROPOSALS, b"first proposal")
            msg = await inbox.receive()
        assert msg == GossipMessage(TOPIC_PROPOSALS, b"first proposal", a.peer_id, a.peer_id)


async def test_own_messages_are_not_delivered_back(make_config: ConfigFactory) -> None:
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        own = a.subscribe(TOPIC_VOTES)
        theirs = b.subscribe(TOPIC_VOTES)
        assert own is not None and theirs is not None
        await connect_all([a, b])
        with trio.fail_after(30):
            await a.publish(TOPIC_VOTES, b"mine")
            await b.publish(TOPIC_VOTES, b"yours")
            assert (await theirs.receive()).data == b"mine"
            assert (await own.receive()).data == b"yours"
        with trio.move_on_after(0.5):
            extra = await own.receive()
            pytest.fail(f"unexpected delivery {extra}")


async def test_handler_subscription_and_tx_batches(make_config: ConfigFactory) -> None:
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        got: list[list[bytes]] = []
        done = trio.Event()

        async def on_batch(msg: GossipMessage) -> None:
            if msg.data == b"boom":
                raise RuntimeError("a failing handler must not stop delivery")
            got.append(decode_tx_batch(msg.data))
            done.set()

        b.subscribe(TOPIC_TRANSACTIONS, on_batch)
        await connect_all([a, b])
        with trio.fail_after(30):
            await a.publish_transactions([b"tx1", b"tx2", b"tx3"])
            await done.wait()
        assert got == [[b"tx1", b"tx2", b"tx3"]]


async def test_publish_checks_topic_and_size(make_config: ConfigFactory) -> None:
    async with open_nodes([make_config("a")]) as (a,):
        with pytest.raises(UnknownTopic):
            await a.publish("/nope/1", b"x")
        with pytest.raises(MessageTooLarge):
            await a.publish(TOPIC_VOTES, b"x" * (a.config.topics[TOPIC_VOTES].max_size + 1))
        with pytest.raises(UnknownTopic):
            a.subscribe("/nope/1")


async def test_oversized_message_dropped_and_sender_scored_down(
    make_config: ConfigFactory,
) -> None:
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        inbox = b.subscribe(TOPIC_VOTES)
        assert inbox is not None
        await connect_all([a, b])
        await b.wait_for_topic_peers(TOPIC_VOTES, 1, timeout=15)
        limit = b.config.topics[TOPIC_VOTES].max_size
        with trio.fail_after(30):
            # Bypass the sender's own checks, as a misbehaving peer would.
            await a.pubsub.publish(TOPIC_VOTES, b"x" * (limit + 1))
            await a.publish(TOPIC_VOTES, b"ok")
            msg = await inbox.receive()
        assert msg.data == b"ok"  # the oversized one never arrived
        record = b.scores.snapshot(a.peer_id)
        assert record.offences == {"oversized": 1}
        assert record.score < 0
        assert b.gate.stats.rejected == 1


async def test_garbage_spammer_is_disconnected_while_honest_traffic_flows(
    make_config: ConfigFactory,
) -> None:
    async with open_nodes([make_config(n) for n in ("victim", "spammer", "honest")]) as nodes:
        victim, spammer, honest = nodes
        inbox = victim.subscribe(TOPIC_TRANSACTIONS)
        assert inbox is not None
        await victim.connect(spammer.listen_addrs[0])
        await victim.connect(honest.listen_addrs[0])
        await spammer.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)
        await honest.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=15)

        with trio.fail_after(40):
            sent = 0
            # Undecodable batches; the ban threshold needs 5 at the default weights.
            while victim.is_connected(spammer.peer_id) and sent < 200:
                await spammer.pubsub.publish(TOPIC_TRANSACTIONS, b"\xff\x00garbage%d" % sent)
                sent += 1
                await honest.publish_transactions([b"honest-%d" % sent])
                await trio.sleep(0.02)
            assert not victim.is_connected(spammer.peer_id)
            status = {p.peer_id: p for p in victim.peers()}
            assert status[spammer.peer_id].banned
            assert status[spammer.peer_id].score <= victim.config.scores.ban_threshold
            assert not status[honest.peer_id].banned
            # The spammer's messages are ignored while banned, even if it reconnects.
            await victim.connect(honest.listen_addrs[0])
            await honest.publish_transactions([b"after-ban"])
            seen: list[bytes] = []
            while b"after-ban" not in seen:
                msg = await inbox.receive()
                assert msg.from_peer == honest.peer_id
                seen.extend(decode_tx_batch(msg.data))


async def test_consumer_can_report_a_peer(make_config: ConfigFactory) -> None:
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        await connect_all([a, b])
        for _ in range(3):
            b.report_peer(a.peer_id, Offence.INVALID)
        with trio.fail_after(15):
            while b.is_connected(a.peer_id):
                await trio.sleep(0.05)
        assert b.scores.is_banned(a.peer_id)
        assert b.peer_count() == 0


async def test_large_proposal_is_gossiped(make_config: ConfigFactory) -> None:
    # libp2p's default 1 MiB RPC limit dropped such a message silently.
    block = bytes(range(256)) * (3 * 1024 * 4)  # 3 MiB
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        inbox = b.subscribe(TOPIC_PROPOSALS)
        assert inbox is not None
        await connect_all([a, b])
        with trio.fail_after(30):
            await a.publish(TOPIC_PROPOSALS, block)
            msg = await inbox.receive()
        assert msg.data == block


async def test_partition_two_by_two_and_heal(make_config: ConfigFactory) -> None:
    names = ["a", "b", "c", "d"]
    async with open_nodes([make_config(n) for n in names]) as nodes:
        inboxes = [n.subscribe(TOPIC_VOTES) for n in nodes]
        await connect_all(nodes)
        for node in nodes:
            for other in nodes:
                if other is not node:
                    node.add_persistent_peer(other.listen_addrs[0])
        left, right = nodes[:2], nodes[2:]
        with trio.fail_after(60):
            for x in left:
                for y in right:
                    await x.block_peer(y.peer_id)
                    await y.block_peer(x.peer_id)
            await trio.sleep(1.0)
            for i, node in enumerate(nodes):
                await node.publish(TOPIC_VOTES, b"split-%d" % i)
            await trio.sleep(1.5)
            for i, inbox in enumerate(inboxes):
                assert inbox is not None
                got: set[bytes] = set()
                while True:
                    try:
                        got.add(inbox.receive_nowait().data)
                    except trio.WouldBlock:
                        break
                side = {0, 1} if i < 2 else {2, 3}
                assert got == {b"split-%d" % j for j in side - {i}}, (i, got)
            for x in left:
                for y in right:
                    x.unblock_peer(y.peer_id)
                    y.unblock_peer(x.peer_id)
            for node in nodes:
                while node.peer_count() < 3:
                    await trio.sleep(0.05)
            await trio.sleep(1.5)
            for i, node in enumerate(nodes):
                await node.publish(TOPIC_VOTES, b"healed-%d" % i)
            for i, inbox in enumerate(inboxes):
                assert inbox is not None
                want = {b"healed-%d" % j for j in range(4) if j != i}
                while want:
                    want.discard((await inbox.receive()).data)


async def test_relayed_messages_of_a_blocked_origin_are_ignored(
    make_config: ConfigFactory,
) -> None:
    async with open_nodes([make_config(n) for n in "abc"]) as (a, b, c):
        inbox = c.subscribe(TOPIC_VOTES)
        assert inbox is not None
        # A line: a - b - c, so a's messages reach c only through b.
        await a.connect(b.listen_addrs[0])
        await b.connect(c.listen_addrs[0])
        with trio.fail_after(30):
            # Relaying goes through b's mesh, which its 1 s heartbeat fills.
            mesh = b.pubsub.router.mesh  # type: ignore[attr-defined]
            while len(mesh.get(TOPIC_VOTES, ())) < 2:
                await trio.sleep(0.05)
            await a.publish(TOPIC_VOTES, b"relayed")
            assert (await inbox.receive()) == GossipMessage(
                TOPIC_VOTES, b"relayed", b.peer_id, a.peer_id
            )
            await c.block_peer(a.peer_id)
            await a.publish(TOPIC_VOTES, b"from blocked origin")
            await b.publish(TOPIC_VOTES, b"marker")
            got = [(await inbox.receive()).data]
            while got[-1] != b"marker":
                got.append((await inbox.receive()).data)
            with trio.move_on_after(0.5):
                got.append((await inbox.receive()).data)
        assert b"from blocked origin" not in got
        assert c.gate.stats.ignored_banned >= 1


def _signed_rpc(node: P2PService, topic: str, data: bytes, seqno: int) -> rpc_pb2.RPC:
    msg = rpc_pb2.Message(
        data=data,
        topicIDs=[topic],
        from_id=node.host.get_id().to_bytes(),
        seqno=seqno.to_bytes(8, "big"),
    )
    key = node.host.get_private_key()
    msg.signature = key.sign(PUBSUB_SIGNING_PREFIX.encode() + msg.SerializeToString())
    msg.key = node.host.get_public_key().serialize()
    return rpc_pb2.RPC(publish=[msg])


async def test_concurrent_large_rpcs_on_one_stream_stay_intact(
    make_config: ConfigFactory,
) -> None:
    # libp2p writes to a peer's pubsub stream from several tasks; two RPCs larger
    # than a yamux frame used to interleave and corrupt the stream.
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        inbox = b.subscribe(TOPIC_PROPOSALS)
        assert inbox is not None
        await connect_all([a, b])
        stream = a.pubsub.peers[ID.from_base58(b.peer_id)]
        blobs = [bytes([i]) * (2 * 1024 * 1024) for i in (1, 2, 3)]
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for i, blob in enumerate(blobs):
                    rpc = _signed_rpc(a, TOPIC_PROPOSALS, blob, 10**18 + i)
                    nursery.start_soon(a.pubsub.write_msg, stream, rpc)
            got = {(await inbox.receive()).data for _ in blobs}
        assert got == set(blobs)


async def test_the_same_rejected_message_sent_again_is_one_offence(
    make_config: ConfigFactory,
) -> None:
    # gossipsub re-sends a message the receiver did not take at every heartbeat; under load
    # one oversized vote became five offences and a ban before the next message arrived.
    async with open_nodes([make_config("a"), make_config("b")]) as (a, b):
        gate = b.gate
        limit = b.config.topics[TOPIC_VOTES].max_size
        oversized = _signed_rpc(a, TOPIC_VOTES, b"x" * (limit + 1), 1).publish[0]
        sender = a.host.get_id()
        for _ in range(8):
            assert not gate.admit(sender, oversized)
        record = b.scores.snapshot(a.peer_id)
        assert record.offences == {"oversized": 1}
        assert not b.scores.is_banned(a.peer_id)
        assert (gate.stats.rejected, gate.stats.ignored_repeat) == (1, 7)
        # Another message (a new sequence number) is another offence.
        again = _signed_rpc(a, TOPIC_VOTES, b"y" * (limit + 1), 2).publish[0]
        assert not gate.admit(sender, again)
        assert b.scores.snapshot(a.peer_id).offences == {"oversized": 2}
