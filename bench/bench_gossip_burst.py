"""CPU per delivered gossip message: several `open_p2p_service` hosts in one process.

    .venv/bin/python bench/bench_gossip_burst.py [--hosts 4] [--messages 200] [--size 100]
                                                 [--without 6,7,8]

Every host publishes `--messages` transaction batches (one item of `--size` bytes), paced by
2 ms, and every host must receive every other host's batches. The process's CPU time
(`time.process_time`) divided by the deliveries is the whole per-message cost of py-libp2p's
pubsub as ivcnet runs it (publishing, relaying, reading), independent of other processes'
load, unlike the wall-clock rate. `--without` leaves out some of patches 6-8 of docs/p2p.md
(6: yamux window updates, 7: the signed peer record, 8: buffered pubsub reads) for a
before/after in one tree.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import trio
from libp2p.stream_muxer.yamux.yamux import YamuxStream
from libp2p.utils.varint import read_varint_prefixed_bytes_limited

from p2p import DialConfig, GossipMessage, P2PConfig, libp2p_patches, open_p2p_service
from p2p.topics import TOPIC_TRANSACTIONS

DIAL = DialConfig(
    attempts=3, backoff_initial_s=0.05, backoff_max_s=0.5, connect_timeout_s=5.0,
    reconnect_check_s=0.5,
)  # fmt: skip


async def run(tmp: Path, hosts: int, messages: int, size: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        nodes = [
            await stack.enter_async_context(open_p2p_service(P2PConfig(home=tmp / f"h{i}", dial=DIAL)))
            for i in range(hosts)
        ]  # fmt: skip
        for i, a in enumerate(nodes):
            for b in nodes[i + 1 :]:
                await a.connect(b.listen_addrs[0])
        channels: list[trio.MemoryReceiveChannel[GossipMessage]] = []
        for node in nodes:
            channel = node.subscribe(TOPIC_TRANSACTIONS)
            assert channel is not None
            channels.append(channel)
        for node in nodes:
            await node.wait_for_topic_peers(TOPIC_TRANSACTIONS, hosts - 1, timeout=30)
        await trio.sleep(1.5)
        expect = messages * (hosts - 1)
        got = [0] * hosts

        async def drain(i: int) -> None:
            while got[i] < expect:
                await channels[i].receive()
                got[i] += 1

        wall, cpu = time.perf_counter(), time.process_time()
        with trio.move_on_after(600):
            async with trio.open_nursery() as nursery:
                for i in range(hosts):
                    nursery.start_soon(drain, i)
                for k in range(messages):
                    for i, node in enumerate(nodes):
                        item = b"%d:%06d:" % (i, k) + b"t" * size
                        await node.publish_transactions([item])
                    await trio.sleep(0.002)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        delivered = sum(got)
        return {
            "cpu_us_per_delivery": 1e6 * cpu / max(delivered, 1),
            "deliveries_per_s": delivered / wall,
            "delivered": delivered,
            "expected": expect * hosts,
        }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=4)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--without", default="", help="patch numbers to leave out, e.g. 6,7,8")
    args = ap.parse_args()
    without = {int(n) for n in args.without.split(",") if n}
    if 6 in without:
        libp2p_patches._batched_window_update = YamuxStream._auto_tune_and_send_window_update
    if 7 in without:
        libp2p_patches._cached_sender_record = lambda original: original
        libp2p_patches._verified_once_sender_record = lambda original: original
    if 8 in without:
        libp2p_patches._buffered_read_varint_prefixed = read_varint_prefixed_bytes_limited
    with tempfile.TemporaryDirectory() as tmp:
        figures = trio.run(run, Path(tmp), args.hosts, args.messages, args.size)
    params = {
        "hosts": args.hosts,
        "messages": args.messages,
        "size": args.size,
        "without_patches": sorted(without),
        "delivered": figures.pop("delivered"),
        "expected": figures.pop("expected"),
    }
    for name, value in figures.items():
        print(
            json.dumps(
                {"name": f"gossip_burst_{name}", "value": round(value, 1), "parameters": params}
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
