"""Every example guest runs identically on our executor and on unicorn, step by step."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest

from execution.zkvm import DEFAULT_LAYOUT, Machine, Program

_WINDOWS = (
    (DEFAULT_LAYOUT.ram_base, 16384),  # .rodata/.data/.bss start
    (DEFAULT_LAYOUT.stack_top - 8192, 8192),  # stack
)

CASES: dict[str, bytes] = {
    "fibonacci": struct.pack("<I", 90),
    "collatz_zig": struct.pack("<I", 40),
    "sha256": bytes(range(256)) + b"abc",
    "sort": struct.pack("<40i", *[(i * 7919) % 201 - 100 for i in range(40)]),
    "matmul": struct.pack("<I", 4) + struct.pack("<32i", *range(-16, 16)),
    "sieve": struct.pack("<I", 500),
    "rv32im": struct.pack(
        "<12I",
        7,
        0,
        0x8000_0000,
        0xFFFF_FFFF,
        0xFFFF_FFF9,
        2,
        0x7FFF_FFFF,
        0x8000_0001,
        1,
        33,
        0,
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_guest_matches_unicorn(
    name: str, examples: dict[str, Program], differential: Callable[..., Machine]
) -> None:
    machine = differential(examples[name], CASES[name], chunk=512, windows=_WINDOWS)
    assert machine.exit_code == 0
    assert machine.cycles > 50


def test_every_example_has_a_case(examples: dict[str, Program]) -> None:
    assert set(CASES) == set(examples)
