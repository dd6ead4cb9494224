"""`ivcnet keys`: create and show account (secp256k1) and validator (BLS12-381) keys."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genesis import AccountKey, GenesisError, ValidatorKey, read_key_file, to_checksum_address
from genesis.keys import write_key_file
from node.cli.errors import CliError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("keys", help="create and show keys")
    sub = p.add_subparsers(dest="keys_command", metavar="SUBCOMMAND", required=True)
    new = sub.add_parser("new", help="create a key file")
    new.add_argument("--type", choices=("account", "validator"), default="account")
    new.add_argument("--out", type=Path, required=True, help="file to write (refused if it exists)")
    new.set_defaults(func=run_new)
    show = sub.add_parser("show", help="print the public part of a key file")
    show.add_argument("file", type=Path)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=run_show)


def run_new(args: argparse.Namespace) -> int:
    if args.out.exists():
        raise CliError(f"{args.out} already exists; refusing to overwrite a key")
    key: AccountKey | ValidatorKey = (
        AccountKey.generate() if args.type == "account" else ValidatorKey.generate()
    )
    try:
        write_key_file(args.out, key.to_json())
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    _print_public(key, as_json=False)
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        key = read_key_file(args.file)
    except GenesisError as exc:
        raise CliError(str(exc)) from None
    _print_public(key, as_json=args.json)
    return 0


def _print_public(key: AccountKey | ValidatorKey, as_json: bool) -> None:
    if isinstance(key, AccountKey):
        info = {"type": "secp256k1", "address": to_checksum_address(key.address)}
    else:
        info = {
            "type": "bls12-381",
            "address": to_checksum_address(key.address),
            "public_key": "0x" + key.public_key.hex(),
            "proof_of_possession": "0x" + key.proof_of_possession().hex(),
        }
    if as_json:
        print(json.dumps(info))
    else:
        for name, value in info.items():
            print(f"{name}: {value}")
