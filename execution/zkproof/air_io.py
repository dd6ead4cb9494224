"""The syscall (IO) chip and the input/output table (design and soundness: docs/zkvm-prover.md).

- IoChipAir: one block of rows per non-halt ECALL (read_input, write_output, log), in cycle
  order. The block's first row receives the CPU's syscall message and checks the call's rules
  (number, buffer inside RAM, read_input's count = min(length, remaining input)); each row moves
  the enabled bytes of one RAM word through the memory argument (time clk + 1) and looks each
  byte up in the IO table by its running stream position.
- IoTableAir: the input bytes (from the proof file, checked against the input digest) and the
  output bytes (from the statement) as preprocessed rows (kind, position, byte). Each output
  byte must be consumed exactly once; input bytes as often as the main column says (the chip's
  contiguous positions make that once each, for a prefix of the input).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from execution.stark.air.builder import Air, AirBuilder
from execution.stark.air.expr import Expr, ExprLike
from execution.zkproof.air import (
    BUS_BYTEPAIR,
    BUS_MEM,
    BUS_RANGE16,
    BUS_SYSCALL,
    BUS_U8,
    BUS_U15,
    LIMB,
    RAM_HI,
)

__all__ = [
    "BUS_IOBYTE",
    "IO_COLUMNS",
    "IO_PUBLICS",
    "IO_TAG_INPUT",
    "IO_TAG_OUTPUT",
    "IoChipAir",
    "IoTableAir",
    "io_col",
]

BUS_IOBYTE = 24  # (tag, stream position, byte): tag 1 input, 2 output
IO_TAG_INPUT = 1
IO_TAG_OUTPUT = 2
RAM_WORDS_LOG = 22  # 16 MiB of RAM: word keys q + 2^14 h with q 14-bit, h 8-bit
LEN_HI_SLACK = LIMB - 1 - 256  # len_hi + this is 16-bit iff len_hi <= 256 (len <= 2^24 + ...)

IO_COLUMNS: tuple[str, ...] = (
    "is_real",
    "first",  # the row starts a syscall's block (receives the CPU's message)
    "is_read",
    "is_write",
    "is_log",  # kind, constant over the block
    "clk",  # the ECALL's cycle, constant over the block
    "has_word",  # the row accesses a RAM word
    "q",
    "h",  # word key q + 2^14 h (q 14-bit, h 8-bit: inside RAM)
    *(f"m{i}" for i in range(4)),  # byte i of the word is moved
    *(f"o{i}" for i in range(4)),  # the word's bytes before the call
    *(f"n{i}" for i in range(4)),  # and after (read_input replaces the moved bytes)
    "tp",
    "e",  # memory argument: previous time, high part of the time difference
    "in_pos",
    "out_pos",  # stream positions before this row
    "spos",  # the position of this row's stream (input for reads, output for writes)
    "rem",  # bytes of this call still to move, this row included
    "off",  # buffer offset minus the stream position at the call's start (block constant)
    "cg",
    "cgh",  # the next block's clk - clk - 1 = cg + 2^16 cgh (blocks in cycle order)
    # Meaningful on a block's first row only (zero elsewhere):
    "buf_lo",
    "buf_hi",  # a0: buffer
    "len_lo",
    "len_hi",  # a1: length
    "ret_lo",
    "ret_hi",  # new a0: the count for read_input, the buffer otherwise
    "nz",  # the call moves bytes (read: count > 0; write, log: length > 0): bounds apply
    "short",  # read_input: count < length, so the input is exhausted
    "d_lo",
    "d_hi",
    "bw",  # length - count - 1 = d (limbs, borrow bw) when short
    "eh",  # the last byte's offset = lo + 2^16 eh, below 2^24: the buffer ends inside RAM
)
_IO_INDEX = {name: i for i, name in enumerate(IO_COLUMNS)}

IO_PUBLICS: tuple[str, ...] = ("input_len",)


def io_col(name: str) -> int:
    return _IO_INDEX[name]


class IoChipAir(Air):
    """read_input / write_output / log: one block of rows per call, one row per RAM word."""

    name = "zkvm_io_chip_v1"
    width = len(IO_COLUMNS)
    num_public_values = len(IO_PUBLICS)

    def eval(self, b: AirBuilder) -> None:
        c = {n: b.local[i] for n, i in _IO_INDEX.items()}
        nx = {n: b.next[i] for n, i in _IO_INDEX.items()}
        input_len = b.public[0]
        real, first = c["is_real"], c["first"]
        rd, wr, lg = c["is_read"], c["is_write"], c["is_log"]
        for flag in (real, first, rd, wr, lg, c["has_word"], c["nz"], c["short"], c["bw"]):
            b.assert_bool(flag)
        b.assert_zero(rd + wr + lg - real)
        b.assert_zero(first * (1 - real))
        b.assert_zero(c["has_word"] * (1 - real))
        b.when_transition(nx["is_real"] * (1 - real))
        b.when_first_row(first - real)
        b.when_first_row(c["in_pos"])
        b.when_first_row(c["out_pos"])

        # Block structure: a row that is real and not first continues the previous row's call.
        cont = nx["is_real"] - nx["first"]  # = real (1 - first), as first implies real
        for name in ("clk", "is_read", "is_write", "off"):
            b.when_transition(cont * (nx[name] - c[name]))
        # Calls in cycle order, so the streams are consumed in program order.
        b.when_transition(nx["first"] * (nx["clk"] - c["clk"] - 1 - c["cg"] - LIMB * c["cgh"]))
        b.send(BUS_RANGE16, [c["cg"]], real)
        b.send(BUS_U8, [c["cgh"]], real)

        # Bytes: m contiguous is implied by the address rule below (addresses = offset + stream
        # position, positions consecutive). Disabled bytes and every byte of a write stay.
        m = [c[f"m{i}"] for i in range(4)]
        o = [c[f"o{i}"] for i in range(4)]
        n = [c[f"n{i}"] for i in range(4)]
        cnt = m[0] + m[1] + m[2] + m[3]
        word = c["q"] + (1 << 14) * c["h"]
        spos = c["spos"]
        b.assert_zero(spos - rd * c["in_pos"] - wr * c["out_pos"])
        b.when_transition(nx["in_pos"] - c["in_pos"] - rd * cnt)
        b.when_transition(nx["out_pos"] - c["out_pos"] - wr * cnt)
        tag = IO_TAG_INPUT * rd + IO_TAG_OUTPUT * wr
        prefix: Expr | int = 0
        for i in range(4):
            b.assert_bool(m[i])
            b.assert_zero((1 - c["has_word"]) * m[i])
            b.assert_zero(m[i] * (4 * word + i - spos - prefix - c["off"]))
            b.assert_zero((1 - m[i]) * (n[i] - o[i]))
            b.assert_zero(wr * (n[i] - o[i]))
            b.send(BUS_IOBYTE, [tag, spos + prefix, n[i]], m[i])
            prefix = prefix + m[i]

        # Bytes still to move: counts down over the block and ends at 0.
        b.when_transition(cont * (nx["rem"] - c["rem"] + cnt))
        b.when_transition((nx["first"] + real - nx["is_real"]) * (c["rem"] - cnt))
        b.when_last_row(real * (c["rem"] - cnt))

        # The word: inside RAM, memory argument at time clk + 1 (an ECALL row makes no other
        # memory access, and a call touches each word once: a second access at the same time
        # fails the time check).
        hw = c["has_word"]
        b.send(BUS_U15, [c["q"]], hw)
        b.send(BUS_RANGE16, [4 * c["q"]], hw)
        b.send(BUS_U8, [c["h"]], hw)
        b.send(BUS_BYTEPAIR, [o[0], o[1]], hw)
        b.send(BUS_BYTEPAIR, [o[2], o[3]], hw)
        now = c["clk"] + 1
        b.receive(BUS_MEM, [word, o[0] + 256 * o[1], o[2] + 256 * o[3], c["tp"]], hw)
        b.send(BUS_MEM, [word, n[0] + 256 * n[1], n[2] + 256 * n[3], now], hw)
        b.send(BUS_RANGE16, [now - c["tp"] - 1 - LIMB * c["e"]], hw)
        b.send(BUS_U8, [c["e"]], hw)

        # The call (first row). Register limbs arrive canonical from the CPU.
        num = rd + 2 * wr + 3 * lg
        msg: list[ExprLike] = [c["clk"], num, 0, c["buf_lo"], c["buf_hi"]]
        msg += [c["len_lo"], c["len_hi"], c["ret_lo"], c["ret_hi"]]
        b.receive(BUS_SYSCALL, msg, first)
        length = c["len_lo"] + LIMB * c["len_hi"]
        ret = c["ret_lo"] + LIMB * c["ret_hi"]
        b.assert_zero(first * (c["rem"] - rd * ret - wr * length))
        # write_output and log leave a0 unchanged.
        b.assert_zero((wr + lg) * (c["ret_lo"] - c["buf_lo"]))
        b.assert_zero((wr + lg) * (c["ret_hi"] - c["buf_hi"]))
        # nz = 0 only for an empty transfer (limb sums: a length of p is not zero).
        z = rd * (c["ret_lo"] + c["ret_hi"]) + (wr + lg) * (c["len_lo"] + c["len_hi"])
        b.assert_zero((1 - c["nz"]) * z)
        # read_input: count = length, or count < length and the input is exhausted.
        short = c["short"]
        b.assert_zero(short * (1 - rd))
        b.assert_zero(rd * (1 - short) * (c["len_lo"] - c["ret_lo"]))
        b.assert_zero(rd * (1 - short) * (c["len_hi"] - c["ret_hi"]))
        b.assert_zero(short * (c["len_lo"] - c["ret_lo"] - 1 + LIMB * c["bw"] - c["d_lo"]))
        b.assert_zero(short * (c["len_hi"] - c["ret_hi"] - c["bw"] - c["d_hi"]))
        b.send(BUS_RANGE16, [c["d_lo"]], short)
        b.send(BUS_RANGE16, [c["d_hi"]], short)
        b.assert_zero(short * (c["in_pos"] + ret - input_len))
        b.send(BUS_RANGE16, [c["ret_lo"]], first * rd)
        b.send(BUS_U8, [c["ret_hi"]], first * rd)  # count < 2^24: no wrap in rem
        # A non-empty transfer: the buffer [buf, buf + L) lies inside RAM (as the executor
        # requires; L = count for reads, the length otherwise). The start offset fixes `off`.
        nz = c["nz"]
        buf_off = c["buf_lo"] + LIMB * (c["buf_hi"] - RAM_HI)
        b.send(BUS_U8, [c["buf_hi"] - RAM_HI], nz)
        b.send(BUS_RANGE16, [c["len_hi"] + LEN_HI_SLACK], nz * (wr + lg))
        end = buf_off + c["rem"] + lg * length - 1
        b.send(BUS_RANGE16, [end - LIMB * c["eh"]], nz)
        b.send(BUS_U8, [c["eh"]], nz)
        b.assert_zero(first * nz * (c["off"] - buf_off + spos))


class IoTableAir(Air):
    """Input and output bytes (preprocessed rows: is_in, is_out, position, byte).

    Output rows are consumed exactly once each (multiplicity is_out); input rows as often as
    the main column says, which is forced to 0 on other rows.
    """

    width = 1  # input multiplicity
    preprocessed_width = 4
    num_public_values = 0

    def __init__(self, input_bytes: bytes, output: bytes, digests_hex: str) -> None:
        # The digests are in the name, so the AIR digest (and the transcript) differs per
        # input and output even though the constraint DAG is the same.
        self.name = f"zkvm_io_table_v1_{digests_hex}"
        self.input_bytes = bytes(input_bytes)
        self._table = io_table(input_bytes, output)
        self.log_height = int(self._table.shape[0]).bit_length() - 1

    def eval(self, b: AirBuilder) -> None:
        is_in, is_out, pos, byte = b.prep_local
        mult = b.local[0]
        b.assert_zero(mult * (1 - is_in))
        tag = IO_TAG_INPUT * is_in + IO_TAG_OUTPUT * is_out
        b.receive(BUS_IOBYTE, [tag, pos, byte], mult + is_out)

    def preprocessed_trace(self, log_n: int) -> npt.NDArray[np.uint32]:
        if log_n != self.log_height:
            raise ValueError("the IO table has a fixed height")
        return self._table


def io_table(input_bytes: bytes, output: bytes) -> npt.NDArray[np.uint32]:
    """Preprocessed rows: the input bytes, then the output bytes, padded to a power of two."""
    ni, no = len(input_bytes), len(output)
    total = ni + no
    height = max(2, 1 << max(0, (total - 1).bit_length()))
    out = np.zeros((height, 4), dtype=np.uint32)
    out[:ni, 0] = 1
    out[ni:total, 1] = 1
    out[:ni, 2] = np.arange(ni, dtype=np.uint32)
    out[ni:total, 2] = np.arange(no, dtype=np.uint32)
    out[:ni, 3] = np.frombuffer(input_bytes, dtype=np.uint8)
    out[ni:total, 3] = np.frombuffer(output, dtype=np.uint8)
    return out
