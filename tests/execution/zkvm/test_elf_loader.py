"""ELF files are untrusted: every malformed or misplaced file is refused with an ElfError
whose message names the rule, never a parser traceback."""

from __future__ import annotations

import struct

import pytest

from execution.zkvm import DEFAULT_LAYOUT, ElfError, execute, load_elf, load_elf_file
from execution.zkvm.asm import halt, li
from execution.zkvm.examples import example_elf

ROM = DEFAULT_LAYOUT.rom_base
RAM = DEFAULT_LAYOUT.ram_base
PF_X, PF_W, PF_R = 1, 2, 4


def build_elf(
    segments: list[tuple[int, bytes, int, int]],
    *,
    entry: int = ROM,
    machine: int = 243,
    e_type: int = 2,
    flags: int = 0,
) -> bytes:
    """A minimal ELF32 executable: segments are (vaddr, data, memsz, p_flags)."""
    phoff = 52
    data_off = phoff + 32 * len(segments)
    header = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    header += struct.pack(
        "<HHIIIIIHHHHHH",
        e_type,
        machine,
        1,
        entry,
        phoff,
        0,
        flags,
        52,
        32,
        len(segments),
        40,
        0,
        0,
    )
    phdrs = b""
    blobs = b""
    for vaddr, data, memsz, pflags in segments:
        phdrs += struct.pack(
            "<IIIIIIII", 1, data_off + len(blobs), vaddr, vaddr, len(data), memsz, pflags, 4
        )
        blobs += data
    return header + phdrs + blobs


def code(words: list[int]) -> bytes:
    return struct.pack(f"<{len(words)}I", *words)


GOOD_CODE = code([*li(10, 42), *halt()])


def test_minimal_elf_runs() -> None:
    elf = build_elf([(ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X), (RAM, b"abc", 16, PF_R | PF_W)])
    program = load_elf(elf)
    assert execute(program).exit_code == 42
    assert program.ram_init[0].data == b"abc"


def refused(elf: bytes, fragment: str) -> None:
    with pytest.raises(ElfError) as info:
        load_elf(elf)
    assert fragment in str(info.value), str(info.value)


def test_truncated_files() -> None:
    real = example_elf("sha256").read_bytes()
    refused(b"", "truncated")
    refused(real[:51], "truncated")
    refused(real[:60], "truncated")  # program headers cut
    for cut in (120, 200, len(real) // 2):
        with pytest.raises(ElfError):
            load_elf(real[:cut])


def test_not_elf_wrong_class_or_endianness() -> None:
    real = bytearray(example_elf("fibonacci").read_bytes())
    refused(b"MZ" + bytes(100), "not an ELF")
    refused(bytes(real[:4]) + b"\x02" + bytes(real[5:]), "32-bit")
    refused(bytes(real[:5]) + b"\x02" + bytes(real[6:]), "little-endian")


def test_wrong_machine_and_type() -> None:
    seg = [(ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)]
    refused(build_elf(seg, machine=62), "wrong machine")  # x86-64
    refused(build_elf(seg, e_type=3), "ET_EXEC")  # shared object
    real = bytearray(example_elf("fibonacci").read_bytes())
    real[18:20] = struct.pack("<H", 40)  # ARM
    refused(bytes(real), "wrong machine")


@pytest.mark.parametrize(
    ("flags", "fragment"), [(0x1, "RVC"), (0x2, "floating-point"), (0x8, "RV32E")]
)
def test_unsupported_isa_flags(flags: int, fragment: str) -> None:
    refused(build_elf([(ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)], flags=flags), fragment)


def test_overlapping_segments() -> None:
    segs = [
        (ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X),
        (RAM, b"x" * 64, 64, PF_R | PF_W),
        (RAM + 32, b"y" * 8, 8, PF_R | PF_W),
    ]
    refused(build_elf(segs), "overlapping")


def test_huge_sizes() -> None:
    code_seg = (ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)
    refused(build_elf([code_seg, (RAM, b"", 0xFFFF_FFF0, PF_R | PF_W)]), "wraps")
    refused(build_elf([code_seg, (RAM, b"", DEFAULT_LAYOUT.ram_size + 4, PF_R | PF_W)]), "RAM")
    refused(build_elf([(ROM, GOOD_CODE, DEFAULT_LAYOUT.rom_size + 4, PF_R | PF_X)]), "ROM")
    with pytest.raises(ElfError, match="larger than"):
        load_elf(bytes(65 << 20))


def test_segment_data_past_end_of_file() -> None:
    elf = bytearray(build_elf([(ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)]))
    struct.pack_into("<I", elf, 52 + 16, 1 << 20)  # p_filesz of the only segment
    struct.pack_into("<I", elf, 52 + 20, 1 << 20)  # p_memsz
    refused(bytes(elf), "past the end")


def test_filesz_larger_than_memsz() -> None:
    refused(build_elf([(ROM, GOOD_CODE, 4, PF_R | PF_X)]), "exceeds memory size")


def test_harvard_placement_rules() -> None:
    refused(build_elf([(RAM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)]), "must lie in ROM")
    code_seg = (ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)
    refused(build_elf([code_seg, (ROM + 0x1000, b"d", 4, PF_R | PF_W)]), "must lie in RAM")
    refused(build_elf([(ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_W | PF_X)]), "writable")
    refused(
        build_elf([(ROM + 2, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)], entry=ROM + 2), "aligned"
    )


def test_entry_point_rules() -> None:
    seg = [(ROM, GOOD_CODE, len(GOOD_CODE), PF_R | PF_X)]
    refused(build_elf(seg, entry=ROM + 2), "not 4-byte aligned")
    refused(build_elf(seg, entry=ROM + 0x1000), "not inside an executable segment")
    refused(build_elf([(RAM, b"x", 4, PF_R | PF_W)], entry=RAM), "no executable segment")


def test_no_segments() -> None:
    refused(build_elf([]), "no program headers")


def test_garbage_after_valid_identification() -> None:
    garbage = b"\x7fELF\x01\x01\x01" + bytes(range(256)) * 4
    with pytest.raises(ElfError):
        load_elf(garbage)


def test_missing_file() -> None:
    with pytest.raises(ElfError, match="cannot read"):
        load_elf_file("/nonexistent/prog.elf")


def test_random_corruptions_never_escape_as_other_exceptions() -> None:
    import random

    from execution.zkvm import Program

    rng = random.Random(1234)
    real = example_elf("sha256").read_bytes()
    for _ in range(400):
        data = bytearray(real)
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(0, 120) if rng.random() < 0.7 else rng.randrange(len(data))
            data[pos] = rng.getrandbits(8)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        try:
            program = load_elf(bytes(data))
        except ElfError:
            continue
        assert isinstance(program, Program)
