"""Trace generation for the IO chip and the IO table (air_io.py).

From the executor's `syscalls` log: one block per non-halt ECALL, one row per RAM word the
call moves bytes of (or one empty row). The bytes each read_input writes come from the input
at the running position; the words' previous contents come from the whole memory timeline
(CPU loads and stores and earlier IO), resolved byte lane by byte lane so a word that several
calls write in parts gets the right value without a sequential loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from execution.zkproof.air import RAM_HI
from execution.zkproof.air_io import IO_COLUMNS, LEN_HI_SLACK, io_col
from execution.zkproof.errors import ZkProofError
from execution.zkvm.program import Program
from execution.zkvm.syscalls import SYS_HALT, SYS_LOG, SYS_READ_INPUT, SYS_WRITE_OUTPUT
from execution.zkvm.trace import ExecutionTrace

__all__ = ["IoPlan", "io_chip_trace", "io_memory_values", "io_plan", "io_table_mult"]

I64 = npt.NDArray[np.int64]


# Columns io_chip_trace fills once memory values are known; io_plan fills the others.
_LATE_COLUMNS = frozenset({"tp", "e", "cg", "cgh", *(f"{x}{i}" for x in "mon" for i in range(4))})
_PLAN_COLUMNS = frozenset(IO_COLUMNS) - _LATE_COLUMNS


@dataclass
class IoPlan:
    """The IO chip's rows before memory values are known, and its memory accesses."""

    cols: dict[str, I64]  # per real row
    mask: npt.NDArray[np.bool_]  # (rows, 4) bytes moved
    new_bytes: I64  # (rows, 4) bytes read_input writes (where mask and is_read)
    access: npt.NDArray[np.bool_]  # rows with a word access
    word: I64  # word key per row


def io_plan(program: Program, trace: ExecutionTrace) -> IoPlan:
    """Rows of every non-halt syscall; the bytes moved come from the executor's io log (the
    input bytes read, in order, are the input's prefix)."""
    sc = trace.syscalls.astype(np.int64)
    calls = sc[:, sc[1] != SYS_HALT] if sc.shape[1] else sc
    base = program.layout.ram_base
    inp = _io_bytes(trace, 0)
    out_bytes = _io_bytes(trace, 1)
    rows: dict[str, list[I64]] = {name: [] for name in IO_COLUMNS}
    masks: list[npt.NDArray[np.bool_]] = []
    newb: list[I64] = []
    in_pos = out_pos = 0
    for j in range(calls.shape[1]):
        clk, num, a0, a1, ret = (int(v) for v in calls[:, j])
        if num not in (SYS_READ_INPUT, SYS_WRITE_OUTPUT, SYS_LOG):
            raise ZkProofError(f"syscall {num} has no IO rows")
        is_read, is_write = num == SYS_READ_INPUT, num == SYS_WRITE_OUTPUT
        total = ret if is_read else a1 if is_write else 0
        spos = in_pos if is_read else out_pos if is_write else 0
        if total == 0:
            k = 1
            words = np.zeros(1, dtype=np.int64)
            mask = np.zeros((1, 4), dtype=bool)
            has_word = np.zeros(1, dtype=np.int64)
        else:
            first_w = (a0 - base) >> 2
            last_w = (a0 + total - 1 - base) >> 2
            words = np.arange(first_w, last_w + 1, dtype=np.int64)
            k = len(words)
            addr = (base + 4 * words)[:, None] + np.arange(4)[None, :]
            mask = (addr >= a0) & (addr < a0 + total)
            has_word = np.ones(k, dtype=np.int64)
        cnt = mask.sum(axis=1).astype(np.int64)
        before = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
        # The stream position of each moved byte (row start + bytes before it in the row).
        lane_pos = spos + before[:, None] + np.cumsum(mask, axis=1) - mask
        nb = np.zeros((k, 4), dtype=np.int64)
        if is_read and total:
            nb[mask] = inp[lane_pos[mask]]
        elif is_write and total:
            nb[mask] = out_bytes[lane_pos[mask]]
        masks.append(mask)
        newb.append(nb)
        ones = np.ones(k, dtype=np.int64)
        nz = int(total > 0) if is_read else int(a1 > 0)
        short = int(is_read and ret < a1)
        row0 = np.zeros(k, dtype=np.int64)
        row0[0] = 1

        def first_only(v: int, row0: I64 = row0) -> I64:
            return row0 * v

        d = a1 - ret - 1 if short else 0
        buf_off = a0 - base
        length_l = total if (is_read or is_write) else a1
        end = buf_off + length_l - 1 if nz else 0
        vals: dict[str, I64] = {
            "is_real": ones,
            "first": row0,
            "is_read": ones * int(is_read),
            "is_write": ones * int(is_write),
            "is_log": ones * int(num == SYS_LOG),
            "clk": ones * clk,
            "has_word": has_word,
            "q": np.where(has_word == 1, words & 0x3FFF, 0),
            "h": np.where(has_word == 1, words >> 14, 0),
            "in_pos": in_pos + (before if is_read else 0 * ones),
            "out_pos": out_pos + (before if is_write else 0 * ones),
            "spos": (spos + before) if (is_read or is_write) else 0 * ones,
            "rem": total - before,
            "off": ones * (buf_off - spos if nz else 0),
            "buf_lo": first_only(a0 & 0xFFFF),
            "buf_hi": first_only(a0 >> 16),
            "len_lo": first_only(a1 & 0xFFFF),
            "len_hi": first_only(a1 >> 16),
            "ret_lo": first_only(ret & 0xFFFF),
            "ret_hi": first_only(ret >> 16),
            "nz": first_only(nz),
            "short": first_only(short),
            "d_lo": first_only((d & 0xFFFF) if short else 0),
            "d_hi": first_only((d >> 16) if short else 0),
            "bw": first_only(int(short and (a1 & 0xFFFF) < (ret & 0xFFFF) + 1)),
            "eh": first_only(end >> 16),
        }
        for name, v in vals.items():
            rows[name].append(np.asarray(v, dtype=np.int64))
        if is_read:
            in_pos += total
        elif is_write:
            out_pos += total
    cols = {
        name: np.concatenate(v) if v else np.zeros(0, dtype=np.int64)
        for name, v in rows.items()
        if v or name in _PLAN_COLUMNS
    }
    mask_all = np.concatenate(masks) if masks else np.zeros((0, 4), dtype=bool)
    new_all = np.concatenate(newb) if newb else np.zeros((0, 4), dtype=np.int64)
    access = cols["has_word"] == 1
    word = cols["q"] + (cols["h"] << 14)
    return IoPlan(cols, mask_all, new_all, access, word)


