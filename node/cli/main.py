"""The `ivcnet` entry point: one argparse tree, one module per command group.

Each module named in COMMAND_MODULES exposes `register(subparsers)`, which adds its
sub-command(s) and sets `func` (taking the parsed namespace, returning an exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from node.cli.errors import CliError

COMMAND_MODULES: tuple[str, ...] = (
    "node.cli.init_cmd",
    "node.cli.join_cmd",
    "node.cli.keys_cmd",
    "node.cli.run_cmd",
    "node.cli.guest_cmd",
    "node.cli.prove_cmd",
    "node.cli.node_cmd",
    "node.cli.task_cmd",
    "node.cli.verify_block_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ivcnet",
        description="ivcnet: a verifiable-compute blockchain node.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
