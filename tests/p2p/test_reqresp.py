"""Request/response streams between real hosts."""

from __future__ import annotations

import contextlib
import random

import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from p2p import (
    PROTOCOL_BLOCKS,
    PROTOCOL_PROOF,
    FrameTooLarge,
    P2PConfigError,
    P2PService,
    PeerUnreachable,
    RemoteBusy,
    RemoteError,
    ReqRespLimits,
    RequestTimeout,
    UnknownProtocol,
)
from p2p.identity import load_or_create_identity, peer_id_of

from .conftest import ConfigFactory, connect_all, open_nodes

pytestmark = pytest.mark.trio


async def test_round_trip_small_and_4mb(make_config: ConfigFactory) -> None:
    rng = random.Random(7)
    big = rng.randbytes(4 * 1024 * 1024)
    async with open_nodes([make_config("client"), make_config("server")]) as (client, server):
        seen: list[tuple[str, int]] = []

        async def blocks(peer: str, request: bytes) -> bytes:
            seen.append((peer, len(request)))
            start, end = int.from_bytes(request[:8], "big"), int.from_bytes(request[8:], "big")
            return b"".join(h.to_bytes(8, "big") for h in range(start, end))

        async def proof(peer: str, request: bytes) -> bytes:
            return big if request == b"proof-1" else request[::-1]

        server.register_handler(PROTOCOL_BLOCKS, blocks)
        server.register_handler(PROTOCOL_PROOF, proof)
        await connect_all([client, server])
        with trio.fail_after(40):
            query = (5).to_bytes(8, "big") + (9).to_bytes(8, "big")
            reply = await client.request(server.peer_id, PROTOCOL_BLOCKS, query, timeout=5)
            assert reply == b"".join(h.to_bytes(8, "big") for h in range(5, 9))
            assert seen == [(client.peer_id, 16)]
            # 4 MB each way: the request up, the echo back.
            assert (
                await client.request(server.peer_id, PROTOCOL_PROOF, big, timeout=30) == (big[::-1])
            )
            assert (
                await client.request(server.peer_id, PROTOCOL_PROOF, b"proof-1", timeout=30) == big
            )
            # Requests run concurrently on separate streams (up to the per-peer limit).
            results: list[bytes] = []

            async def one(i: int) -> None:
                results.append(await client.request(server.peer_id, PROTOCOL_PROOF, b"%d" % i))

            async with trio.open_nursery() as nursery:
                for i in range(16):
                    nursery.start_soon(one, i + 10)
            assert sorted(results) == sorted((b"%d" % (i + 10))[::-1] for i in range(16))


async def test_errors_are_typed(make_config: ConfigFactory) -> None:
    limits = ReqRespLimits(max_frame=64 * 1024, default_timeout_s=5, server_timeout_s=5)
    async with open_nodes(
        [make_config("client", reqresp=limits), make_config("server", reqresp=limits)]
    ) as (client, server):

        async def failing(peer: str, request: bytes) -> bytes:
            raise ValueError("no block at height 7")

        async def slow(peer: str, request: bytes) -> bytes:
            await trio.sleep(30)
            return b"late"

        async def huge(peer: str, request: bytes) -> bytes:
            return b"x" * (limits.max_frame + 1)

        server.register_handler("/test/fail/1", failing)
        server.register_handler("/test/slow/1", slow)
        server.register_handler("/test/huge/1", huge)
        await connect_all([client, server])
        with trio.fail_after(40):
            with pytest.raises(RemoteError, match="no block at height 7"):
                await client.request(server.peer_id, "/test/fail/1", b"q")
            with pytest.raises(RequestTimeout):
                await client.request(server.peer_id, "/test/slow/1", b"q", timeout=0.3)
            with pytest.raises(UnknownProtocol):
                await client.request(server.peer_id, "/test/none/1", b"q")
            with pytest.raises(FrameTooLarge):
                await client.request(server.peer_id, "/test/fail/1", b"x" * (limits.max_frame + 1))
            with pytest.raises(RemoteError, match="FrameTooLarge"):
                await client.request(server.peer_id, "/test/huge/1", b"q")
            # The server still answers after all of that.
            with pytest.raises(RemoteError):
                await client.request(server.peer_id, "/test/fail/1", b"q")


async def test_unreachable_peer(make_config: ConfigFactory, tmp_path: object) -> None:
    async with open_nodes([make_config("client")]) as (client,):
        stranger = peer_id_of(load_or_create_identity(make_config("stranger").home))
        with trio.fail_after(30):
            with pytest.raises(PeerUnreachable):
                await client.request(stranger.to_base58(), PROTOCOL_BLOCKS, b"q", timeout=3)
            # A port nobody listens on: bounded retries, then a clear error.
            with trio.socket.socket() as sock:
                await sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            addr = f"/ip4/127.0.0.1/tcp/{port}/p2p/{stranger.to_base58()}"
            with pytest.raises(PeerUnreachable):
                await client.connect(addr, attempts=2)
            with pytest.raises(P2PConfigError):
                await client.connect(client.listen_addrs[0])


