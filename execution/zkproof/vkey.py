"""Verifying keys: what a verifier derives from the program and the fixed tables, built once.

A zkVM proof's statement names its program by image id; the verifier needs that program's
compiled program-ROM and RAM-image AIRs, and every fixed table's Merkle root. Rebuilding them
per verify was most of a first verify (the range table's root alone takes 0.6-1.5 s in a fresh
process, a program table tens of ms, and `initial_ram_words` 20 ms per call). So:

- `program_key(program)`: the program's AIRs, cached by image id (least recently used out,
  `PROGRAM_KEY_CACHE_SIZE` programs). The image id is a Poseidon2 digest of the layout, entry,
  ROM and initial RAM (execution.zkvm.image), so two programs with one id are one program.
- Fixed-table roots: `execution.stark.protocol.preprocessed_root` caches every preprocessed
  root by (AIR digest, height, blowup); `FIXED_ROOTS` below seeds that cache with the roots of
  the tables that do not depend on the program (range, registers, powers of two), so even a
  fresh process (`ivcnet verify`) never commits them. A test recomputes each one: a change to
  one of these tables that keeps its AIR digest fails that test, and a change of the digest
  (a new table version) simply misses the seed and falls back to committing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.stark.air.compiled import CompiledAir, compile_air
from execution.stark.lanes import P
from execution.stark.protocol import seed_preprocessed_root
from execution.zkproof.air import ProgramAir, RamImageAir
from execution.zkproof.isa import program_table, ram_image_table
from execution.zkvm.image import image_id
from execution.zkvm.program import Program
from storage.lru_cache import LruCache

__all__ = [
    "FIXED_ROOTS",
    "PROGRAM_KEY_CACHE_SIZE",
    "ProgramKey",
    "program_key",
    "seed_fixed_roots",
]

PROGRAM_KEY_CACHE_SIZE = 64


@dataclass(frozen=True)
class ProgramKey:
    """One program's part of the verifying key (also what its prover needs)."""

    image_id: bytes  # 32 bytes: the 8 little-endian words of image_id(program)
    program_air: ProgramAir
    program: CompiledAir
    ram_image_air: RamImageAir
    ram_image: CompiledAir


# Looked up from several threads of a node (proof exchange, block execution).
_KEYS: LruCache[bytes, ProgramKey] = LruCache(PROGRAM_KEY_CACHE_SIZE)


def program_key(program: Program, image: bytes | None = None) -> ProgramKey:
    """The program's compiled program-ROM and RAM-image AIRs, from the cache when its image id
    was seen. `image` is image_id(program) when the caller has computed it already."""
    img = image if image is not None else image_id(program).astype("<u4").tobytes()
    hit = _KEYS.get(img)
    if hit is not None:
        return hit
    img_hex = img.hex()
    pa = ProgramAir(program_table(program, P), img_hex)
    ra = RamImageAir(ram_image_table(program), img_hex)
    key = ProgramKey(img, pa, compile_air(pa), ra, compile_air(ra))
    _KEYS.put(img, key)
    return key


# (AIR digest hex, log height, log blowup) -> root (8 canonical elements), for the tables that
# do not depend on the program. Regenerate with `fixed_roots_now()` after changing one.
FIXED_ROOTS: dict[tuple[str, int, int], tuple[int, ...]] = {
    # RangeAir (zkvm_range_v4), 2^16 rows
    ("6155bba272e6a8cbe2844a560a6e692843fbd163b7fa6f954946e2d3a05bb8aa", 16, 2): (
        220839468, 1872590537, 203228580, 137322144,
        1948782031, 110309795, 1641028412, 1048036779,
    ),
    # RegisterAir (zkvm_registers_v1), 2^5 rows
    ("479daa4c3b1080680c763c019f4fd4bda6cf94a8805758455a6e834a6570002b", 5, 2): (
        1814672456, 1192811159, 302506069, 1055716633,
        1817103632, 41410062, 1567911877, 1969931484,
    ),
    # Pow2Air (zkvm_pow2_v1), 2^5 rows
    ("d410264bb38c30d479b60fa3401e6dff24ef0ddf46529e017b2f4fac30070f5c", 5, 2): (
        1947922979, 438107917, 1894486560, 223286437,
        1163112697, 57084802, 1072989658, 872543552,
    ),
}  # fmt: skip


def fixed_roots_now(log_blowup: int = 2) -> dict[tuple[str, int, int], tuple[int, ...]]:
    """Commit the program-independent fixed tables now (what FIXED_ROOTS must hold; both
    profiles use blowup 4, log_blowup 2)."""
    from execution.stark.protocol import preprocessed_data
    from execution.zkproof.air import Pow2Air, RangeAir, RegisterAir

    out: dict[tuple[str, int, int], tuple[int, ...]] = {}
    tables = (
        (RangeAir(), RangeAir.log_height),
        (RegisterAir(), RegisterAir.log_height),
        (Pow2Air(), Pow2Air.log_height),
    )
    for air, log_n in tables:
        compiled = compile_air(air)
        data = preprocessed_data(compiled, log_n, log_blowup)
        if data is None:
            continue
        out[(compiled.digest.hex(), log_n, log_blowup)] = tuple(int(v) for v in data.tree.root)
    return out


def seed_fixed_roots() -> None:
    """Put FIXED_ROOTS into the STARK verifier's root cache."""
    for (digest_hex, log_n, log_blowup), root in FIXED_ROOTS.items():
        arr: npt.NDArray[np.uint32] = np.array(root, dtype=np.uint32)
        seed_preprocessed_root(bytes.fromhex(digest_hex), log_n, log_blowup, arr)


seed_fixed_roots()
