"""The example guests prove end to end: statement equal to the executor's run.

sort, matmul and rv32im (without input pairs) execute only constrained instructions. The other
guests need byte loads/stores or signed division (other chips); until those are merged their
proofs are refused with UnsupportedInstruction, which these tests report as a skip.
"""

from __future__ import annotations

import struct

import pytest

from execution.zkproof import UnsupportedInstruction, prove, verify
from execution.zkvm.elf_loader import load_elf
from execution.zkvm.examples import example_elf
from execution.zkvm.executor import execute

_MATRICES = struct.pack("<I", 2) + struct.pack("<8i", 1, 2, 3, 4, 5, 6, 7, -8)
CASES: dict[str, tuple[bytes, bool]] = {
    # name: (input, proves without the byte-memory and signed-division chips)
    "sort": (struct.pack("<6i", 5, -3, 9, 0, 2, -(1 << 31)), True),
    "matmul": (_MATRICES, True),
    "rv32im": (b"", True),
    "fibonacci": (struct.pack("<I", 10), False),
    "sha256": (b"abc", False),
    "sieve": (struct.pack("<I", 100), False),
    "collatz_zig": (struct.pack("<I", 27), False),
    "rv32im-pairs": (struct.pack("<4I", 7, 3, 0x8000_0000, 0xFFFF_FFFF), False),
}


def _check(name: str) -> None:
    data, expected_to_prove = CASES[name]
    program = load_elf(example_elf(name.split("-")[0]).read_bytes())
    run = execute(program, data)
    try:
        proof = prove(program, data)
    except UnsupportedInstruction as exc:
        if expected_to_prove:
            raise
        pytest.skip(f"{name} needs {exc.name} (another chip)")
    st = verify(proof.to_bytes(), program)
    assert (st.exit_code, st.output, st.cycles) == (run.exit_code, run.output, run.cycles)
    assert st.exit_code == 0 and st.output


def test_sort_proves() -> None:
    _check("sort")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in CASES if n != "sort"])
def test_guest_proves(name: str) -> None:
    _check(name)
