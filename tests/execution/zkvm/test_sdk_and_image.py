"""The SDK files agree with the Python constants, and the image id binds what it must."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from execution.zkvm import DEFAULT_LAYOUT, Program, RamSegment, image_id, image_id_hex
from execution.zkvm.image import image_elements
from execution.zkvm.syscalls import SYSCALL_NAMES
from execution.zkvm.toolchain import SDK_DIR

P = 15 * (1 << 27) + 1


def test_linker_script_matches_layout() -> None:
    text = (SDK_DIR / "link.ld").read_text()
    rom = re.search(r"ROM \(rx\) : ORIGIN = (0x[0-9a-fA-F]+), LENGTH = (0x[0-9a-fA-F]+)", text)
    ram = re.search(r"RAM \(rw\) : ORIGIN = (0x[0-9a-fA-F]+), LENGTH = (0x[0-9a-fA-F]+)", text)
    assert rom and ram
    assert (int(rom[1], 16), int(rom[2], 16)) == (DEFAULT_LAYOUT.rom_base, DEFAULT_LAYOUT.rom_size)
    assert (int(ram[1], 16), int(ram[2], 16)) == (DEFAULT_LAYOUT.ram_base, DEFAULT_LAYOUT.ram_size)


def test_header_syscall_numbers_match() -> None:
    text = (SDK_DIR / "ivcnet.h").read_text()
    found = {int(v): k.lower() for k, v in re.findall(r"#define IVC_SYS_(\w+) (\d+)", text)}
    assert found == SYSCALL_NAMES
    start = (SDK_DIR / "start.S").read_text()
    assert "li a7, 0" in start and SYSCALL_NAMES[0] == "halt"


def test_image_id_is_8_canonical_elements(examples: dict[str, Program]) -> None:
    ids = {name: image_id_hex(p) for name, p in examples.items()}
    assert len(set(ids.values())) == len(ids)
    digest = image_id(examples["sha256"])
    assert digest.shape == (8,) and digest.dtype == np.uint32 and (digest < P).all()
    assert (image_elements(examples["sha256"]) < P).all()
    assert image_id_hex(examples["sha256"]) == ids["sha256"]  # deterministic


def test_image_id_binds_rom_entry_layout_and_data(examples: dict[str, Program]) -> None:
    base = examples["sha256"]
    original = image_id_hex(base)
    rom = base.rom.copy()
    rom[3] ^= 1
    seg = base.ram_init[0]
    flipped = RamSegment(seg.addr, bytes([seg.data[0] ^ 1]) + seg.data[1:])
    variants = [
        replace(base, rom=rom),
        replace(base, entry=base.entry + 4),
        replace(base, layout=replace(base.layout, ram_size=base.layout.ram_size // 2)),
        replace(base, ram_init=(flipped, *base.ram_init[1:])),
        replace(base, ram_init=(RamSegment(seg.addr + 4, seg.data), *base.ram_init[1:])),
        replace(base, rom=np.concatenate([base.rom, np.zeros(1, dtype=np.uint32)])),
    ]
    ids = {image_id_hex(v) for v in variants}
    assert original not in ids and len(ids) == len(variants)
