"""Real multi-process chains on 127.0.0.1 for the node tests.

`Cluster` writes a local chain (genesis, validator homes, p2p identities) into tmp_path and
starts each node as its own `ivcnet node start` process on free ports; every process is
killed when the test ends, whatever happens. Timings are shrunk (blocks every 0.3 s) but
wait loops are generous: the machine is shared and a node process takes seconds to import.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_utils import to_checksum_address

from genesis import init_local_chain
from node.devnet import DevnetNode, node_peer_id

FAST_TIMINGS = [
    "--block-interval",
    "0.3",
    "--timeout-propose",
    "2.0",
    "--timeout-prevote",
    "1.0",
    "--timeout-precommit",
    "1.0",
]
STARTUP_TIMEOUT = 120.0


def free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port_range(count: int, rng: random.Random) -> int:
    """A base port such that base .. base + count - 1 are all free right now."""
    for _ in range(200):
        base = rng.randrange(20_000, 60_000)
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
    raise RuntimeError("no free port range")


class RpcError(Exception):
    pass


def rpc(url: str, method: str, *params: Any, timeout: float = 10.0) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer = httpx.post(url, json=body, timeout=timeout).json()
    if "error" in answer:
        raise RpcError(answer["error"])
    return answer["result"]


def try_rpc(url: str, method: str, *params: Any) -> Any:
    try:
        return rpc(url, method, *params, timeout=5)
    except (httpx.HTTPError, RpcError, ValueError):
        return None


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def height_of(url: str) -> int | None:
    value = try_rpc(url, "eth_blockNumber")
    return None if value is None else int(value, 16)


def transfer(url: str, key: str, to: bytes, value: int, nonce: int | None = None) -> str:
    """Sign an EIP-1559 transfer with eth-account and send it with eth_sendRawTransaction."""
    account = Account.from_key(key)
    chain_id = int(rpc(url, "eth_chainId"), 16)
    if nonce is None:
        nonce = int(rpc(url, "eth_getTransactionCount", account.address, "pending"), 16)
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**8,
        "gas": 21_000,
        "to": to_checksum_address(to),
        "value": value,
        "data": b"",
    }
    signed = Account.sign_transaction(tx, key)
    raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
    result: str = rpc(url, "eth_sendRawTransaction", "0x" + bytes(raw).hex())
    return result


class Cluster:
    def __init__(
        self, root: Path, validators: int, timings: list[str] | None = None, admin: bool = False
    ) -> None:
        self.root = root
        self.timings = FAST_TIMINGS if timings is None else timings
        if admin:
            self.timings = [*self.timings, "--admin-rpc"]
        chain = init_local_chain(root, "ivc-test", validators, 4)
        self.account_keys = ["0x" + k.private_key.hex() for k in chain.account_keys]
        ports = free_ports(2 * validators)
        self.nodes = [
            DevnetNode(
                i,
                chain.node_home(i),
                ports[2 * i],
                ports[2 * i + 1],
                node_peer_id(chain.node_home(i)),
            )
            for i in range(validators)
        ]
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.extra: list[subprocess.Popen[bytes]] = []

    def url(self, i: int) -> str:
        return self.nodes[i].rpc_url

    def command(self, node: DevnetNode, peers: list[str]) -> list[str]:
        argv = [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(node.home)]
        argv += ["--rpc-port", str(node.rpc_port), "--p2p-port", str(node.p2p_port)]
        for peer in peers:
            argv += ["--peer", peer]
        return argv + self.timings

    def _spawn(self, argv: list[str], home: Path) -> subprocess.Popen[bytes]:
        (home / "data").mkdir(parents=True, exist_ok=True)
        with open(home / "data" / "stdout.log", "ab") as out:
            return subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def start(self, i: int) -> None:
        node = self.nodes[i]
        peers = [n.peer_addr for n in self.nodes if n.index != i]
        self.procs[i] = self._spawn(self.command(node, peers), node.home)

    def start_all(self) -> None:
        for i in range(len(self.nodes)):
            self.start(i)

    def start_full_node(self, home: Path, peer: int) -> tuple[DevnetNode, subprocess.Popen[bytes]]:
        """A new node with only the genesis file and one peer address."""
        home.mkdir(parents=True)
        shutil.copy(self.root / "genesis.json", home / "genesis.json")
        rpc_port, p2p_port = free_ports(2)
        node = DevnetNode(99, home, rpc_port, p2p_port, "")
        proc = self._spawn(self.command(node, [self.nodes[peer].peer_addr]), home)
        self.extra.append(proc)
        return node, proc

    def kill(self, i: int, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[i]
        proc.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            proc.wait(timeout=30)

    def stop_all(self) -> None:
        procs = [*self.procs.values(), *self.extra]
        for p in procs:
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.terminate()
                except ProcessLookupError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)

    def height(self, i: int) -> int | None:
        return height_of(self.url(i))

    def wait_height(self, i: int, height: int, timeout: float = 60.0) -> int:
        def reached() -> int | None:
            h = self.height(i)
            return h if h is not None and h >= height else None

        result: int = wait_for(reached, timeout, f"node{i} at height {height}")
        return result

    def log_events(self, home: Path, name: str) -> list[dict[str, Any]]:
        return log_events(home, name)


def log_events(home: Path, name: str) -> list[dict[str, Any]]:
    """The `name` events of a node's structured log (HOME/data/node.log), in order."""
    path = home / "data" / "node.log"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("event") == name:
            out.append(obj)
    return out


def warm_proving_kernels() -> None:
    """What `make install` does (node.warmup): numba's disk cache holds the prover's and
    verifier's kernels before node processes start, whichever test runs first (a validator
    that compiles them on first use blocks its event loop for many seconds)."""
    from node.warmup import warm_up

    warm_up()
