"""`ivcnet node start` and `ivcnet devnet`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.cli.errors import CliError

TIMEOUT_OPTIONS = ("propose", "prevote", "precommit")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    node = subparsers.add_parser("node", help="run a node", description="Run an ivcnet node.")
    node_sub = node.add_subparsers(dest="node_command", metavar="COMMAND")
    start = node_sub.add_parser(
        "start",
        help="start a validator or full node from its home folder",
        description="Start a node from HOME (genesis.json; config/validator_key.json makes it a "
        "validator). Logs go to HOME/data/node.log. Stops cleanly on SIGINT/SIGTERM.",
    )
    start.add_argument("--home", required=True, type=Path, help="the node's home folder")
    start.add_argument("--rpc-port", type=int, default=None, help="JSON-RPC port (default 8545)")
    start.add_argument("--p2p-port", type=int, default=None, help="p2p port (default 26656)")
    start.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="MULTIADDR",
        help="persistent peer /ip4/HOST/tcp/PORT/p2p/PEER_ID (repeatable)",
    )
    start.add_argument(
        "--seed",
        action="append",
        default=[],
        metavar="MULTIADDR",
        help="peer dialed once at start, not kept (repeatable)",
    )
    start.add_argument(
        "--rpc-host", default=None, help="JSON-RPC listen address (default 127.0.0.1)"
    )
    start.add_argument(
        "--p2p-host", default=None, help="p2p listen address (127.0.0.1; 0.0.0.0 for all)"
    )
    start.add_argument(
        "--external-address",
        default=None,
        metavar="HOST[:PORT]",
        help="address announced to peers (needed behind NAT; default: the listen address, "
        "or every interface address when listening on 0.0.0.0)",
    )
    start.add_argument(
        "--admin-rpc",
        action="store_true",
        default=None,
        help="serve ivc_adminBlockPeer/ivc_adminUnblockPeer (loopback tests and operators)",
    )
    start.add_argument(
        "--prover",
        action="store_true",
        default=None,
        help="also prove tasks (docs/proving.md); rewards go to --prover-address",
    )
    start.add_argument(
        "--prover-address",
        default=None,
        metavar="ADDRESS",
        help="account paid for this node's proofs (default: the validator's reward address)",
    )
    start.add_argument(
        "--prover-workers",
        type=int,
        default=None,
        metavar="N",
        help="proofs run at once, each in its own process (default: one per core)",
    )
    # Test only: a malicious prover whose proofs every honest pool must reject.
    start.add_argument("--prover-fault", default=None, help=argparse.SUPPRESS)
    _timing_options(start)
    start.set_defaults(func=run_start)
    node.set_defaults(func=lambda args: _help(node))

    devnet = subparsers.add_parser(
        "devnet",
        help="run a local multi-validator chain",
        description="Initialize a local chain in --home if it has none, then start every "
        "validator as its own process on 127.0.0.1; Ctrl-C stops them all.",
    )
    devnet.add_argument("--validators", type=int, default=4, help="number of validators (4)")
    devnet.add_argument(
        "--provers", type=int, default=2, help="number of prover nodes (2; 0 for none)"
    )
    devnet.add_argument(
        "--no-demo",
        dest="demo",
        action="store_false",
        help="do not deploy the demo program and submit its task",
    )
    devnet.add_argument(
        "--universal-version",
        type=int,
        choices=(0, 1),
        default=0,
        help="Universal Proof format of a new chain: 0 (proof tree, default) or 1 "
        "(one recursion root per block; roots take minutes)",
    )
    devnet.add_argument("--home", type=Path, default=Path(".devnet"), help="folder (./.devnet)")
    devnet.add_argument("--base-rpc-port", type=int, default=8545, help="node i: port + i")
    devnet.add_argument("--base-p2p-port", type=int, default=26656, help="node i: port + i")
    _timing_options(devnet)
    devnet.set_defaults(func=run_devnet_cmd)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _timing_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--block-interval", type=float, default=None, help="seconds between blocks (1.0)"
    )
    for name in TIMEOUT_OPTIONS:
        p.add_argument(
            f"--timeout-{name}", type=float, default=None, help=f"{name} timeout, seconds"
        )


def _timing_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {"block_interval": args.block_interval}
    for name in TIMEOUT_OPTIONS:
        values[f"timeout_{name}"] = getattr(args, f"timeout_{name}")
    return values


def _timing_argv(args: argparse.Namespace) -> list[str]:
    out: list[str] = []
    for key, value in _timing_values(args).items():
        if value is not None:
            out += [f"--{key.replace('_', '-')}", str(value)]
    return out


def _check_port(port: int | None, name: str) -> None:
    if port is not None and not 0 <= port <= 65535:
        raise CliError(f"{name} must be between 0 and 65535")


def run_start(args: argparse.Namespace) -> int:
    # Imported here: the node pulls in libp2p, hypercorn and the chain (about a second).
    from node.config import NodeConfigError, load_config
    from node.logs import setup_logging
    from node.node import run_node
    from p2p import P2PConfigError, parse_peer_addr
    from p2p.announce import parse_external_address

    _check_port(args.rpc_port, "--rpc-port")
    _check_port(args.p2p_port, "--p2p-port")
    if not args.home.is_dir():
        raise CliError(f"{args.home}: no such node home folder")
    try:
        for addr in (*args.peer, *args.seed):
            parse_peer_addr(addr)
        if args.external_address is not None:
            parse_external_address(args.external_address)
        config = load_config(
            args.home,
            rpc_port=args.rpc_port,
            p2p_port=args.p2p_port,
            peers=tuple(args.peer) or None,
            seeds=tuple(args.seed) or None,
            p2p_host=args.p2p_host,
            rpc_host=args.rpc_host,
            external_address=args.external_address,
            admin_rpc=args.admin_rpc,
            prover=args.prover,
            prover_address=args.prover_address,
            prover_workers=args.prover_workers,
            prover_fault=args.prover_fault,
            **_timing_values(args),
        )
        setup_logging(config.log_path, config.log_level)
        run_node(config)
    except (NodeConfigError, P2PConfigError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{exc}") from None
    return 0


def run_devnet_cmd(args: argparse.Namespace) -> int:
    from node.devnet import DevnetError, run_devnet

    if not 1 <= args.validators <= 64:
        raise CliError("--validators must be between 1 and 64")
    if not 0 <= args.provers <= 16:
        raise CliError("--provers must be between 0 and 16")
    for name in ("base_rpc_port", "base_p2p_port"):
        port = getattr(args, name)
        if not 1 <= port <= 65535 - args.validators - args.provers:
            raise CliError(f"--{name.replace('_', '-')} must leave room for every node")
    try:
        return run_devnet(
            args.home,
            args.validators,
            args.base_rpc_port,
            args.base_p2p_port,
            _timing_argv(args),
            provers=args.provers,
            demo=args.demo,
            universal_version=args.universal_version,
        )
    except DevnetError as exc:
        raise CliError(str(exc)) from None
