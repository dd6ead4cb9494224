"""`ivcnet guest build`: compile C guests for the zkVM with the ziglang package."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.errors import CliError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("guest", help="build guest programs")
    sub = p.add_subparsers(dest="guest_command", metavar="SUBCOMMAND", required=True)
    build = sub.add_parser("build", help="compile C sources into a zkVM guest ELF")
    build.add_argument("sources", type=Path, nargs="+", help=".c (or .S) files")
    build.add_argument("-o", "--output", type=Path, required=True, help="ELF file to write")
    build.add_argument(
        "-O",
        dest="opt",
        default="2",
        choices=("0", "1", "2", "3", "s", "z"),
        help="optimisation level (default 2)",
    )
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    # Imported here: loading numba and the zkVM is not needed by other commands.
    from execution.zkvm import ZkvmError, build_guest, image_id_hex, load_elf_file

    if args.output.parent and not args.output.parent.exists():
        raise CliError(f"output directory {args.output.parent} does not exist")
    try:
        path = build_guest(args.sources, args.output, opt_level=f"-O{args.opt}")
        program = load_elf_file(path)
    except ZkvmError as exc:
        raise CliError(str(exc)) from None
    size = path.stat().st_size
    print(f"built {path} ({size} bytes, {len(program.rom)} instructions of ROM)")
    print(f"image id: {image_id_hex(program)}")
    return 0
