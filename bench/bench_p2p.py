"""P2P figures between two OS processes on 127.0.0.1 (one JSON line per figure).

    .venv/bin/python bench/bench_p2p.py [--quick]

The parent process measures; a child process runs a second node that records
gossip arrival times (both read CLOCK_REALTIME, so one-way latency needs no
clock sync on one machine) and serves request/response handlers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from p2p import (
    TOPIC_TRANSACTIONS,
    TOPIC_VOTES,
    GossipMessage,
    P2PConfig,
    P2PService,
    decode_tx_batch,
    open_p2p_service,
)

ECHO = "/bench/echo/1"
BLOB = "/bench/blob/1"
STATS = "/bench/stats/1"
RESET = "/bench/reset/1"


def emit(name: str, value: float, unit: str, **params: Any) -> None:
    print(json.dumps({"name": name, "value": round(value, 3), "unit": unit, "params": params}))
    sys.stdout.flush()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- child ------------------------------------------------------------------------


async def child(home: str) -> None:
    records: dict[str, Any] = {"lat_ms": [], "count": 0, "txs": 0, "first": 0.0, "last": 0.0}

    def note(now: float) -> None:
        if records["count"] == 0:
            records["first"] = now
        records["count"] += 1
        records["last"] = now

    async with open_p2p_service(P2PConfig(home=Path(home))) as node:

        async def on_vote(msg: GossipMessage) -> None:
            now = time.time()
            sent = float(msg.data[:20].decode())
            records["lat_ms"].append((now - sent) * 1000)
            note(now)

        async def on_txs(msg: GossipMessage) -> None:
            records["txs"] += len(decode_tx_batch(msg.data))
            note(time.time())

        async def echo(peer: str, data: bytes) -> bytes:
            return data

        async def blob(peer: str, data: bytes) -> bytes:
            return b"\xab" * int(data.decode())

        async def stats(peer: str, data: bytes) -> bytes:
            return json.dumps(records).encode()

        async def reset(peer: str, data: bytes) -> bytes:
            records.update(lat_ms=[], count=0, txs=0, first=0.0, last=0.0)
            return b"ok"

        node.subscribe(TOPIC_VOTES, on_vote)
        node.subscribe(TOPIC_TRANSACTIONS, on_txs)
        for proto, fn in ((ECHO, echo), (BLOB, blob), (STATS, stats), (RESET, reset)):
            node.register_handler(proto, fn)
        print(node.listen_addrs[0], flush=True)
        # Runs until the parent closes our stdin.
        await trio.wrap_file(sys.stdin).read()


# ---- parent -----------------------------------------------------------------------


async def child_stats(node: P2PService, peer: str) -> dict[str, Any]:
    return dict(json.loads(await node.request(peer, STATS, b"", timeout=30)))


async def wait_count(node: P2PService, peer: str, key: str, count: int, timeout: float) -> None:
    with trio.move_on_after(timeout):
        while (await child_stats(node, peer))[key] < count:
            await trio.sleep(0.05)


async def parent(quick: bool) -> None:
    scale = 0.25 if quick else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        proc = await trio.lowlevel.open_process(
            [sys.executable, __file__, "--child", str(Path(tmp) / "child")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdin is not None
        line = b""
        with trio.fail_after(60):
            while not line.endswith(b"\n"):
                line += await proc.stdout.receive_some(1)
        addr = line.decode().strip()
        try:
            async with open_p2p_service(P2PConfig(home=Path(tmp) / "parent")) as node:
                await run_figures(node, addr, scale)
        finally:
            await proc.stdin.aclose()
            with trio.move_on_after(10):
                await proc.wait()
            if proc.returncode is None:
                proc.kill()


async def run_figures(node: P2PService, addr: str, scale: float) -> None:
    # Connect: dial + Noise + yamux + identify + the pubsub stream being up.
    times = []
    peer = ""
    for _ in range(10):
        t0 = time.perf_counter()
        peer = await node.connect(addr)
        times.append((time.perf_counter() - t0) * 1000)
        await node.disconnect(peer)
        with trio.fail_after(10):
            while node.is_connected(peer):
                await trio.sleep(0.01)
        await trio.sleep(0.1)
    peer = await node.connect(addr)
    emit("p2p_connect", statistics.median(times), "ms", repeats=10, stat="p50")
    await node.wait_for_topic_peers(TOPIC_VOTES, 1, timeout=10)
    await trio.sleep(1.5)  # let the mesh form (heartbeat 1 s)

    # 1 KB publish -> delivery, paced so queueing does not dominate.
    n = int(400 * scale)
    await node.request(peer, RESET, b"")
    for _ in range(n):
        await node.publish(TOPIC_VOTES, b"%20.6f" % time.time() + b"v" * 1004)
        await trio.sleep(0.005)
    await wait_count(node, peer, "count", n, 30)
    lat = (await child_stats(node, peer))["lat_ms"]
    emit("p2p_gossip_1kb_latency_p50", pct(lat, 0.5), "ms", messages=len(lat), sent=n)
    emit("p2p_gossip_1kb_latency_p99", pct(lat, 0.99), "ms", messages=len(lat), sent=n)

    # Burst: publish as fast as possible, measure first send -> last arrival.
    n = int(2000 * scale)
    await node.request(peer, RESET, b"")
    t0 = time.time()
    for _ in range(n):
        await node.publish(TOPIC_VOTES, b"%20.6f" % time.time() + b"b" * 1004)
    await wait_count(node, peer, "count", n, 60)
    st = await child_stats(node, peer)
    emit(
        "p2p_gossip_1kb_burst",
        st["count"] / (st["last"] - t0),
        "msg/s",
        sent=n,
        delivered=st["count"],
    )

    # Transaction batches: 100 transactions of 120 bytes per gossip message.
    batches, per = int(200 * scale), 100
    await node.request(peer, RESET, b"")
    t0 = time.time()
    for b in range(batches):
        await node.publish_transactions([b"%06d-%03d" % (b, i) + b"t" * 110 for i in range(per)])
    await wait_count(node, peer, "txs", batches * per, 60)
    st = await child_stats(node, peer)
    emit(
        "p2p_gossip_tx_batches",
        st["txs"] / (st["last"] - t0),
        "tx/s",
        batches=batches,
        txs_per_batch=per,
        tx_bytes=120,
        delivered=st["txs"],
    )

    # Request/response: 1 KB echo, a new stream per request.
    payload = b"r" * 1024
    rr = []
    for _ in range(int(400 * scale)):
        t1 = time.perf_counter()
        await node.request(peer, ECHO, payload, timeout=10)
        rr.append((time.perf_counter() - t1) * 1000)
    emit("p2p_request_1kb_p50", pct(rr, 0.5), "ms", requests=len(rr))
    emit("p2p_request_1kb_p99", pct(rr, 0.99), "ms", requests=len(rr))

    # 4 MB response over a stream.
    size = 4 * 1024 * 1024
    big = []
    for _ in range(5):
        t1 = time.perf_counter()
        body = await node.request(peer, BLOB, str(size).encode(), timeout=30)
        big.append((time.perf_counter() - t1) * 1000)
        if len(body) != size:
            raise RuntimeError("short 4 MB response")
    med = statistics.median(big)
    emit("p2p_request_4mb", med, "ms", bytes=size, repeats=5, mb_per_s=round(4 / (med / 1000), 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="a quarter of the messages")
    args = ap.parse_args()
    if args.child:
        trio.run(child, args.child)
    else:
        trio.run(parent, args.quick)


if __name__ == "__main__":
    main()
