"""`ivcnet join`: set up a node home for a network that already runs (docs/joining.md).

From someone else's genesis file and one peer address it writes a self-contained home:
    HOME/genesis.json                 a copy of the network's genesis, checked first
    HOME/config/p2p_identity.key      this node's libp2p identity (its peer id)
    HOME/config/node.json             the preset's settings, the peer as a persistent peer
    HOME/config/validator_key.json    --validator: a new BLS key (not yet in the set: it
    HOME/config/reward_key.json         must bond stake first) and the account paid its tips
    HOME/config/prover_key.json       --prover: the account its proofs pay
then prints how to start the node and how to stake. Nothing is written unless every input
checked out, and an existing home is never touched.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesis import AccountKey, Genesis, GenesisError, ValidatorKey, to_checksum_address
from genesis.home import GENESIS_FILE, REWARD_KEY_FILE, VALIDATOR_KEY_FILE
from genesis.keys import write_key_file
from node.cli.errors import CliError

PROVER_KEY_FILE = Path("config") / "prover_key.json"  # same place as node.devnet's provers


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "join",
        help="set up a node home to join a running network",
        description="Create --home for a network that already runs: copy and check its genesis "
        "file, create this node's keys, write config/node.json with --peer as a persistent "
        "peer, and print the command that starts the node and the staking transaction that "
        "makes it a validator or prover (sent at once with --stake). See docs/joining.md.",
    )
    p.add_argument("--genesis", required=True, type=Path, help="the network's genesis.json")
    p.add_argument(
        "--peer",
        action="append",
        required=True,
        metavar="MULTIADDR",
        help="a node of the network, /ip4/HOST/tcp/PORT/p2p/PEER_ID (repeatable)",
    )
    p.add_argument("--home", required=True, type=Path, help="the new node's home (must not exist)")
    p.add_argument("--validator", action="store_true", help="create a BLS validator key")
    p.add_argument("--prover", action="store_true", help="prove tasks (creates a prover account)")
    p.add_argument(
        "--preset",
        choices=("testnet", "local"),
        default="testnet",
        help="settings: testnet (p2p on 0.0.0.0, longer timeouts; default) or local (defaults)",
    )
    p.add_argument("--p2p-port", type=int, default=None, help="p2p port (default 26656)")
    p.add_argument("--rpc-port", type=int, default=None, help="JSON-RPC port (default 8545)")
    p.add_argument(
        "--external-address",
        default=None,
        metavar="HOST[:PORT]",
        help="address announced to peers (default: the interface addresses)",
    )
    p.add_argument("--moniker", default=None, help="a name for this node in peers' views")
    p.add_argument(
        "--stake",
        default=None,
        metavar="AMOUNT",
        help="bond this much (in IVC, 18 decimals) now; needs --from-key and --rpc",
    )
    p.add_argument(
        "--from-key",
        default=None,
        metavar="KEYFILE|HEX",
        help="funded account paying the stake: a key file or a 0x private key",
    )
    p.add_argument("--rpc", default=None, metavar="URL", help="JSON-RPC URL of a network node")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class JoinPlan:
    """Everything `join` will write, checked before anything is."""

    home: Path
    genesis: Genesis
    genesis_bytes: bytes
    peers: tuple[str, ...]
    settings: dict[str, Any]


def check_home_is_new(home: Path) -> None:
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise CliError(
            f"{home} already exists and is not empty; refusing to touch an existing node home "
            f"(to restart a joined node: ivcnet node start --home {home})"
        )


def load_network_genesis(path: Path) -> tuple[Genesis, bytes]:
    """The genesis file, fully checked (proofs of possession too), and its exact bytes."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CliError(f"--genesis {path}: no such file") from None
    except OSError as exc:
        raise CliError(f"--genesis {path}: cannot read it ({exc.strerror})") from None
    try:
        genesis = Genesis.load(path)
    except GenesisError as exc:
        raise CliError(f"--genesis {path} is not a valid genesis file: {exc}") from None
    return genesis, data


