"""The example guests shipped with the SDK (guests/*.c and their checked-in *.elf).

`python -m execution.zkvm.examples` rebuilds every checked-in ELF from its source with the
same toolchain `ivcnet guest build` uses; a test checks the checked-in files are up to date.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from execution.zkvm.toolchain import GUESTS_DIR, build_guest

EXAMPLE_GUESTS: tuple[str, ...] = (
    "fibonacci",
    "sha256",
    "sort",
    "matmul",
    "sieve",
    "rv32im",
    "collatz_zig",
)


def example_source(name: str) -> Path:
    """guests/<name>.c, or guests/<name>.zig for the Zig examples."""
    c_source = GUESTS_DIR / f"{name}.c"
    return c_source if c_source.exists() else GUESTS_DIR / f"{name}.zig"


def example_elf(name: str) -> Path:
    return GUESTS_DIR / f"{name}.elf"


# The zig version that built the checked-in ELFs: byte-for-byte reproducibility is only
# expected from the same compiler.
ZIG_VERSION_FILE = GUESTS_DIR / "zig-version.txt"


def zig_version() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True, timeout=60
    )
    return proc.stdout.strip()


def build_examples(out_dir: Path = GUESTS_DIR) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    built = [build_guest([example_source(n)], out_dir / f"{n}.elf") for n in EXAMPLE_GUESTS]
    if out_dir == GUESTS_DIR:
        ZIG_VERSION_FILE.write_text(zig_version() + "\n")
    return built


def main() -> int:
    for path in build_examples():
        print(f"built {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