def _io_bytes(trace: ExecutionTrace, kind: int) -> I64:
    io = trace.io.astype(np.int64)
    return io[2, io[3] == kind] if io.shape[1] else np.zeros(0, dtype=np.int64)


def io_memory_values(
    plan: IoPlan,
    img_keys: I64,
    img_vals: I64,
    store_word: I64,
    store_now: I64,
    store_lanes: npt.NDArray[np.bool_],
    store_bytes: I64,
) -> tuple[I64, I64]:
    """(previous word, word after) of each IO word access: RAM is the image plus every write.

    The CPU's stores (word key, time, (n, 4) lanes written, (n, 4) bytes: the executor's claim,
    so any store width fits) and read_input's enabled bytes write byte lanes; each lane after
    each access is the last write to it (forward fill within the word), else the image's byte.
    Loads write nothing and need not be listed.
    """
    sel = plan.access
    io_word = plan.word[sel]
    io_now = plan.cols["clk"][sel] + 1
    is_read = plan.cols["is_read"][sel] == 1
    io_mask = plan.mask[sel] & is_read[:, None]
    io_byte = plan.new_bytes[sel]
    mc = len(store_word)
    words = np.concatenate([store_word, io_word])
    times = np.concatenate([store_now, io_now])
    order = np.lexsort((times, words))
    ws = words[order]
    n = len(ws)
    first = np.ones(n, dtype=bool)
    first[1:] = ws[1:] != ws[:-1]
    init = np.zeros(n, dtype=np.int64)
    if len(img_keys) and n:
        pos = np.minimum(np.searchsorted(img_keys, ws), len(img_keys) - 1)
        hit = img_keys[pos] == ws
        init[hit] = img_vals[pos[hit]]
    idx = np.arange(n)
    group_start = np.maximum.accumulate(np.where(first, idx, 0)) if n else idx
    after = np.zeros(n, dtype=np.int64)
    prev = np.zeros(n, dtype=np.int64)
    for j in range(4):
        lane = np.concatenate([store_bytes[:, j], io_byte[:, j]])[order]
        fixed = np.concatenate([store_lanes[:, j], io_mask[:, j]])[order]
        init_lane = (init >> (8 * j)) & 0xFF
        last_fix = np.maximum.accumulate(np.where(fixed, idx, -1)) if n else idx
        after_j = np.where(last_fix >= group_start, lane[last_fix], init_lane)
        prev_j = np.where(first, init_lane, np.roll(after_j, 1))
        after |= after_j << (8 * j)
        prev |= prev_j << (8 * j)
    after_u = np.empty(n, dtype=np.int64)
    prev_u = np.empty(n, dtype=np.int64)
    after_u[order] = after
    prev_u[order] = prev
    return prev_u[mc:], after_u[mc:]


