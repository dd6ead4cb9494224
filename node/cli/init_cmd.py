"""`ivcnet init`: create a local chain (genesis, validator homes, funded accounts)."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesis import Genesis, GenesisError, init_local_chain, to_checksum_address
from genesis.home import ACCOUNTS_FILE, GENESIS_FILE
from node.cli.errors import CliError


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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.validators < 1 or args.validators > 150:
        raise CliError("--validators must be between 1 and 150")
    if args.accounts < 0 or args.accounts > 100_000:
        raise CliError("--accounts must be between 0 and 100000")
    try:
        chain = init_local_chain(
            args.home, args.chain_id, args.validators, args.accounts, eth_chain_id=args.eth_chain_id
        )
        # Load it back exactly as a node would, proofs of possession included.
        Genesis.load(args.home / GENESIS_FILE)
    except GenesisError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.home}: {exc.strerror}") from None
    g = chain.genesis
    print(f"created chain {g.chain_id} (eth chain id {g.eth_chain_id}) in {args.home}")
    print(f"  genesis:    {args.home / GENESIS_FILE}  (hash 0x{g.hash.hex()})")
    print(f"  accounts:   {args.home / ACCOUNTS_FILE}  ({len(g.accounts)} funded, keep it secret)")
    for i, v in enumerate(g.validators):
        print(f"  validator {i}: {chain.node_home(i)}  address {to_checksum_address(v.address)}")
    return 0
