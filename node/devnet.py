"""A local devnet: N validators and M provers, each its own OS process on 127.0.0.1.

Layout (genesis/home.py) plus the p2p identities made here at init time, so that every node
can be given every other node as a persistent peer before any of them starts:
    DIR/genesis.json, DIR/accounts.json
    DIR/node<i>/genesis.json, config/validator_key.json, config/p2p_identity.key, data/
    DIR/prover<j>/genesis.json, config/prover_key.json (the account its proofs pay), data/
Validator i listens for JSON-RPC on base_rpc_port + i and for p2p on base_p2p_port + i;
prover j (a full node started with --prover) on base + N + j. Once the chain runs, the devnet
deploys the example guests and submits a SHA-256 task with a prefunded account (`demo_task`), and prints
how to follow it until it is proven.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from genesis import (
    AccountKey,
    Genesis,
    GenesisError,
    init_local_chain,
    read_account_keys,
    read_key_file,
)
from genesis.home import GENESIS_FILE, describe_account
from genesis.keys import write_key_file
from genesis.params import UNIVERSAL_PROOF_V1, ProtocolParams
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
    universal_version: int = 0,
) -> list[DevnetNode]:
    """Initialize `root` if it holds no chain yet; return the validator nodes to start.
    `universal_version` 1 makes a Universal Proof v1 chain (`devnet_v1_params`)."""
    if not (root / GENESIS_FILE).exists():
        try:
            params = devnet_v1_params() if universal_version == 1 else None
            init_local_chain(root, chain_id, validators, accounts, params=params)
        except GenesisError as exc:
            raise DevnetError(str(exc)) from None
        except OSError as exc:
            raise DevnetError(f"cannot write {root}: {exc.strerror}") from None
    try:
        genesis = Genesis.load(root / GENESIS_FILE, verify_keys=False)
    except GenesisError as exc:
        raise DevnetError(str(exc)) from None
    have = genesis.params.universal_proof_version
    if have != universal_version:
        raise DevnetError(
            f"{root} already holds a chain with Universal Proof version {have} (asked for "
            f"{universal_version}); use another --home or --universal-version {have}"
        )
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


PROVER_KEY_FILE = Path("config") / "prover_key.json"


@dataclass(frozen=True)
class DevnetProver:
    node: DevnetNode
    address: bytes


def prepare_provers(
    root: Path, count: int, validators: int, base_rpc_port: int, base_p2p_port: int
) -> list[DevnetProver]:
    """Homes for `count` prover nodes beside the validators (full nodes: genesis and a p2p
    identity, no validator key), each with an account key of its own for its rewards."""
    provers = []
    genesis_bytes = (root / GENESIS_FILE).read_bytes()
    for j in range(count):
        home = root / f"prover{j}"
        key_path = home / PROVER_KEY_FILE
        try:
            (home / "config").mkdir(parents=True, exist_ok=True)
            (home / GENESIS_FILE).write_bytes(genesis_bytes)
            if not key_path.exists():
                write_key_file(key_path, AccountKey.generate().to_json())
            key = read_key_file(key_path)
        except OSError as exc:
            raise DevnetError(f"cannot write {home}: {exc.strerror}") from None
        except GenesisError as exc:
            raise DevnetError(str(exc)) from None
        if not isinstance(key, AccountKey):
            raise DevnetError(f"{key_path}: not an account key")
        index = validators + j
        node = DevnetNode(
            index, home, base_rpc_port + index, base_p2p_port + index, node_peer_id(home)
        )
        provers.append(DevnetProver(node, key.address))
    return provers


# Provers run at a lower CPU priority (their proving workers inherit it): on one machine, a
# proof in progress on every core otherwise starves the validators' consensus, which then
# stalls for minutes (seen with 3 provers on 2 cores).
PROVER_NICENESS = 10


def prover_command(
    prover: DevnetProver, validators: Sequence[DevnetNode], extra: Sequence[str] = ()
) -> list[str]:
    """A full node that proves, with every validator as a persistent peer, at a lower CPU
    priority than the validators."""
    argv = node_command(
        prover.node,
        validators,
        [*extra, "--prover", "--prover-address", "0x" + prover.address.hex()],
    )
    nice = shutil.which("nice")
    return [nice, "-n", str(PROVER_NICENESS), *argv] if nice else argv


DEMO_GUEST = "sha256"
DEMO_INPUT = b"hello from the ivcnet devnet"


# A v1 root takes minutes (a zkVM lift, and keying its program once per validator), so a v1
# devnet's tasks get an hour of 1 s blocks before they expire.
V1_TASK_DEADLINE_BLOCKS = 3600


def devnet_v1_params() -> ProtocolParams:
    """Devnet parameters on Universal Proof v1: the lift-shape allow-list holds the shape of
    the demo task's proof (computed from its execution: a task of another shape is refused by
    the provers and pools and expires, docs/recursion.md)."""
    from execution.universal.lift_shapes import run_shape

    shape = run_shape(demo_programs()[DEMO_GUEST], DEMO_INPUT)
    base = ProtocolParams()
    return replace(
        base,
        universal_proof_version=UNIVERSAL_PROOF_V1,
        universal_proof_lift_shapes=(shape,),
        task_deadline_blocks=V1_TASK_DEADLINE_BLOCKS,
        # A prover must not get its stake back before evidence of its bad proof can land.
        unbonding_period_blocks=max(
            base.unbonding_period_blocks,
            V1_TASK_DEADLINE_BLOCKS + base.proof_evidence_max_age_blocks,
        ),
    )


def demo_programs() -> dict[str, bytes]:
    """The example guests (execution/zkvm/guests/), each deployed on the devnet, by name."""
    from execution.zkvm.examples import EXAMPLE_GUESTS, example_elf

    return {name: example_elf(name).read_bytes() for name in EXAMPLE_GUESTS}


def demo_task(
    url: str,
    key: AccountKey,
    programs: dict[str, bytes],
    guest: str = DEMO_GUEST,
    task_input: bytes = DEMO_INPUT,
    timeout: float = 120.0,
) -> bytes:
    """Deploy `programs` (those not deployed yet) and submit one task for `guest` with
    `task_input`; returns the task id. Waits for the node's RPC and the deploys' commit.
    Raises DevnetError."""
    from execution.programs import image_id_bytes_of_elf
    from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
    from node.cli.errors import CliError
    from node.cli.task_cmd import RpcClient, send_transaction

    rpc = RpcClient(url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                if int(rpc.call("eth_blockNumber"), 16) >= 1:
                    break
            except CliError:
                pass
            if time.monotonic() > deadline:
                raise DevnetError(f"{url} did not reach block 1 in {timeout:.0f} s")
            time.sleep(0.5)
        images = {name: "0x" + image_id_bytes_of_elf(elf).hex() for name, elf in programs.items()}
        for name, elf in programs.items():
            if rpc.call("ivc_getProgram", images[name]) is None:
                send_transaction(rpc, key.private_key, None, elf)
        for name in programs:
            while rpc.call("ivc_getProgram", images[name]) is None:
                if time.monotonic() > deadline:
                    raise DevnetError(f"program {name} was not deployed in {timeout:.0f} s")
                time.sleep(0.5)
        request = TaskRequest(image_id_bytes_of_elf(programs[guest]), task_input, 1_000_000, 1)
        return send_transaction(rpc, key.private_key, TASK_SYSTEM_ADDRESS, request.encode())
    except CliError as exc:
        raise DevnetError(f"demo task: {exc}") from None


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


def _submit_demo(url: str, key: AccountKey) -> None:
    programs = demo_programs()
    print(
        f"deploying the example guests ({', '.join(programs)}) and submitting a {DEMO_GUEST} "
        f"task on {DEMO_INPUT!r}...",
        flush=True,
    )
    try:
        task_id = "0x" + demo_task(url, key, programs).hex()
    except DevnetError as exc:
        print(f"demo task not submitted: {exc}", file=sys.stderr, flush=True)
        return
    print(f"demo task {task_id} submitted; watch it become proven with")
    print(f"  ivcnet task status --rpc {url} {task_id}")
    body = '{"jsonrpc":"2.0","id":1,"method":"ivc_getTaskResult","params":["' + task_id + '"]}'
    print(f"  curl -s -H 'Content-Type: application/json' --data '{body}' {url}")
    print(f"then verify its block's Universal Proof here: ivcnet verify-block --rpc {url} HEIGHT")
    print("  (HEIGHT: submittedHeight in `ivcnet task status`)", flush=True)


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
    provers: int = 2,
    demo: bool = True,
    universal_version: int = 0,
) -> int:
    nodes = prepare_devnet(
        root, validators, base_rpc_port, base_p2p_port, universal_version=universal_version
    )
    prover_nodes = prepare_provers(root, provers, validators, base_rpc_port, base_p2p_port)
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
        for prover in prover_nodes:
            procs.append(start_node(prover_command(prover, nodes, extra), prover.node.home))
        print(f"devnet in {root}: {len(nodes)} validators, {len(prover_nodes)} provers")
        for node, proc in zip(nodes, procs[: len(nodes)], strict=True):
            print(
                f"  node{node.index}  pid {proc.pid}  rpc {node.rpc_url}  p2p {node.peer_addr}"
                f"  log {node.home / 'data' / 'node.log'}"
            )
        for j, (prover, proc) in enumerate(zip(prover_nodes, procs[len(nodes) :], strict=True)):
            print(
                f"  prover{j}  pid {proc.pid}  rpc {prover.node.rpc_url}  "
                f"rewards 0x{prover.address.hex()}  log {prover.node.home / 'data' / 'node.log'}"
            )
        keys = read_account_keys(root)
        print("prefunded accounts (address, private key; devnet only):")
        for key in keys:
            print(f"  {describe_account(key)}")
        if demo and keys:
            _submit_demo(nodes[0].rpc_url, keys[0])
        print("press Ctrl-C to stop", flush=True)
        nodes = [*nodes, *(p.node for p in prover_nodes)]
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
