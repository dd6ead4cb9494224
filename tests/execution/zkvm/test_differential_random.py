"""Seeded random RV32IM instruction streams: our executor against unicorn, step by step.

Streams are straight-line code with forward-only branches and jumps (so they always reach
the final halt), loads and stores through a base register that stays inside a RAM scratch
window, data-dependent addresses, and frequent special operand values (0, 1, -1, INT_MIN,
INT_MAX) so that the M-extension edge cases (division by zero, INT_MIN / -1) occur often.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable

import numpy as np
import pytest

from execution.zkvm import DEFAULT_LAYOUT, Machine, Program, RamSegment
from execution.zkvm.asm import b_type, i_type, j_type, li, r_type, s_type, u_type

BASE_REG = 31  # points into the scratch window, never written by the body
TEMP_REG = 30  # address temporary of the data-dependent access groups
SCRATCH = DEFAULT_LAYOUT.ram_base + 0x1000
SCRATCH_LEN = 0x1000
BASE = SCRATCH + 0x800  # +-2 KiB immediates from here stay in the window
SPECIAL = [0, 1, 2, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, 0x8000_0001, 0xFFFF_FFFE, 31, 32]

R_OPS = {  # name: (funct3, funct7)
    "add": (0, 0),
    "sub": (0, 0x20),
    "sll": (1, 0),
    "slt": (2, 0),
    "sltu": (3, 0),
    "xor": (4, 0),
    "srl": (5, 0),
    "sra": (5, 0x20),
    "or": (6, 0),
    "and": (7, 0),
    "mul": (0, 1),
    "mulh": (1, 1),
    "mulhsu": (2, 1),
    "mulhu": (3, 1),
    "div": (4, 1),
    "divu": (5, 1),
    "rem": (6, 1),
    "remu": (7, 1),
}
I_OPS = {"addi": 0, "slti": 2, "sltiu": 3, "xori": 4, "ori": 6, "andi": 7}
LOADS = {"lb": (0, 1), "lh": (1, 2), "lw": (2, 4), "lbu": (4, 1), "lhu": (5, 2)}
STORES = {"sb": (0, 1), "sh": (1, 2), "sw": (2, 4)}
BRANCHES = {"beq": 0, "bne": 1, "blt": 4, "bge": 5, "bltu": 6, "bgeu": 7}


def generate(rng: random.Random, body_len: int) -> list[int]:
    """One stream: prologue (all registers set), random body, halt."""
    words: list[int] = []
    for reg in range(1, 31):
        value = rng.choice(SPECIAL) if rng.random() < 0.4 else rng.getrandbits(32)
        words += li(reg, value)
    words += li(BASE_REG, BASE)

    body: list[list[int]] = []
    dests = list(range(0, 30))  # x0 included: writes to it must vanish
    srcs = list(range(0, 32))

    def reg() -> int:
        return rng.choice(srcs)

    def dst() -> int:
        return rng.choice(dests) if rng.random() < 0.97 else 0

    emitted = 0
    while emitted < body_len:
        kind = rng.random()
        if kind < 0.30:
            name = rng.choice(list(R_OPS))
            f3, f7 = R_OPS[name]
            body.append([r_type(f7, reg(), reg(), f3, dst())])
        elif kind < 0.45:
            name = rng.choice(list(I_OPS))
            imm = rng.choice([0, 1, -1, 2047, -2048, rng.randint(-2048, 2047)])
            body.append([i_type(imm, reg(), I_OPS[name], dst(), 0x13)])
        elif kind < 0.50:
            shamt = rng.randint(0, 31)
            which = rng.choice([(1, 0), (5, 0), (5, 0x20)])
            body.append([i_type((which[1] << 5) | shamt, reg(), which[0], dst(), 0x13)])
        elif kind < 0.55:
            body.append([u_type(rng.getrandbits(20), dst(), rng.choice([0x37, 0x17]))])
        elif kind < 0.63:
            f3, width = rng.choice(list(LOADS.values()))
            off = rng.randrange(-2048, 2048 - width) & ~(width - 1)
            body.append([i_type(off, BASE_REG, f3, dst(), 0x03)])
        elif kind < 0.71:
            f3, width = rng.choice(list(STORES.values()))
            off = rng.randrange(-2048, 2048 - width) & ~(width - 1)
            body.append([s_type(off, reg(), BASE_REG, f3)])
        elif kind < 0.75:
            # Data-dependent address: temp = base + (rX & 0x7FC) - 0x400, then access.
            src = reg()
            f3, width = rng.choice(list(LOADS.values()) + list(STORES.values()))
            group = [
                i_type(0x7FC, src, 7, TEMP_REG, 0x13),
                r_type(0, BASE_REG, TEMP_REG, 0, TEMP_REG),
            ]
            off = rng.randrange(-0x400, 0x3F0) & ~3
            if (f3, width) in LOADS.values() and rng.random() < 0.5:
                group.append(i_type(off, TEMP_REG, f3, dst(), 0x03))
            else:
                sf3 = {1: 0, 2: 1, 4: 2}[width]
                group.append(s_type(off, reg(), TEMP_REG, sf3))
            body.append(group)
        elif kind < 0.80:
            words_li = li(rng.randint(1, 29), rng.choice(SPECIAL))
            body.append(words_li)
        elif kind < 0.90:
            body.append([("branch", rng.choice(list(BRANCHES.values())), reg(), reg())])  # type: ignore[list-item]
        elif kind < 0.94:
            body.append([("jal", dst())])  # type: ignore[list-item]
        elif kind < 0.97:
            body.append([("auipc",), ("jalr", dst(), rng.random() < 0.3)])  # type: ignore[list-item]
        else:
            body.append([0x0FF0_000F])  # fence rw, rw
        emitted += len(body[-1])

    # Lay out the body, then resolve forward targets to group starts only (a jump into the
    # middle of a group would use a stale temporary).
    starts: list[int] = []
    flat: list[object] = []
    for group in body:
        starts.append(len(words) + len(flat))
        flat.extend(group)
    end = len(words) + len(flat)  # index of the halt sequence
    group_starts = [*starts, end]  # ascending
    out = list(words)
    for item in flat:
        here = len(out)
        if isinstance(item, int):
            out.append(item)
            continue
        lo = bisect.bisect_left(group_starts, here + 1)
        hi = bisect.bisect_right(group_starts, min(end, here + 12))
        targets = group_starts[lo:hi]
        assert isinstance(item, tuple)
        if item[0] == "branch":
            target = rng.choice(targets)
            out.append(b_type((target - here) * 4, item[3], item[2], item[1]))
        elif item[0] == "jal":
            target = rng.choice(targets)
            out.append(j_type((target - here) * 4, item[1]))
        elif item[0] == "auipc":
            out.append(u_type(0, TEMP_REG, 0x17))
        else:  # jalr relative to the auipc just before it
            target = rng.choice(targets)
            odd = 1 if item[2] else 0  # JALR clears bit 0 of the target
            out.append(i_type((target - (here - 1)) * 4 + odd, TEMP_REG, 0, item[1], 0x67))
    out += [*li(17, 0), 0x0000_0073]  # a7 = halt; ecall
    return out


def stream_program(seed: int, body_len: int) -> Program:
    rng = random.Random(seed)
    words = generate(rng, body_len)
    scratch = bytes(rng.getrandbits(8) for _ in range(SCRATCH_LEN))
    return Program(
        layout=DEFAULT_LAYOUT,
        entry=DEFAULT_LAYOUT.rom_base,
        rom=np.array(words, dtype=np.uint32),
        ram_init=(RamSegment(SCRATCH, scratch),),
    )


GROUPS = 4
SEEDS_PER_GROUP = 10


@pytest.mark.parametrize("group", range(GROUPS))
def test_random_streams_match_unicorn(group: int, differential: Callable[..., Machine]) -> None:
    executed = 0
    for seed in range(group * SEEDS_PER_GROUP, (group + 1) * SEEDS_PER_GROUP):
        program = stream_program(seed, 4000)
        machine = differential(program, chunk=64, windows=((SCRATCH, SCRATCH_LEN),))
        executed += machine.cycles
    # Issue 3 asks for at least 100,000 compared instructions per test run: a quarter here.
    assert executed >= 100_000 // GROUPS, executed
