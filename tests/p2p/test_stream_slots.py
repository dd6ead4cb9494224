"""Requests cancelled while their stream opens must give the stream slot back.

py-libp2p's yamux gives a connection 256 stream slots. `Yamux.open_stream` took a slot and
released it only on `Exception`: a request whose deadline expired while the SYN waited for the
connection's write lock (busy with another writer, e.g. a large gossip message or a peer
slow to read on a loaded machine) kept its slot for the life of the connection. After 256 such
requests every new stream on the connection waited forever, while gossip on the streams
already open still flowed: the connection looked healthy and served no request
(docs/p2p.md, Known issues). Here the write lock is held by hand while 300 requests time out.
"""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

import pytest
import trio

from p2p import P2PError, P2PService

from .conftest import ConfigFactory, connect_all, open_nodes

pytestmark = pytest.mark.trio

ECHO = "/ivcnet-test/echo/1"
SLOTS = 256


def _muxed_conn(node: P2PService, peer: P2PService) -> Any:
    return node.host.get_network().get_connections(peer.host.get_id())[0].muxed_conn


async def test_requests_cancelled_while_opening_a_stream_release_their_slots(
    make_config: ConfigFactory,
) -> None:
    async with open_nodes([make_config("client"), make_config("server")]) as (client, server):

        async def echo(peer: str, request: bytes) -> bytes:
            return request

        server.register_handler(ECHO, echo)
        await connect_all([client, server])
        with trio.fail_after(60):
            assert await client.request(server.peer_id, ECHO, b"before", timeout=10) == b"before"
            mux = _muxed_conn(client, server)
            free_before = mux.stream_backlog_semaphore.value

            async def doomed() -> None:
                with pytest.raises(P2PError):
                    await client.request(server.peer_id, ECHO, b"doomed", timeout=0.2)

            async def hold_write_lock(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
                async with mux._write_lock:
                    task_status.started()
                    await trio.sleep(1.0)

            async with trio.open_nursery() as nursery:
                await nursery.start(hold_write_lock)
                for _ in range(SLOTS + 44):
                    nursery.start_soon(doomed)

            # Without the fix: 0 slots free, and the request below times out.
            assert mux.stream_backlog_semaphore.value == free_before
            for i in range(3):
                payload = b"after-%d" % i
                assert await client.request(server.peer_id, ECHO, payload, timeout=10) == payload
            assert _muxed_conn(client, server) is mux  # same connection, not a redial


async def test_requests_abandoned_under_a_busy_event_loop_leave_the_connection_usable(
    make_config: ConfigFactory,
) -> None:
    """The loaded-machine form of the same leak, with no lock held by hand: 300 requests for a
    40 KB answer with 0-10 ms deadlines while a task hogs the event loop in 5 ms slices."""
    rng = random.Random(7)
    async with open_nodes([make_config("client"), make_config("server")]) as (client, server):
        answer = bytes(40_000)

        async def serve(peer: str, request: bytes) -> bytes:
            return answer

        server.register_handler(ECHO, serve)
        await connect_all([client, server])
        with trio.fail_after(60):
            assert await client.request(server.peer_id, ECHO, b"first", timeout=10) == answer
            mux = _muxed_conn(client, server)
            free_before = mux.stream_backlog_semaphore.value

            async def hog(stop: trio.Event) -> None:
                while not stop.is_set():
                    end = time.perf_counter() + 0.005
                    while time.perf_counter() < end:
                        pass
                    await trio.lowlevel.checkpoint()

            async def abandoned(timeout: float) -> None:
                with contextlib.suppress(P2PError):
                    await client.request(server.peer_id, ECHO, b"x", timeout=timeout)

            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(hog, stop)
                async with trio.open_nursery() as requests:
                    for _ in range(300):
                        requests.start_soon(abandoned, rng.uniform(0, 0.01))
                stop.set()
            # Answers of requests given up late may still be in flight: let them land.
            with trio.move_on_after(15):
                while mux.stream_backlog_semaphore.value < free_before:
                    await trio.sleep(0.1)
            assert mux.stream_backlog_semaphore.value == free_before
            assert await client.request(server.peer_id, ECHO, b"probe", timeout=10) == answer
            assert _muxed_conn(client, server) is mux
