"""A node in its own OS process is killed with SIGKILL and restarted on the same port."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from p2p import TOPIC_VOTES, GossipMessage, open_p2p_service

from .conftest import ConfigFactory

pytestmark = pytest.mark.trio

ROOT = Path(__file__).resolve().parents[2]

# The child node publishes a numbered vote every 50 ms and prints its address.
CHILD = textwrap.dedent(
    """
    import sys, trio
    from pathlib import Path
    from p2p import P2PConfig, TOPIC_VOTES, open_p2p_service

    async def main() -> None:
        cfg = P2PConfig(home=Path(sys.argv[1]), listen_port=int(sys.argv[2]))
        async with open_p2p_service(cfg) as node:
            print(node.peer_id, node.listen_addrs[0], flush=True)
            k = 0
            while True:
                if node.peer_count():
                    await node.publish(TOPIC_VOTES, b"%s-%d" % (sys.argv[3].encode(), k))
                    k += 1
                await trio.sleep(0.05)

    trio.run(main)
    """
)


async def start_child(home: Path, port: int, tag: str) -> tuple[trio.Process, str, str]:
    proc = await trio.lowlevel.open_process(
        [sys.executable, "-c", CHILD, str(home), str(port), tag],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        chunk = await proc.stdout.receive_some(1)
        if not chunk:
            raise RuntimeError("child exited before printing its address")
        line += chunk
    peer_id, addr = line.decode().split()
    return proc, peer_id, addr


async def next_from(
    inbox: trio.MemoryReceiveChannel[GossipMessage], prefix: bytes
) -> GossipMessage:
    while True:
        msg = await inbox.receive()
        if msg.data.startswith(prefix):
            return msg


async def test_sigkilled_peer_restarts_on_same_port_and_is_redialed(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    home = tmp_path / "child"
    with trio.fail_after(60):
        proc, peer_id, addr = await start_child(home, 0, "first")
        port = int(addr.split("/tcp/")[1].split("/")[0])
        try:
            cfg = make_config("watcher", persistent_peers=(addr,))
            async with open_p2p_service(cfg) as watcher:
                inbox = watcher.subscribe(TOPIC_VOTES)
                assert inbox is not None
                msg = await next_from(inbox, b"first-")
                assert msg.origin == peer_id
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
                while watcher.is_connected(peer_id):
                    await trio.sleep(0.05)
                proc, again_id, again_addr = await start_child(home, port, "second")
                assert (again_id, again_addr) == (peer_id, addr)
                # The watcher redials the persistent peer by itself.
                msg = await next_from(inbox, b"second-")
                assert msg.origin == peer_id
        finally:
            proc.kill()
            await proc.wait()
