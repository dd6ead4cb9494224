"""Trace generation for RAM: the memory chip and boundary rows, vectorized.

The chip has one row per load or store (any width) and the memory bus is word-granular, so
every access needs the whole word before and after it. Stores may write one, two or four
bytes, so the word values come from a byte-level model: for each accessed word and each of
its four bytes, the last byte written there before the access (one `searchsorted` over all
written bytes keyed by (byte address, time)), else the image's initial byte. The bytes a store
writes are the executor's claim (its `mem_width` low bytes of `mem_val`) and a load's value is
the CPU's (the executor's `rd_val`): a forged execution trace therefore yields chip rows that
break a constraint or a bus rather than a silently repaired trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.zkproof.air import BOUNDARY_COLUMNS, MEM_COLUMNS, boundary_col, mem_col
from execution.zkproof.isa import MEM_BYTE, MEM_HALF, MEM_SIGNED, MEM_STORE, ram_image_words
from execution.zkvm.program import Program

__all__ = ["MemoryTraces", "memory_traces", "pow2_height"]

I64 = npt.NDArray[np.int64]

# Access times are clk + 1 <= 2^20 + 1 < 2^22: a (byte address, time) key packs into int64.
_TIME_BITS = 22


@dataclass
class MemoryTraces:
    """Chip and boundary rows, and the lookups they make into the range table."""

    chip: I64
    boundary: I64
    r16: I64  # 16-bit range lookups
    u8: I64
    u15: I64
    pairs: I64  # byte-pair lookups, as x + 256 y
    extra_prev: I64  # the extra (IO chip) accesses' words before and after, previous times
    extra_new: I64
    extra_prev_t: I64


def pow2_height(n: int) -> int:
    return max(2, 1 << max(0, (n - 1).bit_length()))


def memory_traces(
    program: Program,
    addr: I64,
    value: I64,
    clk: I64,
    code: I64,
    width: I64,
    data: I64,
    extra: tuple[I64, I64, npt.NDArray[np.bool_], I64] | None = None,
) -> MemoryTraces:
    """Rows for the accesses in run order: byte address (the CPU's adder result), the CPU's
    value (loads: extended; stores: rs2), clk, op code (isa.MEM_OP_CODES), and the executor's
    claim of the bytes a store wrote (`width` low bytes of `data`). `extra`: other word accesses
    (the IO chip's) as (word key, time, (n, 4) lanes written, (n, 4) bytes): they join the byte
    model, the previous-time order and the boundary, but get no chip rows."""
    m = len(addr)
    word = (addr - program.layout.ram_base) >> 2
    off = addr & 3
    q, h = word & 0x3FFF, word >> 14
    now = clk + 1
    store = (code & MEM_STORE) != 0
    byte = ((code & MEM_BYTE) != 0).astype(np.int64)
    half = ((code & MEM_HALF) != 0).astype(np.int64)
    signed = ((code & MEM_SIGNED) != 0).astype(np.int64)
    img_keys, img_vals = ram_image_words(program)

    lane = np.arange(4, dtype=np.int64)
    # Written bytes: lanes off .. off + width - 1 of a store (a forged width past the word's
    # end is cut at the word: it then writes fewer bytes than claimed, and a constraint fails).
    k = lane[None, :] - off[:, None]
    writes = store[:, None] & (k >= 0) & (k < width[:, None])
    wbyte = (data[:, None] >> (8 * np.clip(k, 0, 3))) & 0xFF
    all_word, all_now = word, now
    if extra is not None:
        all_word = np.concatenate([word, extra[0]])
        all_now = np.concatenate([now, extra[1]])
        writes = np.concatenate([writes, extra[2]])
        wbyte = np.concatenate([wbyte, extra[3]])
    total = len(all_word)
    init = np.zeros(total, dtype=np.int64)
    if len(img_keys):
        pos = np.minimum(np.searchsorted(img_keys, all_word), len(img_keys) - 1)
        hit = img_keys[pos] == all_word
        init[hit] = img_vals[pos[hit]]
    prev_all, new_all = _word_values(all_word, all_now, writes, wbyte, init)
    prev, new = prev_all[:m], new_all[:m]

    # Offline memory checking: order all accesses by (word, time) for the previous time.
    order = np.lexsort((all_now, all_word))
    ws, ts = all_word[order], all_now[order]
    same = np.zeros(total, dtype=bool)
    same[1:] = ws[1:] == ws[:-1]
    prev_t_sorted = np.where(same, np.roll(ts, 1), 0)
    prev_t_all = np.empty(total, dtype=np.int64)
    prev_t_all[order] = prev_t_sorted
    prev_t = prev_t_all[:m]
    diff = now - prev_t - 1
    e = diff >> 16

    o0, o1 = off & 1, off >> 1
    hw = (prev >> (16 * o1)) & 0xFFFF
    lb, hb = hw & 0xFF, hw >> 8
    bsel = np.where(o0 == 1, hb, lb)
    top = np.where(byte == 1, bsel, hb)
    t = np.where(signed == 1, top >> 7, 0)
    v0, v1 = value & 0xFFFF, (value >> 16) & 0xFFFF
    d0 = v0 & 0xFF
    cols = {
        "is_real": np.ones(m, dtype=np.int64),
        "is_store": store.astype(np.int64),
        "clk": clk,
        "q": q,
        "h": h,
        "v0": v0,
        "v1": v1,
        "p0": prev & 0xFFFF,
        "p1": prev >> 16,
        "tp": prev_t,
        "e": e,
        "is_byte": byte,
        "is_half": half,
        "is_signed": signed,
        "o0": o0,
        "o1": o1,
        "lb": lb,
        "hb": hb,
        "bsel": bsel,
        "d0": d0,
        "delta": (d0 - bsel) * (1 + 255 * o0),
        "n0": new & 0xFFFF,
        "n1": new >> 16,
        "nh": (new >> (16 * o1)) & 0xFFFF,
        "top": top,
        "t": t,
    }
    chip = np.zeros((pow2_height(m), len(MEM_COLUMNS)), dtype=np.int64)
    for name, col in cols.items():
        chip[:m, mem_col(name)] = col

    last = np.ones(total, dtype=bool)
    last[:-1] = ws[:-1] != ws[1:]
    fin = new_all[order][last]
    boundary, b_r16, b_u8 = _boundary(ws[last], fin, ts[last], img_keys, img_vals)
    rest = (top - 128 * t)[signed == 1]
    pairs = np.concatenate([lb + 256 * hb, d0 + 256 * ((v0 - d0) >> 8), rest + 512 * rest])
    return MemoryTraces(
        chip=chip,
        boundary=boundary,
        r16=np.concatenate([4 * q, diff - (e << 16), b_r16]),
        u8=np.concatenate([h, e, b_u8]),
        u15=q,
        pairs=pairs,
        extra_prev=prev_all[m:],
        extra_new=new_all[m:],
        extra_prev_t=prev_t_all[m:],
    )


def _word_values(
    word: I64, now: I64, writes: npt.NDArray[np.bool_], wbyte: I64, init: I64
) -> tuple[I64, I64]:
    """Each access's word before and after it, from the bytes written (byte-level): `writes`
    (m, 4) says which lanes an access writes, `wbyte` (m, 4) the bytes."""
    m = len(word)
    lane = np.arange(4, dtype=np.int64)
    baddr = 4 * word[:, None] + lane[None, :]
    key = (baddr << _TIME_BITS) + now[:, None]
    wkeys, wvals = key[writes], wbyte[writes]
    order = np.argsort(wkeys, kind="stable")
    wkeys, wvals = wkeys[order], wvals[order]
    init_bytes = (init[:, None] >> (8 * lane[None, :])) & 0xFF
    prev_bytes = init_bytes
    if len(wkeys):
        pos = np.searchsorted(wkeys, key, side="left") - 1
        safe = np.maximum(pos, 0)
        hit = (pos >= 0) & ((wkeys[safe] >> _TIME_BITS) == baddr)
        prev_bytes = np.where(hit, wvals[safe], init_bytes)
    new_bytes = np.where(writes, wbyte, prev_bytes)
    shifts = 8 * lane[None, :]
    prev = (prev_bytes << shifts).sum(axis=1) if m else np.zeros(0, dtype=np.int64)
    new = (new_bytes << shifts).sum(axis=1) if m else np.zeros(0, dtype=np.int64)
    return prev.astype(np.int64), new.astype(np.int64)


def _boundary(
    touched: I64, fin_v: I64, fin_t: I64, img_keys: I64, img_vals: I64
) -> tuple[I64, I64, I64]:
    """Boundary rows: every touched word and every image word, once each, in increasing order."""
    words = np.union1d(touched, img_keys)
    k = len(words)
    init = np.zeros(k, dtype=np.int64)
    is_img = np.isin(words, img_keys)
    init[is_img] = img_vals[np.searchsorted(img_keys, words[is_img])]
    final_v, final_t = init.copy(), np.zeros(k, dtype=np.int64)
    at = np.searchsorted(words, touched)
    final_v[at], final_t[at] = fin_v, fin_t
    gap = np.zeros(k, dtype=np.int64)
    gap[:-1] = words[1:] - words[:-1] - 1
    has_next = np.zeros(k, dtype=np.int64)
    has_next[:-1] = 1
    bcols = {
        "is_real": np.ones(k, dtype=np.int64),
        "is_img": is_img.astype(np.int64),
        "word": words,
        "i0": init & 0xFFFF,
        "i1": init >> 16,
        "f0": final_v & 0xFFFF,
        "f1": final_v >> 16,
        "ft": final_t,
        "has_next": has_next,
        "dlo": gap & 0xFFFF,
        "dhi": gap >> 16,
        "wh": words >> 16,
    }
    boundary = np.zeros((pow2_height(k), len(BOUNDARY_COLUMNS)), dtype=np.int64)
    for name, col in bcols.items():
        boundary[:k, boundary_col(name)] = col
    nxt = has_next == 1
    r16 = np.concatenate([(gap & 0xFFFF)[nxt], words & 0xFFFF])
    u8 = np.concatenate([(gap >> 16)[nxt], words >> 16])
    return boundary, r16, u8
