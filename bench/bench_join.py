"""Joining figure: from `ivcnet join` to the new validator's first signed vote, with history.

A 1-validator chain on 127.0.0.1 builds `--blocks` blocks of history fast (blocks every
`--fast-interval` s), is restarted with ordinary test timings (0.3 s blocks), and then a new
home is made with `ivcnet join --validator --stake 1 --from-key ... --rpc ...` (1 IVC: voting
power 1 of 11, so the chain never waits for the newcomer) and started. Measured from the start
of `ivcnet join`:
  join_s       the join command (genesis check, keys, bond sent and included)
  started_s    the node's RPC answers
  synced_s     its head reaches the validator's head at the time of the join
  in_set_s     ivc_validators lists it (the bond took effect)
  first_vote_s its signer's WAL holds a signed message (HOME/data/signer/wal not empty: every
               vote or proposal is written there before it is sent)

    .venv/bin/python bench/bench_join.py [--blocks 1000]

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from genesis import init_local_chain, read_key_file
from node.devnet import DevnetNode, node_command, node_peer_id, start_node, stop_processes

NORMAL = ["--block-interval", "0.3", "--timeout-propose", "2.0", "--timeout-prevote", "1.0"]
NORMAL += ["--timeout-precommit", "1.0"]
TIMEOUT_S = 1200.0


def _rpc(url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    try:
        return httpx.post(url, json=body, timeout=10).json().get("result")
    except (httpx.HTTPError, ValueError):
        return None


def _height(url: str) -> int:
    value = _rpc(url, "eth_blockNumber")
    return int(value, 16) if isinstance(value, str) else -1


def _wait(predicate: Any, what: str, interval: float = 0.05) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > TIMEOUT_S:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(interval)
    return time.monotonic()


def _signed(home: Path) -> bool:
    signer = home / "data" / "signer"
    wal = signer / "wal"
    return (wal.exists() and wal.stat().st_size > 0) or (signer / "signer_state").exists()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=1000)
    ap.add_argument("--fast-interval", type=float, default=0.02)
    ap.add_argument("--base-port", type=int, default=36_100)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-join-"))
    procs = []
    try:
        chain = init_local_chain(tmp / "net", "ivc-bench", 1, 1)
        node = DevnetNode(
            0,
            chain.node_home(0),
            args.base_port,
            args.base_port + 1,
            node_peer_id(chain.node_home(0)),
        )
        fast = ["--block-interval", str(args.fast_interval), "--timeout-propose", "1.0"]
        t0 = time.monotonic()
        proc = start_node(node_command(node, [node], fast), node.home)
        procs.append(proc)
        _wait(lambda: _height(node.rpc_url) >= args.blocks, f"{args.blocks} blocks", 0.5)
        history_s = time.monotonic() - t0
        stop_processes([proc])
        proc = start_node(node_command(node, [node], NORMAL), node.home)
        procs.append(proc)
        _wait(lambda: _height(node.rpc_url) > args.blocks, "the validator back")

        home = tmp / "joined"
        rpc_port, p2p_port = args.base_port + 2, args.base_port + 3
        key = "0x" + chain.account_keys[0].private_key.hex()
        start = time.monotonic()
        head = _height(node.rpc_url)
        join = [sys.executable, "-m", "node.cli.main", "join", "--genesis"]
        join += [str(tmp / "net" / "genesis.json"), "--peer", node.peer_addr, "--home", str(home)]
        join += ["--validator", "--preset", "local", "--rpc-port", str(rpc_port)]
        join += ["--p2p-port", str(p2p_port), "--stake", "1", "--from-key", key]
        join += ["--rpc", node.rpc_url]
        subprocess.run(join, check=True, capture_output=True, timeout=300)
        joined_at = time.monotonic()
        (home / "data").mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(home)]
        procs.append(start_node(argv + NORMAL, home))
        url = f"http://127.0.0.1:{rpc_port}"
        started = _wait(lambda: _height(url) >= 0, "the joined node's RPC")
        synced = _wait(lambda: _height(url) >= head, "the joined node's sync")
        vkey = read_key_file(home / "config" / "validator_key.json")
        address = "0x" + vkey.address.hex()

        def in_set() -> bool:
            answer = _rpc(node.rpc_url, "ivc_validators")
            return bool(answer) and address in {v["address"].lower() for v in answer["validators"]}

        member = _wait(in_set, "the bond to take effect")
        voted = _wait(lambda: _signed(home), "the first signed vote")
        print(
            json.dumps(
                {
                    "bench": "join_to_first_vote",
                    "history_blocks": head,
                    "history_build_s": round(history_s, 1),
                    "join_s": round(joined_at - start, 2),
                    "started_s": round(started - start, 2),
                    "synced_s": round(synced - start, 2),
                    "in_set_s": round(member - start, 2),
                    "first_vote_s": round(voted - start, 2),
                }
            )
        )
    finally:
        stop_processes(procs)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
