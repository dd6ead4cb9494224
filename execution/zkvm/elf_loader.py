"""Load and check a guest ELF file against the zkVM layout.

ELF files are untrusted (users deploy them on chain), so every rule is checked explicitly
and every failure is an ElfError with a message naming the rule.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
from elftools.elf.elffile import ELFFile

from execution.zkvm.errors import ElfError
from execution.zkvm.layout import DEFAULT_LAYOUT, MemoryLayout
from execution.zkvm.program import Program, RamSegment

MAX_ROM_GAP = 4096  # bytes of padding allowed before and between code segments
MAX_ELF_BYTES = 64 << 20
_PF_X = 0x1
_PF_W = 0x2
_EF_RISCV_RVC = 0x1
_EF_RISCV_FLOAT_ABI = 0x6
_EF_RISCV_RVE = 0x8


def load_elf_file(path: str | Path, layout: MemoryLayout = DEFAULT_LAYOUT) -> Program:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_ELF_BYTES:
            raise ElfError(f"{p}: file of {size} bytes is larger than {MAX_ELF_BYTES}")
        data = p.read_bytes()
    except OSError as exc:
        raise ElfError(f"cannot read {p}: {exc.strerror or exc}") from exc
    return load_elf(data, layout)


def load_elf(data: bytes, layout: MemoryLayout = DEFAULT_LAYOUT) -> Program:
    """Parse `data` as an RV32IM executable and place it in `layout`."""
    if len(data) > MAX_ELF_BYTES:
        raise ElfError(f"ELF of {len(data)} bytes is larger than {MAX_ELF_BYTES}")
    # Identification bytes first: they give the clearest message for non-ELF input.
    if len(data) < 52:
        raise ElfError(f"truncated ELF: {len(data)} bytes, the ELF32 header alone is 52")
    if data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file (bad magic)")
    if data[4] != 1:
        raise ElfError("not a 32-bit ELF (EI_CLASS must be ELFCLASS32)")
    if data[5] != 1:
        raise ElfError("not a little-endian ELF (EI_DATA must be ELFDATA2LSB)")
    try:
        segments, header = _parse(data)
    except ElfError:
        raise
    except Exception as exc:  # pyelftools raises many types on malformed input
        raise ElfError(f"malformed ELF: {type(exc).__name__}: {exc}") from exc
    return _place(segments, header, data, layout)


def _parse(data: bytes) -> tuple[list[dict[str, int]], dict[str, int]]:
    elf = ELFFile(io.BytesIO(data))
    if elf["e_machine"] != "EM_RISCV":
        raise ElfError(f"wrong machine {elf['e_machine']}: expected EM_RISCV")
    if elf["e_type"] != "ET_EXEC":
        raise ElfError(f"wrong ELF type {elf['e_type']}: expected an executable (ET_EXEC)")
    flags = int(elf["e_flags"])
    # The zkVM implements RV32IM only: compressed code, the E base and hardware floats
    # would all need instructions it does not have.
    if flags & _EF_RISCV_RVC:
        raise ElfError("compressed instructions (RVC) are not supported; build for rv32im")
    if flags & _EF_RISCV_RVE:
        raise ElfError("the RV32E base is not supported; build for rv32im")
    if flags & _EF_RISCV_FLOAT_ABI:
        raise ElfError("hardware floating-point ABI is not supported; build for rv32im")
    num = int(elf["e_phnum"])
    if num == 0:
        raise ElfError("no program headers")
    if num > 64:
        raise ElfError(f"{num} program headers: at most 64 are accepted")
    phoff = int(elf["e_phoff"])
    if phoff + num * int(elf["e_phentsize"]) > len(data):
        raise ElfError("truncated ELF: program headers extend past the end of the file")
    segments = []
    for i in range(num):
        seg = elf.get_segment(i)
        segments.append(
            {
                "type": 1 if seg["p_type"] == "PT_LOAD" else 0,
                "offset": int(seg["p_offset"]),
                "vaddr": int(seg["p_vaddr"]),
                "filesz": int(seg["p_filesz"]),
                "memsz": int(seg["p_memsz"]),
                "flags": int(seg["p_flags"]),
            }
        )
    return segments, {"entry": int(elf["e_entry"])}


def _place(
    segments: list[dict[str, int]], header: dict[str, int], data: bytes, layout: MemoryLayout
) -> Program:
    loads = [s for s in segments if s["type"] == 1 and s["memsz"] > 0]
    if not loads:
        raise ElfError("no loadable segments")
    for s in loads:
        where = f"segment at 0x{s['vaddr']:08x}"
        if s["filesz"] > s["memsz"]:
            raise ElfError(f"{where}: file size {s['filesz']} exceeds memory size {s['memsz']}")
        if s["offset"] + s["filesz"] > len(data):
            raise ElfError(f"truncated ELF: {where} extends past the end of the file")
        if s["vaddr"] + s["memsz"] > 1 << 32:
            raise ElfError(f"{where}: size {s['memsz']} wraps the 32-bit address space")
        if s["flags"] & _PF_X:
            # Harvard layout: code lives in ROM only, and ROM is never written.
            if s["flags"] & _PF_W:
                raise ElfError(f"{where}: a segment may not be both writable and executable")
            if not layout.in_rom(s["vaddr"], s["memsz"]):
                raise ElfError(
                    f"{where}: code of {s['memsz']} bytes must lie in ROM "
                    f"[0x{layout.rom_base:08x}, 0x{layout.rom_end:08x})"
                )
            if s["vaddr"] % 4:
                raise ElfError(f"{where}: code must be 4-byte aligned")
            # The ROM is hashed into the image id on every deploy: it must cost its bytes in the
            # transaction. Zero-filled code would only be illegal instructions anyway.
            if s["filesz"] != s["memsz"]:
                raise ElfError(f"{where}: code must be stored in the file in full (filesz == memsz)")
        elif not layout.in_ram(s["vaddr"], s["memsz"]):
            raise ElfError(
                f"{where}: data of {s['memsz']} bytes must lie in RAM "
                f"[0x{layout.ram_base:08x}, 0x{layout.ram_end:08x})"
            )
    ordered = sorted(loads, key=lambda s: s["vaddr"])
    for prev, nxt in itertools.pairwise(ordered):
        if prev["vaddr"] + prev["memsz"] > nxt["vaddr"]:
            raise ElfError(
                f"overlapping segments at 0x{prev['vaddr']:08x} and 0x{nxt['vaddr']:08x}"
            )

    code = [s for s in ordered if s["flags"] & _PF_X]
    if not code:
        raise ElfError("no executable segment")
    entry = header["entry"]
    if entry % 4:
        raise ElfError(f"entry point 0x{entry:08x} is not 4-byte aligned")
    if not any(s["vaddr"] <= entry < s["vaddr"] + s["memsz"] for s in code):
        raise ElfError(f"entry point 0x{entry:08x} is not inside an executable segment")

    rom_end = max(s["vaddr"] + s["memsz"] for s in code)
    # Code is packed from the start of ROM (alignment gaps allowed): a 4-byte segment at the
    # end of ROM must not make every verifier hash 4 MiB of zeros for the price of 4 bytes.
    code_bytes = sum(s["filesz"] for s in code)
    if rom_end - layout.rom_base > code_bytes + MAX_ROM_GAP * len(code):
        raise ElfError(
            f"code spans {rom_end - layout.rom_base} bytes of ROM but holds {code_bytes}: "
            f"segments must be packed from 0x{layout.rom_base:08x}"
        )
    rom_bytes = bytearray(((rom_end - layout.rom_base) + 3) & ~3)
    for s in code:
        off = s["vaddr"] - layout.rom_base
        rom_bytes[off : off + s["filesz"]] = data[s["offset"] : s["offset"] + s["filesz"]]
    rom = np.frombuffer(bytes(rom_bytes), dtype="<u4").astype(np.uint32)

    ram_init = tuple(
        RamSegment(s["vaddr"], bytes(data[s["offset"] : s["offset"] + s["filesz"]]))
        for s in ordered
        if not s["flags"] & _PF_X and s["filesz"] > 0
    )
    return Program(layout=layout, entry=entry, rom=rom, ram_init=ram_init)
