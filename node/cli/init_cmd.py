"""`ivcnet init`: create a local chain (genesis, validator homes, funded accounts)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from genesis import Genesis, GenesisError, LocalChain, init_local_chain, to_checksum_address
from genesis.home import ACCOUNTS_FILE, GENESIS_FILE
from node.cli.errors import CliError
from node.config import NodeConfigError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "init",
        help="create a local chain: genesis file, validator homes and funded accounts",
        description="Create a new chain in --home: genesis.json, accounts.json (funded account "
        "keys) and one node<i>/ home per validator with its BLS key.",
    )
    p.add_argument("--home", required=True, type=Path, help="folder to create the chain in")
    p.add_argument("--chain-id", default="ivc-devnet", help="chain name (default ivc-devnet)")
    p.add_argument(
        "--eth-chain-id",
        type=int,
        default=None,
        help="EIP-155 chain id (default: derived from the name)",
    )
    p.add_argument("--validators", type=int, default=4, help="number of validators (default 4)")
    p.add_argument(
        "--accounts", type=int, default=10, help="number of funded accounts (default 10)"
    )
    p.add_argument(
        "--preset",
        choices=("local", "testnet"),
        default="local",
        help="local: no settings file (defaults, all on 127.0.0.1); testnet: each node<i> gets "
        "config/node.json for its own host (p2p on 0.0.0.0, longer timeouts, every other "
        "validator as a persistent peer); see docs/joining.md",
    )
    p.add_argument(
        "--hosts",
        default=None,
        metavar="IP,IP,...",
        help="testnet: validator i's IPv4 address, one per validator (default: 127.0.0.1 for "
        "all); nodes sharing a host get consecutive ports",
    )
    p.add_argument(
        "--p2p-port", type=int, default=26656, help="testnet: first p2p port (default 26656)"
    )
    p.add_argument(
        "--rpc-port", type=int, default=8545, help="testnet: first JSON-RPC port (default 8545)"
    )
    p.set_defaults(func=run)


@dataclass(frozen=True)
class TestnetNode:
    host: str
    p2p_port: int
    rpc_port: int


def testnet_layout(args: argparse.Namespace) -> list[TestnetNode]:
    """Each validator's host and ports; CliError for a bad --hosts or port."""
    from p2p import P2PConfigError
    from p2p.announce import parse_external_address

    count = args.validators
    hosts = [h.strip() for h in (args.hosts or "").split(",") if h.strip()] or ["127.0.0.1"]
    if len(hosts) == 1:
        hosts = hosts * count
    if len(hosts) != count:
        raise CliError(f"--hosts names {len(hosts)} hosts for {count} validators")
    for host in hosts:
        try:
            parse_external_address(host)
        except P2PConfigError as exc:
            raise CliError(f"--hosts: {exc}") from None
        if ":" in host:
            raise CliError(f"--hosts: {host!r} must be an address without a port")
    for name in ("p2p_port", "rpc_port"):
        if not 1 <= getattr(args, name) <= 65535 - count:
            raise CliError(f"--{name.replace('_', '-')} must leave room for every node")
    out = []
    for i, host in enumerate(hosts):
        offset = hosts[:i].count(host)
        out.append(TestnetNode(host, args.p2p_port + offset, args.rpc_port + offset))
    return out


def write_testnet_configs(chain: LocalChain, layout: list[TestnetNode]) -> list[str]:
    """node<i>/config/node.json for every validator; returns their peer addresses."""
    from node.config import preset_settings, write_config_file
    from node.devnet import node_peer_id

    addrs = [
        f"/ip4/{n.host}/tcp/{n.p2p_port}/p2p/{node_peer_id(chain.node_home(i))}"
        for i, n in enumerate(layout)
    ]
    for i, n in enumerate(layout):
        settings = preset_settings("testnet")
        settings.update(
            p2p_port=n.p2p_port,
            rpc_port=n.rpc_port,
            external_address=n.host,
            moniker=f"node{i}",
            peers=[a for j, a in enumerate(addrs) if j != i],
        )
        write_config_file(chain.node_home(i), settings)
    return addrs


def run(args: argparse.Namespace) -> int:
    if args.validators < 1 or args.validators > 150:
        raise CliError("--validators must be between 1 and 150")
    if args.accounts < 0 or args.accounts > 100_000:
        raise CliError("--accounts must be between 0 and 100000")
    if args.hosts is not None and args.preset != "testnet":
        raise CliError("--hosts is for --preset testnet")
    layout = testnet_layout(args) if args.preset == "testnet" else None
    try:
        chain = init_local_chain(
            args.home, args.chain_id, args.validators, args.accounts, eth_chain_id=args.eth_chain_id
        )
        # Load it back exactly as a node would, proofs of possession included.
        Genesis.load(args.home / GENESIS_FILE)
        addrs = write_testnet_configs(chain, layout) if layout is not None else None
    except (GenesisError, NodeConfigError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.home}: {exc.strerror}") from None
    g = chain.genesis
    print(f"created chain {g.chain_id} (eth chain id {g.eth_chain_id}) in {args.home}")
    print(f"  genesis:    {args.home / GENESIS_FILE}  (hash 0x{g.hash.hex()})")
    print(f"  accounts:   {args.home / ACCOUNTS_FILE}  ({len(g.accounts)} funded, keep it secret)")
    for i, v in enumerate(g.validators):
        print(f"  validator {i}: {chain.node_home(i)}  address {to_checksum_address(v.address)}")
        if addrs is not None:
            print(f"    p2p: {addrs[i]}")
    if addrs is not None:
        print("testnet: copy node<i>/ to validator i's host and run there:")
        print("  ivcnet node start --home node<i>")
        print("  (its p2p port must be reachable from the other hosts; RPC stays on 127.0.0.1)")
        print(
            f"newcomers join with: ivcnet join --genesis genesis.json --peer {addrs[0]} --home DIR"
        )
    return 0
