"""Garbage on the wire, restarts, and reconnection, with real hosts on 127.0.0.1."""

from __future__ import annotations

import random

import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11

from p2p import TOPIC_VOTES, GossipMessage, P2PService, open_p2p_service

from .conftest import ConfigFactory, connect_all, open_nodes

pytestmark = pytest.mark.trio


async def expect_vote(
    sender: P2PService, inbox: trio.MemoryReceiveChannel[GossipMessage], data: bytes
) -> None:
    await sender.publish(TOPIC_VOTES, data)
    while (await inbox.receive()).data != data:
        pass


async def test_raw_tcp_garbage_does_not_crash_the_node(make_config: ConfigFactory) -> None:
    rng = random.Random(1234)
    async with open_nodes([make_config("target"), make_config("friend")]) as (target, friend):
        inbox = target.subscribe(TOPIC_VOTES)
        assert inbox is not None
        await connect_all([target, friend])
        payloads = [
            b"",
            rng.randbytes(1),
            rng.randbytes(64),
            rng.randbytes(70_000),
            b"\x13/multistream/1.0.0\n\x07/noise\n" + rng.randbytes(500),
            b"\x13/multistream/1.0.0\n\x13/multistream/1.0.0\n\x10/plaintext/2.0.0\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            b"\xff" * 10_000,
        ]
        with trio.fail_after(30):
            for payload in payloads:
                stream = await trio.open_tcp_stream("127.0.0.1", target.listen_port)
                try:
                    if payload:
                        await stream.send_all(payload)
                    with trio.move_on_after(0.2):
                        await stream.receive_some(4096)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass
                finally:
                    await stream.aclose()
            # Many half-open connections at once, then all dropped.
            streams = [
                await trio.open_tcp_stream("127.0.0.1", target.listen_port) for _ in range(20)
            ]
            for s in streams:
                await s.aclose()
            # Still serving gossip on the existing connection, and accepting new ones.
            await expect_vote(friend, inbox, b"still alive")
            async with open_p2p_service(make_config("late")) as late:
                await late.connect(target.listen_addrs[0])
                await expect_vote(late, inbox, b"new peer after garbage")


async def test_garbage_pubsub_rpc_is_scored_not_fatal(make_config: ConfigFactory) -> None:
    async with open_nodes(
        [make_config("target"), make_config("attacker"), make_config("friend")]
    ) as (target, attacker, friend):
        inbox = target.subscribe(TOPIC_VOTES)
        assert inbox is not None
        await connect_all([target, friend])
        await attacker.connect(target.listen_addrs[0])
        with trio.fail_after(40):
            # A pubsub stream that speaks the protocol id, then sends a varint
            # length followed by bytes that are not an RPC protobuf.
            stream = await attacker.host.new_stream(
                ID.from_base58(target.peer_id), [TProtocol(PROTOCOL_ID_V11)]
            )
            await stream.write(b"\x0a" + b"\xff" * 10)
            with trio.move_on_after(1):
                while attacker.peer_id not in target.scores.known_peers():
                    await trio.sleep(0.02)
            await expect_vote(friend, inbox, b"after garbage rpc")
        assert target.scores.snapshot(attacker.peer_id).offences.get("malformed", 0) >= 1


async def test_identity_persists_and_restarted_peer_is_reachable_again(
    make_config: ConfigFactory,
) -> None:
    first = make_config("restarting")
    async with open_p2p_service(make_config("stable")) as stable:
        inbox = stable.subscribe(TOPIC_VOTES)
        assert inbox is not None
        async with open_p2p_service(first) as node:
            peer_id, port = node.peer_id, node.listen_port
            addr = node.listen_addrs[0]
            await stable.connect(addr)
            with trio.fail_after(30):
                for i in range(20):
                    await expect_vote(node, inbox, b"before restart %d" % i)
        # The old listener is gone: nothing accepts on the port until the restart.
        with pytest.raises(OSError):
            await (await trio.open_tcp_stream("127.0.0.1", port)).aclose()
        # Same home and port: same peer id, and the address others know still works.
        # Restarting at once also checks that the new messages' ids do not repeat
        # the old ones (peers would drop them as already seen).
        again = make_config("restarting", listen_port=port)
        with trio.fail_after(40):
            while stable.is_connected(peer_id):
                await trio.sleep(0.05)
            async with open_p2p_service(again) as node:
                assert node.peer_id == peer_id
                assert node.listen_addrs[0] == addr
                await stable.connect(addr)
                for i in range(20):
                    await expect_vote(node, inbox, b"after restart %d" % i)


async def test_persistent_peer_is_redialed_after_it_drops(make_config: ConfigFactory) -> None:
    async with open_p2p_service(make_config("server")) as server:
        port, addr, server_id = server.listen_port, server.listen_addrs[0], server.peer_id
    server_cfg = make_config("server", listen_port=port)
    async with open_p2p_service(make_config("client", persistent_peers=(addr,))) as client:
        with trio.fail_after(30):
            # Not up yet: the client keeps trying with backoff.
            await trio.sleep(0.5)
            assert not client.is_connected(server_id)
            for round_ in range(2):
                async with open_p2p_service(server_cfg) as server:
                    inbox = server.subscribe(TOPIC_VOTES)
                    assert inbox is not None
                    while not client.is_connected(server_id):
                        await trio.sleep(0.05)
                    await client.wait_for_topic_peers(TOPIC_VOTES, 1, timeout=15)
                    await expect_vote(client, inbox, b"round %d" % round_)
                # The server stopped; the client notices and redials on the next start.
                while client.is_connected(server_id):
                    await trio.sleep(0.05)
            assert client.peer_count() == 0


async def test_blocked_peer_is_cut_off_until_unblocked(make_config: ConfigFactory) -> None:
    """The node-local blocking a partition test drives."""
    async with open_p2p_service(make_config("b")) as b:
        a_cfg = make_config("a", persistent_peers=(b.listen_addrs[0],))
        async with open_p2p_service(a_cfg) as a:
            # b also keeps dialing a, so the block must hold against reconnects.
            b.add_persistent_peer(a.listen_addrs[0])
            inbox = a.subscribe(TOPIC_VOTES)
            assert inbox is not None
            with trio.fail_after(40):
                while not a.is_connected(b.peer_id):
                    await trio.sleep(0.05)
                await b.wait_for_topic_peers(TOPIC_VOTES, 1, timeout=15)
                await expect_vote(b, inbox, b"before block")
                await a.block_peer(b.peer_id)
                assert [p.peer_id for p in a.peers() if p.banned] == [b.peer_id]
                for i in range(20):
                    await b.publish(TOPIC_VOTES, b"during block %d" % i)
                    await trio.sleep(0.1)
                with trio.move_on_after(0.5):
                    msg = await inbox.receive()
                    pytest.fail(f"delivered from a blocked peer: {msg}")
                a.unblock_peer(b.peer_id)
                while not a.is_connected(b.peer_id):
                    await trio.sleep(0.05)
                await expect_vote(b, inbox, b"after unblock")
