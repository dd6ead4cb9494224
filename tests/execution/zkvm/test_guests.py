"""Each example guest's output equals a Python computation of the same function, and the
checked-in ELFs are exactly what the toolchain builds from the checked-in sources."""

from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path

import pytest

from execution.zkvm import Program, execute, load_elf_file
from execution.zkvm.examples import (
    EXAMPLE_GUESTS,
    ZIG_VERSION_FILE,
    build_examples,
    example_elf,
    example_source,
    zig_version,
)

M32 = 0xFFFF_FFFF
rng = random.Random(20261127)


def _s(x: int) -> int:
    return x - (1 << 32) if x & 0x8000_0000 else x


def test_fibonacci(examples: dict[str, Program]) -> None:
    for n in (0, 1, 2, 10, 93, 200):
        a, b = 0, 1
        for _ in range(n):
            a, b = b, (a + b)
        out = execute(examples["fibonacci"], struct.pack("<I", n)).output
        assert out == struct.pack("<Q", a % (1 << 64))
    default = execute(examples["fibonacci"]).output
    assert default == struct.pack("<Q", 55)


@pytest.mark.parametrize("length", [0, 1, 55, 56, 63, 64, 65, 119, 1000, 4099])
def test_sha256(examples: dict[str, Program], length: int) -> None:
    data = bytes(rng.getrandbits(8) for _ in range(length))
    assert execute(examples["sha256"], data).output == hashlib.sha256(data).digest()


def test_sort(examples: dict[str, Program]) -> None:
    for n in (0, 1, 2, 17, 500):
        values = [rng.randint(-(2**31), 2**31 - 1) for _ in range(n)] + [-(2**31), 2**31 - 1]
        result = execute(examples["sort"], struct.pack(f"<{len(values)}i", *values))
        assert result.output == struct.pack(f"<{len(values)}i", *sorted(values))
    assert execute(examples["sort"], b"abc").exit_code == 1  # not whole integers


def test_matmul(examples: dict[str, Program]) -> None:
    for n in (1, 3, 8):
        a = [rng.randint(-(2**31), 2**31 - 1) for _ in range(n * n)]
        b = [rng.randint(-1000, 1000) for _ in range(n * n)]
        c = []
        for i in range(n):
            for j in range(n):
                acc = sum(a[i * n + k] * b[k * n + j] for k in range(n)) & M32
                c.append(_s(acc))
        data = struct.pack("<I", n) + struct.pack(f"<{2 * n * n}i", *a, *b)
        assert execute(examples["matmul"], data).output == struct.pack(f"<{n * n}i", *c)
    assert execute(examples["matmul"], struct.pack("<I", 33)).exit_code == 1


def test_sieve(examples: dict[str, Program]) -> None:
    for limit in (0, 1, 2, 3, 100, 10_007):
        flags = [True] * (limit + 1)
        primes = []
        for i in range(2, limit + 1):
            if flags[i]:
                primes.append(i)
                for j in range(i * i, limit + 1, i):
                    flags[j] = False
        expected = struct.pack("<II", len(primes), primes[-1] if primes else 0)
        assert execute(examples["sieve"], struct.pack("<I", limit)).output == expected


def test_collatz_zig(examples: dict[str, Program]) -> None:
    for n in (1, 27, 300):
        steps = []
        for start in range(1, n + 1):
            x, k = start, 0
            while x != 1:
                x = x // 2 if x % 2 == 0 else 3 * x + 1
                k += 1
            steps.append(k)
        best = 1 + steps.index(max(steps))
        result = execute(examples["collatz_zig"], struct.pack("<I", n))
        assert result.output == struct.pack(f"<{n + 1}I", *steps, best)
        assert result.log == b"collatz done"
    assert execute(examples["collatz_zig"], struct.pack("<I", 0)).exit_code == 1


