"""`ivcnet devnet` end to end: 4 validator processes, a wallet transfer, hostile input, Ctrl-C."""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
from devnet_process import kill_tree
from node_cluster import (
    FAST_TIMINGS,
    STARTUP_TIMEOUT,
    free_port_range,
    height_of,
    rpc,
    transfer,
    try_rpc,
    wait_for,
)

RECIPIENT = bytes.fromhex("00000000000000000000000000000000000b0b01")


def _devnet(home: Path, rpc_base: int, p2p_base: int) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "node.cli.main", "devnet", "--validators", "4"]
    argv += ["--provers", "0", "--no-demo"]  # validators only: the proving network has its own
    argv += ["--home", str(home), "--base-rpc-port", str(rpc_base)]
    argv += ["--base-p2p-port", str(p2p_base), *FAST_TIMINGS]
    return subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )


def _garbage_to_p2p(port: int, rng: random.Random) -> None:
    """Random bytes, a half-open connection and an oversized multistream line."""
    for payload in (rng.randbytes(4096), b"\x13/multistream/1.0.0\n" + b"\xff" * 70000, b""):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(payload)
                time.sleep(0.05)
        except OSError:
            pass


def _malformed_rpc(url: str) -> None:
    """Bad JSON, an unknown method, wrong params, a huge batch: each answered, none fatal."""
    r = httpx.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert r.json()["error"]["code"] == -32700
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_nope", "params": []}
    assert httpx.post(url, json=body).json()["error"]["code"] == -32601
    body = {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": ["0x12"]}
    assert httpx.post(url, json=body).json()["error"]["code"] == -32602
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(5000)]
    answer = httpx.post(url, json=batch, timeout=30).json()
    assert isinstance(answer, dict) and answer["error"]["code"] in (-32600, -32005)
    body = {"jsonrpc": "2.0", "id": 3, "method": "eth_sendRawTransaction", "params": ["0x02ff"]}
    assert httpx.post(url, json=body).json()["error"]["code"] == -32000


def test_devnet_commits_transfers_and_survives_bad_input(tmp_path: Path) -> None:
    rng = random.Random(6)
    home = tmp_path / "devnet"
    rpc_base = free_port_range(4, rng)
    p2p_base = free_port_range(4, rng)
    while abs(p2p_base - rpc_base) < 4:
        p2p_base = free_port_range(4, rng)
    urls = [f"http://127.0.0.1:{rpc_base + i}" for i in range(4)]
    proc = _devnet(home, rpc_base, p2p_base)
    try:
        # Every node produces blocks.
        for url in urls:
            wait_for(lambda u=url: (height_of(u) or 0) >= 3, STARTUP_TIMEOUT, f"blocks at {url}")
        keys = json.loads((home / "accounts.json").read_text())["accounts"]
        key = keys[0]["private_key"]
        # A wallet transfer sent to node 1 is committed.
        tx_hash = transfer(urls[1], key, RECIPIENT, 12345)
        receipt = wait_for(
            lambda: try_rpc(urls[2], "eth_getTransactionReceipt", tx_hash), 60, "the receipt"
        )
        assert receipt["status"] == "0x1"
        number = receipt["blockNumber"]
        # A second one from the same sender, with the pending nonce, right after.
        tx2 = transfer(urls[3], key, RECIPIENT, 1)
        wait_for(lambda: try_rpc(urls[0], "eth_getTransactionReceipt", tx2), 60, "receipt 2")
        # Every node agrees on the balance at that block and on the block itself.
        for url in urls:
            wait_for(lambda u=url: (height_of(u) or 0) >= int(number, 16), 30, "catch up")
        balances = {rpc(u, "eth_getBalance", "0x" + RECIPIENT.hex(), number) for u in urls}
        assert balances == {hex(12345)}
        hashes = {rpc(u, "eth_getBlockByNumber", number, False)["hash"] for u in urls}
        assert len(hashes) == 1
        # Hostile input to one node: it stays up and the chain keeps going.
        _malformed_rpc(urls[0])
        _garbage_to_p2p(p2p_base, rng)
        before = height_of(urls[0]) or 0
        wait_for(lambda: (height_of(urls[0]) or 0) >= before + 3, 60, "progress after garbage")
        # Ctrl-C stops every node.
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) == 4
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert "http://127.0.0.1:" in out and keys[0]["private_key"][2:] in out
        _gone, alive = psutil.wait_procs(children, timeout=30)
        assert not alive
    finally:
        kill_tree(proc)
