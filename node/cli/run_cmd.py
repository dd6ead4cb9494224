"""`ivcnet run`: execute a guest ELF on the zkVM and print exit code, output and cycles."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.cli.errors import CliError

MAX_INPUT_BYTES = 64 << 20
# execution.zkvm.DEFAULT_MAX_CYCLES, repeated so that `ivcnet --help` and every other command
# do not pay for importing numba and the zkVM (a test checks the two agree).
DEFAULT_MAX_CYCLES = 1 << 24


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("run", help="execute a guest program (no proof)")
    p.add_argument("elf", type=Path, help="guest ELF built by `ivcnet guest build`")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input-hex", metavar="HEX", help="input bytes as hex (0x optional)")
    src.add_argument("--input-file", type=Path, metavar="PATH", help="file holding the input")
    p.add_argument(
        "--max-cycles",
        type=int,
        default=DEFAULT_MAX_CYCLES,
        help=f"stop with an error after this many instructions (default {DEFAULT_MAX_CYCLES})",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def read_input(args: argparse.Namespace) -> bytes:
    if args.input_hex is not None:
        text = args.input_hex.strip()
        text = text[2:] if text[:2].lower() == "0x" else text
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise CliError("--input-hex is not valid hex (two digits per byte)") from None
    if args.input_file is not None:
        try:
            size = args.input_file.stat().st_size
            if size > MAX_INPUT_BYTES:
                raise CliError(f"input file of {size} bytes is larger than {MAX_INPUT_BYTES}")
            data: bytes = args.input_file.read_bytes()
            return data
        except OSError as exc:
            raise CliError(f"cannot read {args.input_file}: {exc.strerror or exc}") from None
    return b""


def printable(data: bytes) -> str | None:
    """The output as text if it is non-empty printable UTF-8, else None."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(c.isprintable() or c in "\n\t\r" for c in text):
        return text
    return None


def run(args: argparse.Namespace) -> int:
    from execution.zkvm import ExecutionError, ZkvmError, execute, image_id_hex, load_elf_file

    if args.max_cycles <= 0:
        raise CliError("--max-cycles must be positive")
    input_bytes = read_input(args)
    try:
        program = load_elf_file(args.elf)
    except ZkvmError as exc:
        raise CliError(f"cannot load {args.elf}: {exc}") from None
    try:
        result = execute(program, input_bytes, max_cycles=args.max_cycles)
    except ExecutionError as exc:
        raise CliError(f"execution failed after {exc.cycles} cycles: {exc}") from None
    if result.log:
        sys.stderr.write(result.log.decode("utf-8", errors="replace"))
        if not result.log.endswith(b"\n"):
            sys.stderr.write("\n")
    text = printable(result.output)
    if args.json:
        info = {
            "exit_code": result.exit_code,
            "cycles": result.cycles,
            "output_hex": result.output.hex(),
            "output_text": text,
            "image_id": image_id_hex(program),
        }
        print(json.dumps(info))
        return 0
    print(f"exit code: {result.exit_code}")
    print(f"cycles:    {result.cycles}")
    print(f"output:    {len(result.output)} bytes")
    print(f"  hex:     {result.output.hex()}")
    if text is not None:
        print(f"  text:    {text!r}")
    print(f"image id:  {image_id_hex(program)}")
    return 0