def _rv32im_reference(a: int, b: int) -> list[int]:
    """The RISC-V unprivileged spec's semantics, written independently of the executor."""
    sa, sb = _s(a), _s(b)
    sh = b & 31

    def trunc_div(x: int, y: int) -> int:
        q = abs(x) // abs(y)
        return -q if (x < 0) != (y < 0) else q

    if sb == 0:
        div, rem = M32, a
    elif sa == -(2**31) and sb == -1:
        div, rem = a, 0
    else:
        div, rem = trunc_div(sa, sb) & M32, (sa - trunc_div(sa, sb) * sb) & M32
    rr = [
        (a + b) & M32,
        (a - b) & M32,
        (a << sh) & M32,
        int(sa < sb),
        int(a < b),
        a ^ b,
        a >> sh,
        (sa >> sh) & M32,
        a | b,
        a & b,
        (a * b) & M32,
        ((sa * sb) >> 32) & M32,
        ((sa * b) >> 32) & M32,
        (a * b) >> 32,
        div,
        M32 if b == 0 else a // b,
        rem,
        a if b == 0 else a % b,
    ]
    ri = [
        (a - 1) & M32,
        (a + 2047) & M32,
        int(sa < -5),
        int(a < M32),
        a ^ M32,
        a | 0x555,
        a & 0xFFFF_FF00,
        (a << 31) & M32,
        a >> 31,
        (sa >> 31) & M32,
        (a << 7) & M32,
        (sa >> 13) & M32,
    ]
    br = [int(a == b), int(a != b), int(sa < sb), int(sa >= sb), int(a < b), int(a >= b)]
    mem = bytearray(struct.pack("<I", a))
    mem[2:4] = struct.pack("<H", b & 0xFFFF)
    mem[1] = b & 0xFF

    def sx8(v: int) -> int:
        return (v - 256 if v & 0x80 else v) & M32

    def sx16(v: int) -> int:
        return (v - 65536 if v & 0x8000 else v) & M32

    h0, h2 = struct.unpack("<HH", bytes(mem))
    ld = [
        struct.unpack("<I", bytes(mem))[0],
        *[sx8(mem[i]) for i in range(4)],
        *[mem[i] for i in range(4)],
        sx16(h0),
        sx16(h2),
        h0,
        h2,
    ]
    return rr + ri + br + ld


def test_rv32im_guest(examples: dict[str, Program]) -> None:
    edge = [0, 1, 2, 7, 31, 32, M32, 0xFFFF_FFF9, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0001]
    pairs = [(x, y) for x in edge for y in edge]
    pairs += [(rng.getrandbits(32), rng.getrandbits(32)) for _ in range(40)]
    data = b"".join(struct.pack("<II", x, y) for x, y in pairs)
    result = execute(examples["rv32im"], data)
    words = list(struct.unpack(f"<{len(result.output) // 4}I", result.output))
    assert len(words) == 49 * len(pairs) + 4
    for k, (x, y) in enumerate(pairs):
        assert words[49 * k : 49 * (k + 1)] == _rv32im_reference(x, y), (hex(x), hex(y))
    assert words[-4:] == [0x8000_1000, 8, 0, 7]


def test_checked_in_elfs_are_reproducible(tmp_path: Path) -> None:
    built = build_examples(tmp_path)
    assert [p.name for p in built] == [f"{n}.elf" for n in EXAMPLE_GUESTS]
    same_compiler = ZIG_VERSION_FILE.read_text().strip() == zig_version()
    for name in EXAMPLE_GUESTS:
        assert example_source(name).is_file()
        fresh = (tmp_path / f"{name}.elf").read_bytes()
        assert len(fresh) < 8192
        if same_compiler:
            assert fresh == example_elf(name).read_bytes(), (
                f"{name}.elf is stale: run `python -m execution.zkvm.examples`"
            )
        else:  # another zig may emit other bytes; the behaviour must still be the same
            a = execute(load_elf_file(tmp_path / f"{name}.elf"), b"\x05\x00\x00\x00")
            b = execute(load_elf_file(example_elf(name)), b"\x05\x00\x00\x00")
            assert (a.exit_code, a.output) == (b.exit_code, b.output)
