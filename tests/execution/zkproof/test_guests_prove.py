"""Every example guest proves end to end: the verified statement equals the executor's run.

The guests are compiled C and Zig (execution/zkvm/guests/): together they execute every
RV32IM instruction class, byte and half-word memory, signed and unsigned division, and the
read_input / write_output / log syscalls. One runs by default; the rest are slow.
"""

from __future__ import annotations

import struct

import pytest

from execution.zkproof import prove, verify
from execution.zkvm.elf_loader import load_elf
from execution.zkvm.examples import example_elf
from execution.zkvm.executor import execute

_MATRICES = struct.pack("<I", 2) + struct.pack("<8i", 1, 2, 3, 4, 5, 6, 7, -8)
CASES: dict[str, bytes] = {
    "sort": struct.pack("<6i", 5, -3, 9, 0, 2, -(1 << 31)),
    "matmul": _MATRICES,
    "rv32im": b"",
    "fibonacci": struct.pack("<I", 10),
    "sha256": b"abc",
    "sieve": struct.pack("<I", 100),
    "collatz_zig": struct.pack("<I", 27),
    "rv32im-pairs": struct.pack("<4I", 7, 3, 0x8000_0000, 0xFFFF_FFFF),
}


def _check(name: str) -> None:
    data = CASES[name]
    program = load_elf(example_elf(name.split("-")[0]).read_bytes())
    run = execute(program, data)
    st = verify(prove(program, data).to_bytes(), program)
    assert (st.exit_code, st.output, st.cycles) == (run.exit_code, run.output, run.cycles)
    assert st.exit_code == 0 and st.output


def test_sort_proves() -> None:
    _check("sort")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in CASES if n != "sort"])
def test_guest_proves(name: str) -> None:
    _check(name)
