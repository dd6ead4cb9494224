"""Devnet figures: idle block interval, sustained committed transfers/s, commit latency.

Starts a 4-validator devnet (one OS process per validator, default timings: 1 s blocks) in a
temporary folder, measures the idle block interval from node0's commit log, then submits
pre-signed transfers over JSON-RPC batches (one client thread per node) for `--seconds` and
counts what the chain commits.

    .venv/bin/python bench/bench_devnet.py [--seconds 60] [--accounts 160] [--window 60]

Transfers in flight are bounded by accounts x window: each account runs at most `--window`
nonces past its committed nonce (the mempool keeps at most 64 past it), so a run can show at
most accounts x window / commit latency transfers/s (40 accounts gave 2,400 in flight).

Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from execution.types.transaction import Transaction
from genesis import init_local_chain
from genesis.params import GWEI
from node.devnet import DevnetNode, node_command, prepare_devnet, start_node, stop_processes
from node.node import PROFILE_ENV

TO = bytes.fromhex("00000000000000000000000000000000000be9c1")
BATCH = 200


def _free_base(count: int) -> int:
    for base in range(31_000, 60_000, 97):
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")


def _rpc(client: httpx.Client, url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    return client.post(url, json=body, timeout=30).json().get("result")


def _commits(home: Path) -> list[dict[str, Any]]:
    return _events(home, "commit")


def _events(home: Path, name: str) -> list[dict[str, Any]]:
    out = []
    path = home / "data" / "node.log"
    for line in path.read_text().splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("event") == name:
            out.append(obj)
    return out


def _emit_stage_times(nodes: list[Any], since: float) -> None:
    """Where a loaded block's time goes, from the nodes' own logs: building a proposal (its
    proposer) and committing (every node), for blocks with transactions."""
    for event, name in (("proposal_built", "build"), ("commit", "commit")):
        ms = sorted(
            e["ms"]
            for n in nodes
            for e in _events(n.home, event)
            if e["ts"] >= since and e.get("txs", 0) > 0 and "ms" in e
        )
        if ms:
            _emit(f"devnet_{name}_ms_p50", ms[len(ms) // 2], "ms", blocks=len(ms))
            _emit(f"devnet_{name}_ms_max", ms[-1], "ms", blocks=len(ms))


def _emit(name: str, value: float, unit: str, **params: Any) -> None:
    print(json.dumps({"name": name, "value": round(value, 3), "unit": unit, "parameters": params}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--accounts", type=int, default=160)
    ap.add_argument("--window", type=int, default=60, help="nonces in flight per account (<=64)")
    ap.add_argument("--keep", type=Path, default=None, help="run in this folder and keep it")
    ap.add_argument(
        "--sync-blocks",
        type=int,
        default=0,
        help="instead: build this many empty blocks fast (0.05 s interval), time a fresh node's sync",
    )
    ap.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="cProfile validator 0's event-loop thread into this file (IVCNET_PROFILE)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = str(args.keep) if args.keep is not None else tmp_dir
        root = Path(tmp) / "devnet"
        chain = init_local_chain(root, "ivc-bench", 4, args.accounts)
        base = _free_base(8)
        nodes = prepare_devnet(root, 4, base, base + 4, accounts=args.accounts)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for n in nodes:
                extra = ["--block-interval", "0.05"] if args.sync_blocks else []
                if args.profile is not None and n.index == 0:
                    os.environ[PROFILE_ENV] = str(args.profile.resolve())
                procs.append(start_node(node_command(n, nodes, extra), n.home))
                os.environ.pop(PROFILE_ENV, None)
            client = httpx.Client()
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                heights = [_rpc_safe(client, n.rpc_url) for n in nodes]
                if all(h >= 3 for h in heights):
                    break
                time.sleep(0.5)
            else:
                raise RuntimeError("devnet did not start")
            if args.sync_blocks:
                deadline = time.monotonic() + 1800
                while _rpc_safe(client, nodes[0].rpc_url) < args.sync_blocks:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the devnet did not reach the block count")
                    time.sleep(1)
                _bench_sync(root, nodes, procs, client)
                return 0
            chain_id = int(_rpc(client, nodes[0].rpc_url, "eth_chainId"), 16)
            # Idle block interval over ~10 s.
            time.sleep(10)
            idle = [c["ts"] for c in _commits(nodes[0].home)][-10:]
            gaps = [b - a for a, b in itertools.pairwise(idle)]
            _emit(
                "devnet_idle_block_interval",
                statistics.mean(gaps),
                "s",
                validators=4,
                blocks=len(gaps),
            )

            # Pre-sign every account's transfers, nonce after nonce.
            keys = [k.private_key for k in chain.account_keys]
            per_account = int(args.seconds * 2000 / len(keys)) + BATCH
            signed: list[list[bytes]] = [
                [
                    Transaction(chain_id, nonce, GWEI, 2 * GWEI, 21_000, TO, 1, b"").sign(key).raw
                    for nonce in range(per_account)
                ]
                for key in keys
            ]
            sent: dict[str, float] = {}
            rejected = [0]
            stop_at = time.monotonic() + args.seconds
            lock = threading.Lock()

            def submit(node_index: int) -> None:
                url = nodes[node_index].rpc_url
                mine = [i for i in range(len(keys)) if i % 4 == node_index]
                per_batch = max(1, BATCH // max(1, len(mine)))
                c = httpx.Client()
                cursor = 0
                while time.monotonic() < stop_at and cursor < per_account:
                    raws = [
                        signed[a][n]
                        for n in range(cursor, min(cursor + per_batch, per_account))
                        for a in mine
                    ]
                    cursor += per_batch
                    body = [
                        {
                            "jsonrpc": "2.0",
                            "id": i,
                            "method": "eth_sendRawTransaction",
                            "params": ["0x" + r.hex()],
                        }
                        for i, r in enumerate(raws)
                    ]
                    t = time.time()
                    answers = c.post(url, json=body, timeout=60).json()
                    with lock:
                        for a in answers:
                            if "result" in a:
                                sent[a["result"]] = t
                            else:
                                rejected[0] += 1
                    # Stay within the mempool's nonce window of committed nonces.
                    while (
                        cursor - _nonce_safe(c, url, mine[0] if mine else 0, chain) > args.window
                        and time.monotonic() < stop_at
                    ):
                        time.sleep(0.05)

            threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
            started = time.time()
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            # Let the pool drain.
            drain_deadline = time.monotonic() + 60
            while time.monotonic() < drain_deadline:
                time.sleep(1)
                recent = _commits(nodes[0].home)[-2:]
                if recent and all(c["txs"] == 0 for c in recent) and recent[-1]["ts"] > started + 2:
                    break
            commits = [c for c in _commits(nodes[0].home) if c["ts"] >= started]
            loaded = [c for c in commits if c["txs"] > 0]
            total = sum(c["txs"] for c in loaded)
            if len(loaded) >= 2:
                span = loaded[-1]["ts"] - started
                _emit(
                    "devnet_committed_transfers_per_s",
                    total / span,
                    "tx/s",
                    validators=4,
                    seconds=round(span, 1),
                    committed=total,
                    submitted=len(sent),
                    rejected=rejected[0],
                    target=1000,
                    in_flight_bound=len(keys) * args.window,
                )
                _emit("devnet_max_block_txs", max(c["txs"] for c in loaded), "txs", validators=4)
                _emit_stage_times(nodes, started)
            # Commit latency from a sample of receipts.
            commit_ts = {c["height"]: c["ts"] for c in _commits(nodes[0].home)}
            sample = list(sent.items())[:: max(1, len(sent) // 300)]
            latencies = []
            for h, t in sample:
                r = _rpc(client, nodes[0].rpc_url, "eth_getTransactionReceipt", h)
                if r:
                    ts = commit_ts.get(int(r["blockNumber"], 16))
                    if ts is not None:
                        latencies.append(ts - t)
            if latencies:
                latencies.sort()
                _emit(
                    "devnet_commit_latency_p50",
                    latencies[len(latencies) // 2],
                    "s",
                    samples=len(latencies),
                )
                _emit(
                    "devnet_commit_latency_p99",
                    latencies[int(len(latencies) * 0.99)],
                    "s",
                    samples=len(latencies),
                )
            _bench_sync(root, nodes, procs, client)
        finally:
            stop_processes(procs)
    return 0


def _bench_sync(root: Path, nodes: list[Any], procs: list[Any], client: httpx.Client) -> None:
    """A fresh full node (genesis file + one peer) block-syncs the whole chain."""
    home = root / "late"
    (home / "data").mkdir(parents=True)
    shutil.copy(root / "genesis.json", home / "genesis.json")
    base = _free_base(2)
    late = DevnetNode(99, home, base, base + 1, "")
    procs.append(start_node(node_command(late, [nodes[0]]), home))
    target = _rpc_safe(client, nodes[0].rpc_url)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _rpc_safe(client, late.rpc_url) < target:
        time.sleep(0.5)
    synced = [c for c in _commits(home) if c["source"] == "sync"]
    if len(synced) >= 2:
        span = synced[-1]["ts"] - synced[0]["ts"]
        txs = sum(c["txs"] for c in synced)
        _emit(
            "devnet_block_sync",
            len(synced) / span,
            "blocks/s",
            blocks=len(synced),
            transfers=txs,
            seconds=round(span, 2),
        )


def _rpc_safe(client: httpx.Client, url: str) -> int:
    try:
        return int(_rpc(client, url, "eth_blockNumber"), 16)
    except Exception:
        return -1


def _nonce_safe(client: httpx.Client, url: str, account_index: int, chain: Any) -> int:
    address = "0x" + chain.account_keys[account_index].address.hex()
    try:
        return int(_rpc(client, url, "eth_getTransactionCount", address, "latest"), 16)
    except Exception:
        return 0


if __name__ == "__main__":
    sys.exit(main())
