"""A timeout that fires in the middle of a connection write must not kill the connection.

py-libp2p's Noise `write_msg` encrypts (advancing the send nonce) before it awaits the socket;
a caller's deadline that expired at that await dropped the encrypted message, after which the
peer could decrypt nothing more on that connection: it stayed connected while every new
stream failed (docs/p2p.md, Known issues). On a loaded machine the deadline expires while the
writer waits to be scheduled; here the same window is held open deterministically by keeping
the connection's TCP write lock busy while the write's deadline passes.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from libp2p.custom_types import TProtocol

from p2p import P2PService

from .conftest import ConfigFactory, connect_all, open_nodes

pytestmark = pytest.mark.trio

ECHO = "/ivcnet-test/echo/1"


def _tcp_stream(node: P2PService, peer: P2PService) -> Any:
    """The trio TCP stream under the Noise session of node's connection to peer."""
    conn = node.host.get_network().get_connections(peer.host.get_id())[0]
    secured = conn.muxed_conn.secured_conn  # type: ignore[attr-defined]
    return secured.conn.read_writer.read_write_closer.stream


async def _write_cancelled_after_encryption(client: P2PService, server: P2PService) -> None:
    stream = await client.host.new_stream(server.host.get_id(), [TProtocol(ECHO)])
    tcp = _tcp_stream(client, server)

    async def hold_tcp_lock() -> None:
        async with tcp.write_lock:
            await trio.sleep(0.5)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold_tcp_lock)
        await trio.sleep(0.05)
        # Encrypted at once, then waits for the TCP lock until its deadline passes.
        with trio.move_on_after(0.2):
            await stream.write(b"\x00\x00\x00\x01z")


async def test_a_write_timed_out_after_encryption_leaves_the_connection_usable(
    make_config: ConfigFactory,
) -> None:
    async with open_nodes([make_config("client"), make_config("server")]) as (client, server):

        async def echo(peer: str, request: bytes) -> bytes:
            return request

        server.register_handler(ECHO, echo)
        await connect_all([client, server])
        with trio.fail_after(30):
            assert await client.request(server.peer_id, ECHO, b"before", timeout=5) == b"before"
            await _write_cancelled_after_encryption(client, server)
            # Without the fix: PeerUnreachable at once, on a connection still reported open.
            for i in range(3):
                payload = b"after-%d" % i
                assert await client.request(server.peer_id, ECHO, payload, timeout=5) == payload
            assert client.is_connected(server.peer_id)