def plan(args: argparse.Namespace) -> JoinPlan:
    # Imported here: p2p pulls in libp2p (half a second) that `ivcnet --help` need not pay.
    from node.config import NodeConfigError, preset_settings
    from p2p import P2PConfigError, parse_peer_addr
    from p2p.announce import parse_external_address

    check_home_is_new(args.home)
    for name in ("p2p_port", "rpc_port"):
        port = getattr(args, name)
        if port is not None and not 1 <= port <= 65535:
            raise CliError(f"--{name.replace('_', '-')} must be between 1 and 65535")
    if args.stake is not None and (args.from_key is None or args.rpc is None):
        raise CliError("--stake needs --from-key (the paying account) and --rpc (a node's URL)")
    if args.stake is not None and not (args.validator or args.prover):
        raise CliError("--stake needs --validator or --prover (what the stake is for)")
    try:
        for addr in args.peer:
            parse_peer_addr(addr)
        if args.external_address is not None:
            parse_external_address(args.external_address)
        settings = preset_settings(args.preset)
    except (P2PConfigError, NodeConfigError) as exc:
        raise CliError(str(exc)) from None
    genesis, data = load_network_genesis(args.genesis)
    settings["peers"] = list(args.peer)
    for key, value in (
        ("p2p_port", args.p2p_port),
        ("rpc_port", args.rpc_port),
        ("external_address", args.external_address),
        ("moniker", args.moniker),
    ):
        if value is not None:
            settings[key] = value
    if args.prover:
        settings["prover"] = True
    return JoinPlan(args.home, genesis, data, tuple(args.peer), settings)


@dataclass(frozen=True)
class JoinedHome:
    home: Path
    peer_id: str
    validator_key: ValidatorKey | None
    reward_key: AccountKey | None
    prover_key: AccountKey | None


def write_home(p: JoinPlan, validator: bool, prover: bool) -> JoinedHome:
    """Create the home; on any failure remove what was written (the home was new)."""
    from node.config import NodeConfigError, write_config_file
    from node.devnet import node_peer_id
    from p2p import P2PConfigError

    created = not p.home.exists()
    try:
        p.home.mkdir(parents=True, exist_ok=True)
        (p.home / GENESIS_FILE).write_bytes(p.genesis_bytes)
        peer_id = node_peer_id(p.home)
        vkey = rkey = pkey = None
        if validator:
            vkey, rkey = ValidatorKey.generate(), AccountKey.generate()
            write_key_file(p.home / VALIDATOR_KEY_FILE, vkey.to_json())
            write_key_file(p.home / REWARD_KEY_FILE, rkey.to_json())
        settings = dict(p.settings)
        if prover:
            pkey = AccountKey.generate()
            write_key_file(p.home / PROVER_KEY_FILE, pkey.to_json())
            settings["prover_address"] = to_checksum_address(pkey.address)
        write_config_file(p.home, settings)
    except BaseException as exc:
        if created:
            shutil.rmtree(p.home, ignore_errors=True)
        else:  # an empty folder given by the user: empty it again
            for child in p.home.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CliError(f"cannot write {p.home}: {exc.strerror or exc}") from None
        if isinstance(exc, NodeConfigError | P2PConfigError):
            raise CliError(str(exc)) from None
        raise
    return JoinedHome(p.home, peer_id, vkey, rkey, pkey)


def run(args: argparse.Namespace) -> int:
    p = plan(args)
    joined = write_home(p, args.validator, args.prover)
    g = p.genesis
    print(f"joined chain {g.chain_id} (genesis 0x{g.hash.hex()}) in {joined.home}")
    print(f"  peer id:    {joined.peer_id}")
    print(f"  peers:      {', '.join(p.peers)}")
    print(f"  settings:   {joined.home / 'config' / 'node.json'} (preset {args.preset})")
    if joined.validator_key is not None and joined.reward_key is not None:
        vk = joined.validator_key
        print(f"  validator:  {to_checksum_address(vk.address)}")
        print(f"    BLS public key:       0x{vk.public_key.hex()}")
        print(f"    proof of possession:  0x{vk.proof_of_possession().hex()}")
        print(f"    reward account:       {to_checksum_address(joined.reward_key.address)}")
    if joined.prover_key is not None:
        print(f"  prover account: {to_checksum_address(joined.prover_key.address)}")
    print()
    print("next steps:")
    print(f"  1. start the node (it syncs from its peers): ivcnet node start --home {joined.home}")
    staking = staking_step(args, joined)
    for line in staking:
        print(f"  {line}")
    return 0


def staking_step(args: argparse.Namespace, joined: JoinedHome) -> list[str]:
    """What to do (or what was done) to bond stake for the new keys."""
    lines: list[str] = []
    if joined.validator_key is not None:
        lines += [
            "2. bond stake for the validator key (voting power follows stake; it joins the set",
            "   a fixed number of heights after the bond commits) from a funded account:",
            f"   BLS public key 0x{joined.validator_key.public_key.hex()}",
            f"   proof of possession 0x{joined.validator_key.proof_of_possession().hex()}",
        ]
    if joined.prover_key is not None:
        lines += [
            "2. register the prover with a stake from a funded account:",
            f"   prover account {to_checksum_address(joined.prover_key.address)}",
        ]
    if not lines:
        lines = ["(a full node: it follows the chain and serves RPC; nothing to stake)"]
    return lines