def io_chip_trace(
    plan: IoPlan, prev: I64, after: I64, prev_t: I64, height: int
) -> tuple[I64, I64, I64, I64, I64]:
    """IO chip rows (height rows) and their 16-bit, 8-bit, 15-bit and byte-pair lookups."""
    cols = dict(plan.cols)
    n = len(cols["is_real"])
    sel = plan.access
    old = np.zeros((n, 4), dtype=np.int64)
    new = np.zeros((n, 4), dtype=np.int64)
    tp = np.zeros(n, dtype=np.int64)
    for j in range(4):
        old[sel, j] = (prev >> (8 * j)) & 0xFF
        new[sel, j] = (after >> (8 * j)) & 0xFF
    tp[sel] = prev_t
    for j in range(4):
        cols[f"m{j}"] = plan.mask[:, j].astype(np.int64)
        cols[f"o{j}"] = old[:, j]
        cols[f"n{j}"] = new[:, j]
    diff = np.where(sel, cols["clk"] + 1 - tp - 1, 0)
    cols["tp"] = tp
    cols["e"] = diff >> 16
    # Gap to the next block's clk (blocks in cycle order), on the row before that block.
    cg = np.zeros(n, dtype=np.int64)
    starts = np.flatnonzero(cols["first"] == 1)
    if len(starts) > 1:
        cg[starts[1:] - 1] = cols["clk"][starts[1:]] - cols["clk"][starts[:-1]] - 1
    cols["cg"] = cg & 0xFFFF
    cols["cgh"] = cg >> 16
    if height < n:
        raise ZkProofError("internal: IO chip height too small")
    out = np.zeros((height, len(IO_COLUMNS)), dtype=np.int64)
    for name, v in cols.items():
        out[:n, io_col(name)] = v
    # Padding rows: the position chains run over every row, so they keep the final values.
    if n:
        cnt = plan.mask[-1].sum()
        out[n:, io_col("in_pos")] = cols["in_pos"][-1] + cols["is_read"][-1] * cnt
        out[n:, io_col("out_pos")] = cols["out_pos"][-1] + cols["is_write"][-1] * cnt
    first = cols["first"] == 1
    nz = cols["nz"] == 1
    is_read = cols["is_read"] == 1
    is_log = cols["is_log"] == 1
    short = cols["short"] == 1
    buf_off = cols["buf_lo"] + ((cols["buf_hi"] - RAM_HI) << 16)
    length = cols["len_lo"] + (cols["len_hi"] << 16)
    end = buf_off + cols["rem"] + np.where(is_log, length, 0) - 1
    q = cols["q"][sel]
    r16 = [
        cols["cg"],
        4 * q,
        (diff - (cols["e"] << 16))[sel],
        cols["d_lo"][short],
        cols["d_hi"][short],
        cols["ret_lo"][first & is_read],
        (cols["len_hi"] + LEN_HI_SLACK)[nz & ~is_read],
        (end - (cols["eh"] << 16))[nz],
    ]
    u8 = [
        cols["cgh"],
        cols["h"][sel],
        cols["e"][sel],
        cols["ret_hi"][first & is_read],
        (cols["buf_hi"] - RAM_HI)[nz],
        cols["eh"][nz],
    ]
    pairs = [old[sel, 0] + 256 * old[sel, 1], old[sel, 2] + 256 * old[sel, 3]]
    return out, np.concatenate(r16), np.concatenate(u8), q, np.concatenate(pairs)


def io_table_mult(plan: IoPlan, height: int | None = None) -> I64:
    """The IO table's main column: 1 on each input row the chip consumed (the input rows come
    first). Without a height: the smallest power of two that holds them."""
    rd = plan.cols["is_read"] == 1
    consumed = int(plan.mask[rd].sum())
    if height is None:
        height = max(2, 1 << max(0, (consumed - 1).bit_length()))
    mult = np.zeros((height, 1), dtype=np.int64)
    mult[: min(consumed, height), 0] = 1
    return mult
