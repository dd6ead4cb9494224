"""A local devnet: N validators, each its own OS process on 127.0.0.1.

Layout (genesis/home.py) plus the p2p identities made here at init time, so that every node
can be given every other node as a persistent peer before any of them starts:
    DIR/genesis.json, DIR/accounts.json
    DIR/node<i>/genesis.json, config/validator_key.json, config/p2p_identity.key, data/
Node i listens for JSON-RPC on base_rpc_port + i and for p2p on base_p2p_port + i.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from genesis import Genesis, GenesisError, init_local_chain, read_account_keys
from genesis.home import GENESIS_FILE, describe_account
from p2p.identity import load_or_create_identity, peer_id_of


class DevnetError(Exception):
    """The devnet folder or its options are unusable (a user's mistake)."""


@dataclass(frozen=True)
class DevnetNode:
    index: int
    home: Path
    rpc_port: int
    p2p_port: int
    peer_id: str

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def peer_addr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.p2p_port}/p2p/{self.peer_id}"


def node_peer_id(home: Path) -> str:
    """The node's libp2p peer id, creating its persisted identity if it has none yet."""
    return str(peer_id_of(load_or_create_identity(home / "config")).to_base58())


def prepare_devnet(
    root: Path,
    validators: int,
    base_rpc_port: int,
    base_p2p_port: int,
    accounts: int = 10,
    chain_id: str = "ivc-devnet",
) -> list[DevnetNode]:
    """Initialize `root` if it holds no chain yet; return the validator nodes to start."""
    if not (root / GENESIS_FILE).exists():
        try:
            init_local_chain(root, chain_id, validators, accounts)
        except GenesisError as exc:
            raise DevnetError(str(exc)) from None
        except OSError as exc:
            raise DevnetError(f"cannot write {root}: {exc.strerror}") from None
    try:
        genesis = Genesis.load(root / GENESIS_FILE, verify_keys=False)
    except GenesisError as exc:
        raise DevnetError(str(exc)) from None
    count = len(genesis.validators)
    if count != validators:
        raise DevnetError(
            f"{root} already holds a chain with {count} validators (asked for {validators}); "
            "use another --home or --validators"
        )
    nodes = []
    for i in range(count):
        home = root / f"node{i}"
        if not (home / "config" / "validator_key.json").exists():
            raise DevnetError(f"{home}: no validator key; is {root} a devnet folder?")
        nodes.append(DevnetNode(i, home, base_rpc_port + i, base_p2p_port + i, node_peer_id(home)))
    return nodes


def node_command(
    node: DevnetNode, nodes: Sequence[DevnetNode], extra: Sequence[str] = ()
) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "node.cli.main",
        "node",
        "start",
        "--home",
        str(node.home),
        "--rpc-port",
        str(node.rpc_port),
        "--p2p-port",
        str(node.p2p_port),
    ]
    for other in nodes:
        if other.index != node.index:
            argv += ["--peer", other.peer_addr]
    return argv + list(extra)


def start_node(argv: Sequence[str], home: Path) -> subprocess.Popen[bytes]:
    """Start one node process; its stdout and stderr go to HOME/data/stdout.log."""
    (home / "data").mkdir(parents=True, exist_ok=True)
    out = open(home / "data" / "stdout.log", "ab")  # noqa: SIM115 (owned by the child)
    try:
        return subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    finally:
        out.close()


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM every process, wait up to `grace` seconds, then SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


def run_devnet(
    root: Path,
    validators: int,
    base_rpc_port: int,
    base_p2p_port: int,
    extra: Sequence[str] = (),
) -> int:
    nodes = prepare_devnet(root, validators, base_rpc_port, base_p2p_port)
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for node in nodes:
            procs.append(start_node(node_command(node, nodes, extra), node.home))
        print(f"devnet in {root}: {len(nodes)} validators")
        for node, proc in zip(nodes, procs, strict=True):
            print(
                f"  node{node.index}  pid {proc.pid}  rpc {node.rpc_url}  p2p {node.peer_addr}"
                f"  log {node.home / 'data' / 'node.log'}"
            )
        print("prefunded accounts (address, private key; devnet only):")
        for key in read_account_keys(root):
            print(f"  {describe_account(key)}")
        print("press Ctrl-C to stop", flush=True)
        reported: set[int] = set()
        while not stop:
            time.sleep(0.2)
            for node, proc in zip(nodes, procs, strict=True):
                if proc.poll() is not None and node.index not in reported and not stop:
                    reported.add(node.index)
                    print(
                        f"node{node.index} exited with status {proc.returncode}; "
                        f"see {node.home / 'data' / 'stdout.log'}",
                        file=sys.stderr,
                        flush=True,
                    )
            if len(reported) == len(nodes):
                return 1
        print("stopping devnet", flush=True)
        return 0
    finally:
        stop_processes(procs)
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