async def test_oversized_request_frame_is_refused_and_scored(
    make_config: ConfigFactory,
) -> None:
    small = ReqRespLimits(max_frame=1024)
    async with open_nodes([make_config("client"), make_config("server", reqresp=small)]) as (
        client,
        server,
    ):

        async def echo(peer: str, request: bytes) -> bytes:
            return request

        server.register_handler(PROTOCOL_PROOF, echo)
        await connect_all([client, server])
        with trio.fail_after(30):
            # The client allows 16 MiB; the server refuses anything past 1 KiB.
            with pytest.raises(RemoteError, match="refused"):
                await client.request(server.peer_id, PROTOCOL_PROOF, b"x" * 5000)
            assert await client.request(server.peer_id, PROTOCOL_PROOF, b"ok") == b"ok"
        assert server.scores.snapshot(client.peer_id).offences == {"protocol": 1}


async def test_garbage_on_request_streams_bans_the_sender_not_the_server(
    make_config: ConfigFactory,
) -> None:
    rng = random.Random(99)
    limits = ReqRespLimits(max_frame=64 * 1024, server_timeout_s=1.0)
    configs = [
        make_config("attacker"),
        make_config("honest"),
        make_config("server", reqresp=limits),
    ]
    async with open_nodes(configs) as (attacker, honest, server):

        async def echo(peer: str, request: bytes) -> bytes:
            return request

        server.register_handler(PROTOCOL_BLOCKS, echo)
        await connect_all([attacker, honest, server])
        target = ID.from_base58(server.peer_id)
        with trio.fail_after(40):
            # A stream that sends nothing is dropped after the server's timeout.
            idle = await attacker.host.new_stream(target, [TProtocol(PROTOCOL_BLOCKS)])
            # Truncated prefixes, lengths far above the limit, random bytes.
            for size in (0, 1, 3, 4, 7, 100, 5000, 2, 9, 300):
                if server.scores.is_banned(attacker.peer_id):
                    break
                try:
                    stream = await attacker.host.new_stream(target, [TProtocol(PROTOCOL_BLOCKS)])
                    await stream.write(rng.randbytes(size) if size != 4 else b"\x7f\xff\xff\xff")
                    await stream.close()
                except Exception:
                    pass  # the server reset us: fine
                await trio.sleep(0.05)
            await trio.sleep(1.5)
            with contextlib.suppress(Exception):
                await idle.reset()
            assert server.scores.is_banned(attacker.peer_id)
            assert await honest.request(server.peer_id, PROTOCOL_BLOCKS, b"fine") == b"fine"
            while server.is_connected(attacker.peer_id):
                await trio.sleep(0.05)
        assert server.scores.snapshot(attacker.peer_id).offences["protocol"] >= 5


async def test_requests_in_progress_per_peer_are_bounded(make_config: ConfigFactory) -> None:
    limits = ReqRespLimits(max_concurrent_per_peer=2)
    async with open_nodes(
        [make_config("client"), make_config("server", reqresp=limits), make_config("other")]
    ) as (client, server, other):
        release = trio.Event()
        started = 0

        async def slow(peer: str, request: bytes) -> bytes:
            nonlocal started
            started += 1
            await release.wait()
            return request

        server.register_handler(PROTOCOL_BLOCKS, slow)
        await connect_all([client, server, other])
        outcomes: list[bytes | str] = []

        async def ask(node: P2PService, i: int) -> None:
            try:
                outcomes.append(await node.request(server.peer_id, PROTOCOL_BLOCKS, b"%d" % i))
            except RemoteBusy:
                outcomes.append("busy")

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for i in range(5):
                    nursery.start_soon(ask, client, i)
                while outcomes.count("busy") < 3:
                    await trio.sleep(0.02)
                # Another peer is not held up by the first one's load.
                nursery.start_soon(ask, other, 99)
                while started < 3:
                    await trio.sleep(0.02)
                release.set()
        assert outcomes.count("busy") == 3
        served = [o for o in outcomes if o != "busy"]
        assert len(served) == 3 and b"99" in served
        assert {o for o in served if o != b"99"} <= {b"%d" % i for i in range(5)}
        # Capacity is returned once the handlers finish.
        assert await client.request(server.peer_id, PROTOCOL_BLOCKS, b"again") == b"again"


async def test_a_request_abandoned_mid_frame_is_not_an_offence(
    make_config: ConfigFactory,
) -> None:
    # A client that times out on a loaded machine closes its stream before the request frame
    # is complete; counting that as a protocol offence once banned honest validators.
    async with open_nodes([make_config("client"), make_config("server")]) as (client, server):

        async def echo(peer: str, request: bytes) -> bytes:
            return request

        server.register_handler(PROTOCOL_BLOCKS, echo)
        await connect_all([client, server])
        target = ID.from_base58(server.peer_id)
        with trio.fail_after(30):
            for partial in (b"", b"\x00", b"\x00\x00\x00", b"\x00\x00\x00\x08abc") * 3:
                stream = await client.host.new_stream(target, [TProtocol(PROTOCOL_BLOCKS)])
                if partial:
                    await stream.write(partial)
                await stream.close()
                await trio.sleep(0.05)
            await trio.sleep(0.5)
            assert server.scores.snapshot(client.peer_id).offences == {}
            assert not server.scores.is_banned(client.peer_id)
            assert await client.request(server.peer_id, PROTOCOL_BLOCKS, b"still") == b"still"
