"""`ivcnet guest build`: compile C or Zig guests with the ziglang package.

A user needs nothing but pip: `python -m ziglang cc` is a complete cross compiler and
linker, and zig's compiler-rt supplies memcpy/memset and 64-bit division helpers. A Zig guest
(one root .zig file, optionally with C/assembly files) is built by `zig build-exe` with the
SDK's Zig module (sdk/ivcnet.zig) importable as "ivcnet", and the same start file and
linker script as C guests.
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


# zig build-exe's optimisation modes for the C-style levels.
ZIG_MODES = {
    "-O0": "Debug",
    "-O1": "ReleaseSafe",
    "-O2": "ReleaseFast",
    "-O3": "ReleaseFast",
    "-Os": "ReleaseSmall",
    "-Oz": "ReleaseSmall",
}


def zig_command(
    root: str | Path, others: Sequence[str | Path], output: str | Path, *, opt_level: str = "-O2"
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "ziglang",
        "build-exe",
        "-target",
        TARGET,
        f"-mcpu={CPU}",
        "-O",
        ZIG_MODES[opt_level],
        "-fstrip",
        "-fno-unwind-tables",
        "-z",
        "max-page-size=16",
        "--build-id=none",
        "-I",
        str(SDK_DIR),
        str(SDK_DIR / "start.S"),
        *(str(s) for s in others),
        "--dep",
        "ivcnet",
        f"-Mroot={root}",
        f"-Mivcnet={SDK_DIR / 'ivcnet.zig'}",
        "-T",
        str(SDK_DIR / "link.ld"),
        f"-femit-bin={output}",
    ]


def build_guest(
    sources: Sequence[str | Path], output: str | Path, *, opt_level: str = "-O2"
) -> Path:
    """Compile and link guest sources (.c/.S, or one .zig plus optional .c/.S) into an ELF
    at `output`; return its path."""
    if not sources:
        raise ToolchainError("no source files given")
    for src in sources:
        p = Path(src)
        if not p.is_file():
            raise ToolchainError(f"source file not found: {p}")
        if p.suffix not in (".c", ".S", ".s", ".zig"):
            raise ToolchainError(f"unsupported source type {p.suffix!r} (expected .c, .S or .zig)")
    if opt_level not in ZIG_MODES:
        raise ToolchainError(f"unknown optimisation level {opt_level!r}")
    zig_roots = [s for s in sources if Path(s).suffix == ".zig"]
    if len(zig_roots) > 1:
        raise ToolchainError("a Zig guest has one root .zig file (import the others from it)")
    if zig_roots:
        others = [s for s in sources if Path(s).suffix != ".zig"]
        cmd = zig_command(zig_roots[0], others, output, opt_level=opt_level)
    else:
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
