"""`ivcnet prove` / `ivcnet verify` as a user runs them: real subprocesses, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from execution.zkproof.samples import fib_loop_program, fib_loop_result, program_elf, words_program
from execution.zkvm import image_id_hex

PROVER = "0x" + "ab" * 20
TASK = "0x" + "cd" * 32


def ivcnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def proven(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    d = tmp_path_factory.mktemp("prove")
    program = fib_loop_program(12)
    elf = d / "fib.elf"
    elf.write_bytes(program_elf(program))
    proof = d / "fib.proof"
    out = ivcnet(
        "prove",
        str(elf),
        "--input-hex",
        "0x0102",
        "-o",
        str(proof),
        "--json",
        "--prover",
        PROVER,
        "--task-id",
        TASK,
    )
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["prover"] == PROVER and info["task_id"] == TASK
    assert (info["exit_code"], info["cycles"]) == fib_loop_result(12)
    assert info["proof_bytes"] == proof.stat().st_size
    assert info["cycles_per_second"] > 0 and info["peak_rss_mib"] > 0
    assert "proving" in out.stderr and "done" in out.stderr  # progress lines
    return elf, proof, image_id_hex(program)


def test_verify_by_elf_and_by_image_id(proven: tuple[Path, Path, str]) -> None:
    elf, proof, image = proven
    by_elf = ivcnet("verify", str(proof), "--elf", str(elf))
    assert by_elf.returncode == 0, by_elf.stderr
    assert "verified" in by_elf.stdout
    assert f"exit code:  {fib_loop_result(12)[0]}" in by_elf.stdout
    assert f"prover:     {PROVER}" in by_elf.stdout
    assert f"task:       {TASK}" in by_elf.stdout
    by_id = ivcnet("verify", str(proof), "--image-id", image, "--json")
    assert by_id.returncode == 0, by_id.stderr
    info = json.loads(by_id.stdout)
    assert info["verified"] and info["image_id"] == image
    assert info["cycles"] == fib_loop_result(12)[1]
    assert info["prover"] == PROVER and info["task_id"] == TASK


def test_verify_rejects_other_program_tampered_file_and_wrong_profile(
    proven: tuple[Path, Path, str], tmp_path: Path
) -> None:
    elf, proof, _ = proven
    other = tmp_path / "other.elf"
    other.write_bytes(program_elf(fib_loop_program(13)))
    wrong = ivcnet("verify", str(proof), "--elf", str(other))
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: proof rejected")
    data = bytearray(proof.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad = tmp_path / "bad.proof"
    bad.write_bytes(bytes(data))
    flipped = ivcnet("verify", str(bad), "--elf", str(elf))
    assert flipped.returncode == 1 and "Traceback" not in flipped.stderr
    prof = ivcnet("verify", str(proof), "--elf", str(elf), "--profile", "proven")
    assert prof.returncode == 1 and "profile" in prof.stderr


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    out = tmp_path / "p.bin"
    # A run that faults (an illegal instruction word) cannot be proven.
    faulting = tmp_path / "fault.elf"
    faulting.write_bytes(program_elf(words_program([0xFFFF_FFFF])))
    refused = ivcnet("prove", str(faulting), "-o", str(out))
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) >= 1 and lines[-1].startswith("error:") and "Traceback" not in refused.stderr
    assert not out.exists()
    bad_input = ivcnet("prove", str(faulting), "--input-hex", "zz", "-o", str(out))
    assert bad_input.returncode == 1 and bad_input.stderr.strip().startswith("error:")
    missing = ivcnet("verify", str(tmp_path / "nope.bin"), "--image-id", "00" * 32)
    assert missing.returncode == 1 and missing.stderr.startswith("error: cannot read")
    bad_id = ivcnet("verify", str(tmp_path / "nope.bin"), "--image-id", "xyz")
    assert bad_id.returncode == 1
    elf = tmp_path / "fib.elf"
    elf.write_bytes(program_elf(fib_loop_program(1)))
    bad_prover = ivcnet("prove", str(elf), "-o", str(out), "--prover", "0x1234")
    assert bad_prover.returncode == 1 and bad_prover.stderr.startswith("error: --prover")
    assert not out.exists()
    bad_task = ivcnet("prove", str(elf), "-o", str(out), "--task-id", "0x12")
    assert bad_task.returncode == 1 and bad_task.stderr.startswith("error: --task-id")
    assert not out.exists()
