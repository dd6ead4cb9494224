"""`ivcnet prove` and `ivcnet verify`: zkVM task proofs from the command line.

    ivcnet prove prog.elf [--input-hex HEX | --input-file PATH] -o proof.bin [--profile P]
                 [--prover 0xADDRESS] [--task-id 0xTASK]
    ivcnet verify proof.bin (--elf prog.elf | --image-id ID) [--profile P] [--json]

`prove` shows its phases on stderr and ends with cycles per second and peak memory; the proof
binds the prover address and the on-chain task id (default zero for both: no task), which a
Universal Proof leaf must name. `verify` prints the proven statement (prover and task included)
and exits 1 (one `error:` line) when the proof does not verify.
The zkVM and the prover are imported inside the commands so that other commands stay fast.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from node.cli.errors import CliError
from node.cli.run_cmd import printable, read_input

MAX_PROOF_FILE = 96 << 20
PROFILES = ("conjectured", "proven")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("prove", help="run a guest and prove the run (zkVM)")
    p.add_argument("elf", type=Path, help="guest ELF")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--input-hex", metavar="HEX", help="input bytes as hex (0x optional)")
    src.add_argument("--input-file", type=Path, metavar="PATH", help="file holding the input")
    p.add_argument("-o", "--output", type=Path, required=True, help="where to write the proof")
    p.add_argument("--profile", choices=PROFILES, default="conjectured", help="FRI profile")
    p.add_argument(
        "--prover",
        metavar="0xADDRESS",
        default="0x" + "00" * 20,
        help="the 20-byte address the proof is made for (its reward goes there)",
    )
    p.add_argument(
        "--task-id",
        metavar="0xTASK",
        default="0x" + "00" * 32,
        help="the on-chain task (32 bytes) the proof answers; default zero: no task",
    )
    p.add_argument("--json", action="store_true", help="machine-readable summary on stdout")
    p.set_defaults(func=prove_command)

    v = subparsers.add_parser("verify", help="verify a zkVM task proof and print its statement")
    v.add_argument("proof", type=Path, help="proof file written by `ivcnet prove`")
    which = v.add_mutually_exclusive_group(required=True)
    which.add_argument("--elf", type=Path, help="the program the proof must be for")
    which.add_argument("--image-id", metavar="ID", help="the image id (64 hex characters)")
    v.add_argument("--profile", choices=PROFILES, help="require this FRI profile")
    v.add_argument("--json", action="store_true", help="machine-readable statement")
    v.set_defaults(func=verify_command)


def _peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _status(msg: str, start: float) -> None:
    sys.stderr.write(f"[{time.perf_counter() - start:7.2f}s] {msg}\n")
    sys.stderr.flush()


def _hex_bytes(text: str, size: int, option: str, what: str) -> bytes:
    raw = text.strip().lower().removeprefix("0x")
    if len(raw) != 2 * size or any(c not in "0123456789abcdef" for c in raw):
        raise CliError(f"{option} must be {what} ({2 * size} hex characters, 0x optional)")
    return bytes.fromhex(raw)


def _address(text: str) -> bytes:
    return _hex_bytes(text, 20, "--prover", "a 20-byte address")


def prove_command(args: argparse.Namespace) -> int:
    from execution.zkproof import ProveReport, ZkProofError, prove
    from execution.zkvm import ExecutionError, ZkvmError, image_id_hex, load_elf_file

    prover = _address(args.prover)
    task_id = _hex_bytes(args.task_id, 32, "--task-id", "a 32-byte task id")
    input_bytes = read_input(args)
    try:
        program = load_elf_file(args.elf)
    except ZkvmError as exc:
        raise CliError(f"cannot load {args.elf}: {exc}") from None
    start = time.perf_counter()
    report = ProveReport()
    try:
        proof = prove(
            program,
            input_bytes,
            args.profile,
            prover=prover,
            task_id=task_id,
            progress=lambda msg: _status(msg, start),
            report=report,
        )
    except ExecutionError as exc:
        raise CliError(f"execution failed after {exc.cycles} cycles: {exc}") from None
    except ZkProofError as exc:
        raise CliError(f"cannot prove: {exc}") from None
    elapsed = time.perf_counter() - start
    data = proof.to_bytes()
    try:
        args.output.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    st = proof.statement
    summary = {
        **st.describe(),
        "proof_file": str(args.output),
        "proof_bytes": len(data),
        "seconds": round(elapsed, 3),
        "cycles_per_second": round(st.cycles / elapsed, 1) if elapsed else None,
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "phases": {k: round(v, 3) for k, v in report.phases.items()},
    }
    _status("done", start)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"image id:   {image_id_hex(program)}")
    print(f"exit code:  {st.exit_code}")
    print(f"cycles:     {st.cycles}")
    print(f"output:     {st.output.hex() or '(empty)'}")
    print(f"prover:     0x{st.prover.hex()}")
    print(f"task:       0x{st.task_id.hex()}")
    print(f"proof:      {args.output} ({len(data)} bytes, profile {st.profile})")
    print(f"time:       {elapsed:.2f} s ({summary['cycles_per_second']} cycles/s)")
    print(f"peak RSS:   {summary['peak_rss_mib']} MiB")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    from execution.zkproof import InvalidTaskProof, verify
    from execution.zkvm import ZkvmError, image_id_hex, load_elf_file

    try:
        size = args.proof.stat().st_size
        if size > MAX_PROOF_FILE:
            raise CliError(f"{args.proof} is larger than any proof ({size} bytes)")
        data = args.proof.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {args.proof}: {exc.strerror or exc}") from None
    if args.elf is not None:
        try:
            expected = image_id_hex(load_elf_file(args.elf))
        except ZkvmError as exc:
            raise CliError(f"cannot load {args.elf}: {exc}") from None
    else:
        expected = args.image_id.strip().lower().removeprefix("0x")
        if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
            raise CliError("--image-id must be 64 hex characters")
    start = time.perf_counter()
    try:
        st = verify(data, expected, profile=args.profile)
    except InvalidTaskProof as exc:
        raise CliError(f"proof rejected: {exc}") from None
    ms = (time.perf_counter() - start) * 1000.0
    if args.json:
        print(json.dumps({**st.describe(), "verified": True, "verify_ms": round(ms, 1)}))
        return 0
    text = printable(st.output)
    print("verified")
    print(f"image id:   {st.image_id.hex()}")
    print(f"input:      digest {st.input_digest.hex()}")
    print(f"exit code:  {st.exit_code}")
    print(f"cycles:     {st.cycles}")
    print(f"output:     {st.output.hex() or '(empty)'}" + (f" {text!r}" if text else ""))
    print(f"profile:    {st.profile}")
    print(f"prover:     0x{st.prover.hex()}")
    print(f"task:       0x{st.task_id.hex()}")
    print(f"verify:     {ms:.1f} ms")
    return 0
