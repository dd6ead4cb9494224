"""`ivcnet guest build`: compile C guests with the ziglang package's clang.

A user needs nothing but pip: `python -m ziglang cc` is a complete cross compiler and
linker, and zig's compiler-rt supplies memcpy/memset and 64-bit division helpers.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from execution.zkvm.errors import ToolchainError

SDK_DIR = Path(__file__).resolve().parent / "sdk"
GUESTS_DIR = Path(__file__).resolve().parent / "guests"
TARGET = "riscv32-freestanding-none"
CPU = "generic_rv32+m"
BUILD_TIMEOUT_S = 600.0

# Flags that make the output small and reproducible: no debug info, no unwind tables,
# no build id, symbols stripped.
BASE_FLAGS: tuple[str, ...] = (
    "-target",
    TARGET,
    f"-mcpu={CPU}",
    "-ffreestanding",
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-fno-stack-protector",
    "-g0",
    "-s",
    "-Wall",
    "-Wl,--build-id=none",
    # Segments need no page alignment (nothing is mmapped): keeps the files a few KiB.
    "-Wl,-z,max-page-size=16",
)


def compiler_command(
    sources: Sequence[str | Path], output: str | Path, *, opt_level: str = "-O2"
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        *BASE_FLAGS,
        opt_level,
        "-I",
        str(SDK_DIR),
        "-T",
        str(SDK_DIR / "link.ld"),
        str(SDK_DIR / "start.S"),
        *(str(s) for s in sources),
        "-o",
        str(output),
    ]


def build_guest(
    sources: Sequence[str | Path], output: str | Path, *, opt_level: str = "-O2"
) -> Path:
    """Compile and link C guest sources into an ELF at `output`; return its path."""
    if not sources:
        raise ToolchainError("no source files given")
    for src in sources:
        p = Path(src)
        if not p.is_file():
            raise ToolchainError(f"source file not found: {p}")
        if p.suffix not in (".c", ".S", ".s"):
            raise ToolchainError(f"unsupported source type {p.suffix!r} (expected .c or .S)")
    if opt_level not in ("-O0", "-O1", "-O2", "-O3", "-Os", "-Oz"):
        raise ToolchainError(f"unknown optimisation level {opt_level!r}")
    cmd = compiler_command(sources, output, opt_level=opt_level)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except FileNotFoundError as exc:
        raise ToolchainError(f"cannot start the compiler: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolchainError(f"compiler did not finish within {BUILD_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise ToolchainError(f"compilation failed:\n{detail}")
    return Path(output)
