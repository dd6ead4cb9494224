"""`ivcnet guest build` and `ivcnet run` as a user runs them: real subprocesses."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from execution.zkvm.examples import example_elf

HELLO = r"""
#include "ivcnet.h"
int main(void) {
    static const char msg[] = "hello, zkvm";
    ivc_log_str("guest says hi");
    ivc_write_output(msg, sizeof msg - 1);
    return 3;
}
"""


def ivcnet(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_build_then_run_prints_exit_code_output_and_cycles(tmp_path: Path) -> None:
    src = tmp_path / "hello.c"
    src.write_text(HELLO)
    elf = tmp_path / "hello.elf"
    built = ivcnet("guest", "build", str(src), "-o", str(elf))
    assert built.returncode == 0, built.stderr
    assert "image id:" in built.stdout and elf.is_file()

    ran = ivcnet("run", str(elf))
    assert ran.returncode == 0, ran.stderr
    assert "exit code: 3" in ran.stdout
    assert "cycles:" in ran.stdout
    assert "hex:     " + b"hello, zkvm".hex() in ran.stdout
    assert "'hello, zkvm'" in ran.stdout
    assert "guest says hi" in ran.stderr  # the log goes to stderr


def test_run_with_hex_and_file_input(tmp_path: Path) -> None:
    elf = str(example_elf("sha256"))
    data = b"The quick brown fox"
    by_hex = ivcnet("run", elf, "--input-hex", "0x" + data.hex(), "--json")
    assert by_hex.returncode == 0, by_hex.stderr
    info = json.loads(by_hex.stdout)
    assert info["output_hex"] == hashlib.sha256(data).hexdigest()
    assert info["exit_code"] == 0 and info["cycles"] > 1000 and len(info["image_id"]) == 64
    path = tmp_path / "input.bin"
    path.write_bytes(data)
    by_file = ivcnet("run", elf, "--input-file", str(path), "--json")
    assert json.loads(by_file.stdout) == info


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    bad_elf = tmp_path / "bad.elf"
    bad_elf.write_bytes(b"\x7fELF" + bytes(10))
    bad_c = tmp_path / "bad.c"
    bad_c.write_text("int main(void) { return undefined_name; }\n")
    cases = [
        (("run", str(bad_elf)), "truncated"),
        (("run", str(tmp_path / "missing.elf")), "cannot read"),
        (("run", str(example_elf("sha256")), "--input-hex", "xyz"), "not valid hex"),
        (
            ("run", str(example_elf("sieve")), "--input-hex", "40420f00", "--max-cycles", "1000"),
            "cycle limit",
        ),
        (("guest", "build", str(bad_c), "-o", str(tmp_path / "x.elf")), "compilation failed"),
        (("guest", "build", str(tmp_path / "nope.c"), "-o", str(tmp_path / "x.elf")), "not found"),
    ]
    for args, fragment in cases:
        proc = ivcnet(*args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert proc.stderr.startswith("error:") and fragment in proc.stderr, proc.stderr


def test_faulting_guest_reports_pc(tmp_path: Path) -> None:
    src = tmp_path / "fault.c"
    src.write_text(
        '#include "ivcnet.h"\n'
        "int main(void) { volatile uint32_t *p = (uint32_t *)0x10000; *p = 1; return 0; }\n"
    )
    elf = tmp_path / "fault.elf"
    assert ivcnet("guest", "build", str(src), "-o", str(elf)).returncode == 0
    proc = ivcnet("run", str(elf))
    assert proc.returncode == 1
    assert "store to program ROM" in proc.stderr and "pc=0x" in proc.stderr


def test_cli_default_cycle_limit_matches_executor() -> None:
    from execution.zkvm import DEFAULT_MAX_CYCLES
    from node.cli.run_cmd import DEFAULT_MAX_CYCLES as CLI_DEFAULT

    assert CLI_DEFAULT == DEFAULT_MAX_CYCLES
