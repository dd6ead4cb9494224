"""Executor semantics on hand-assembled programs: M-extension edge cases, x0, syscalls,
traces, and every abnormal ending as a typed error carrying the pc."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from execution.zkvm import (
    DEFAULT_LAYOUT,
    CycleLimitExceeded,
    IllegalInstruction,
    InstructionFetchError,
    Machine,
    MisalignedAccess,
    OutOfBoundsAccess,
    OutputLimitExceeded,
    Program,
    RomWrite,
    UnknownSyscall,
    execute,
)
from execution.zkvm.asm import (
    EBREAK_WORD,
    ECALL_WORD,
    b_type,
    halt,
    i_type,
    j_type,
    li,
    r_type,
    s_type,
    u_type,
)

ROM = DEFAULT_LAYOUT.rom_base
RAM = DEFAULT_LAYOUT.ram_base
M32 = 0xFFFF_FFFF
INT_MIN = 0x8000_0000

MakeProgram = Callable[..., Program]


def m_op(f3: int, a: int, b: int) -> list[int]:
    """x12 = x10 <op> x11 for M-extension funct3 `f3`, then halt with x12."""
    return [*li(10, a), *li(11, b), r_type(1, 11, 10, f3, 12), *halt(12)]


@pytest.mark.parametrize(
    ("f3", "a", "b", "expected"),
    [
        (4, 7, 0, M32),  # DIV by zero -> -1
        (5, 7, 0, M32),  # DIVU by zero -> all ones
        (6, 7, 0, 7),  # REM by zero -> dividend
        (7, 0xFFFF_FFF9, 0, 0xFFFF_FFF9),  # REMU by zero -> dividend
        (4, INT_MIN, M32, INT_MIN),  # DIV overflow -> INT_MIN
        (6, INT_MIN, M32, 0),  # REM overflow -> 0
        (4, 0xFFFF_FFF9, 2, 0xFFFF_FFFD),  # -7 / 2 = -3 (rounds toward zero)
        (6, 0xFFFF_FFF9, 2, M32),  # -7 % 2 = -1 (sign of the dividend)
        (5, 0xFFFF_FFF9, 2, 0x7FFF_FFFC),
        (0, INT_MIN, M32, INT_MIN),  # MUL low bits
        (1, INT_MIN, INT_MIN, 0x4000_0000),  # MULH (-2^31)^2 >> 32
        (2, M32, M32, M32),  # MULHSU -1 * (2^32-1) -> high word -1
        (3, M32, M32, 0xFFFF_FFFE),  # MULHU
    ],
)
def test_m_extension_edge_cases(
    make_program: MakeProgram, f3: int, a: int, b: int, expected: int
) -> None:
    result = execute(make_program(m_op(f3, a, b)))
    assert result.exit_code == expected


def test_x0_stays_zero_and_trace_rd_is_zero(make_program: MakeProgram) -> None:
    words = [i_type(5, 0, 0, 0), r_type(0, 0, 0, 0, 10), *halt()]  # addi x0,x0,5; add a0,x0,x0
    result = execute(make_program(words), record_trace=True)
    assert result.exit_code == 0
    assert result.trace is not None
    assert result.trace.rd_val[0] == 0


def test_trace_columns_describe_each_step(make_program: MakeProgram) -> None:
    words = [
        *li(5, RAM + 0x100),  # 0, 1
        *li(6, 0x1234_5678),  # 2, 3
        s_type(2, 6, 5, 1),  # 4: sh x6, 2(x5)
        i_type(2, 5, 5, 7, 0x03),  # 5: lhu x7, 2(x5)
        b_type(8, 0, 0, 0),  # 6: beq x0, x0, +8
        EBREAK_WORD,  # 7: skipped
        *halt(7),  # 8..
    ]
    result = execute(make_program(words), record_trace=True)
    t = result.trace
    assert t is not None and len(t) == result.cycles
    assert t.pc[4] == ROM + 16 and t.mem_addr[4] == RAM + 0x102
    assert t.mem_val[4] == 0x5678 and t.mem_width[4] == 2 and t.rs2_val[4] == 0x1234_5678
    assert t.rd_val[5] == 0x5678 and t.mem_val[5] == 0x5678
    assert t.next_pc[6] == ROM + 32
    assert np.array_equal(t.next_pc[:-1], t.pc[1:])
    assert result.exit_code == 0x5678
    ram = t.final_ram.view(np.uint8)
    assert ram[0x102:0x104].tobytes() == b"\x78\x56"


def test_syscalls_move_bytes_and_are_traced(make_program: MakeProgram) -> None:
    words = [
        *li(10, RAM + 0x40),
        *li(11, 100),
        *li(17, 1),
        ECALL_WORD,  # read_input(RAM+0x40, 100) -> a0 = 5
        i_type(0, 10, 0, 11),  # a1 = bytes read
        *li(10, RAM + 0x40),
        *li(17, 3),
        ECALL_WORD,  # log
        *li(17, 2),
        ECALL_WORD,  # write_output
        *li(10, 3),
        *halt(),
    ]
    result = execute(make_program(words), b"hello", record_trace=True)
    assert result.output == b"hello" and result.log == b"hello" and result.exit_code == 3
    t = result.trace
    assert t is not None
    assert t.syscalls.shape == (5, 4)
    assert t.syscalls[1].tolist() == [1, 3, 2, 0]  # numbers in order
    assert t.syscalls[4, 0] == 5  # read returned 5
    assert t.io.shape == (4, 10)
    assert t.io[2].tobytes() == b"".join(bytes([c, 0, 0, 0]) for c in b"hellohello")


def test_trace_buffers_grow_past_first_chunk(make_program: MakeProgram) -> None:
    # Count down from 100,000: 200,001 steps, more than the first 65,536-row chunk.
    words = [*li(5, 100_000), i_type(-1, 5, 0, 5), b_type(-4, 0, 5, 1), *halt()]
    plain = execute(make_program(words))
    traced = execute(make_program(words), record_trace=True)
    assert traced.trace is not None and len(traced.trace) == plain.cycles == traced.cycles
    assert traced.trace.pc[-1] == ROM + 4 * (len(words) - 1)


def test_resumable_machine_matches_one_shot_run(examples: dict[str, Program]) -> None:
    program = examples["sha256"]
    whole = execute(program, b"x" * 200)
    machine = Machine(program, b"x" * 200)
    steps = 0
    while not machine.run(steps + 997):
        steps += 997
    assert machine.output == whole.output and machine.cycles == whole.cycles


def _expect(program: Program, exc: type[Exception], pc: int) -> Exception:
    with pytest.raises(exc) as info:
        execute(program, max_cycles=10_000)
    assert getattr(info.value, "pc", None) == pc
    assert f"pc=0x{pc:08x}" in str(info.value)
    return info.value


def test_illegal_instruction(make_program: MakeProgram) -> None:
    err = _expect(make_program([i_type(0, 0, 0, 0), 0xFFFF_FFFF]), IllegalInstruction, ROM + 4)
    assert isinstance(err, IllegalInstruction) and err.word == 0xFFFF_FFFF


@pytest.mark.parametrize(
    "word",
    [
        EBREAK_WORD,
        0x0000_0000,  # all-zero is defined illegal
        0x3000_2573,  # csrr a0, mstatus: Zicsr is not part of RV32IM
        0x0000_100F,  # fence.i: Zifencei is not part of RV32IM
        0x0200_1013,  # slli with shamt[5] set: reserved in RV32
        0x4000_1033,  # sll with funct7 0x20
        0x0000_3003,  # ld (RV64)
        0x0000_2063,  # branch funct3 2
        0x0000_4501,  # compressed c.li
    ],
)
def test_reserved_encodings_are_illegal(make_program: MakeProgram, word: int) -> None:
    _expect(make_program([word]), IllegalInstruction, ROM)


def test_misaligned_load(make_program: MakeProgram) -> None:
    words = [*li(5, RAM + 2), i_type(0, 5, 2, 6, 0x03)]  # lw x6, 0(x5)
    err = _expect(make_program(words), MisalignedAccess, ROM + 8)
    assert isinstance(err, MisalignedAccess) and err.addr == RAM + 2


def test_load_outside_ram(make_program: MakeProgram) -> None:
    words = [*li(5, DEFAULT_LAYOUT.ram_end), i_type(0, 5, 0, 6, 0x03)]  # lb just past RAM
    err = _expect(make_program(words), OutOfBoundsAccess, ROM + 8)
    assert isinstance(err, OutOfBoundsAccess) and err.addr == DEFAULT_LAYOUT.ram_end


def test_load_from_rom_is_refused(make_program: MakeProgram) -> None:
    words = [*li(5, ROM), i_type(0, 5, 2, 6, 0x03)]  # ROM is execute-only
    _expect(make_program(words), OutOfBoundsAccess, ROM + 8)


def test_store_to_rom(make_program: MakeProgram) -> None:
    words = [*li(5, ROM), s_type(0, 5, 5, 2)]
    err = _expect(make_program(words), RomWrite, ROM + 8)
    assert isinstance(err, RomWrite) and err.addr == ROM


def test_word_access_straddling_ram_end(make_program: MakeProgram) -> None:
    words = [*li(5, DEFAULT_LAYOUT.ram_end - 2), s_type(0, 0, 5, 1), s_type(0, 0, 5, 2)]
    _expect(make_program(words), MisalignedAccess, ROM + 12)


def test_jump_outside_rom(make_program: MakeProgram) -> None:
    words = [j_type(0x1000, 0)]
    err = _expect(make_program(words), InstructionFetchError, ROM + 0x1000)
    assert isinstance(err, InstructionFetchError) and err.target == ROM + 0x1000


def test_misaligned_jump_target(make_program: MakeProgram) -> None:
    words = [u_type(0, 5, 0x17), i_type(6, 5, 0, 0, 0x67)]  # jalr x0, 6(x5): target pc+6
    _expect(make_program(words), InstructionFetchError, ROM + 4)
    _expect(make_program([b_type(6, 0, 0, 0)]), InstructionFetchError, ROM)


def test_running_off_the_end_of_rom(make_program: MakeProgram) -> None:
    _expect(make_program([i_type(0, 0, 0, 0)]), InstructionFetchError, ROM + 4)


def test_cycle_limit(make_program: MakeProgram) -> None:
    program = make_program([j_type(0, 0)])  # jal x0, 0: a tight infinite loop
    with pytest.raises(CycleLimitExceeded) as info:
        execute(program, max_cycles=12_345)
    assert info.value.pc == ROM and info.value.limit == 12_345


def test_exact_cycle_budget_is_enough(make_program: MakeProgram) -> None:
    program = make_program(halt())
    assert execute(program, max_cycles=3).cycles == 3
    with pytest.raises(CycleLimitExceeded):
        execute(program, max_cycles=2)


def test_unknown_syscall(make_program: MakeProgram) -> None:
    err = _expect(make_program([*li(17, 99), ECALL_WORD]), UnknownSyscall, ROM + 8)
    assert isinstance(err, UnknownSyscall) and err.number == 99


def test_syscall_buffer_outside_ram(make_program: MakeProgram) -> None:
    words = [*li(10, ROM), *li(11, 4), *li(17, 2), ECALL_WORD]
    _expect(make_program(words), OutOfBoundsAccess, ROM + 24)


def test_huge_output_length_is_refused(make_program: MakeProgram) -> None:
    words = [*li(10, RAM), *li(11, 0xFFFF_FFFF), *li(17, 2), ECALL_WORD]
    _expect(make_program(words), OutOfBoundsAccess, ROM + 24)


def test_output_limit(make_program: MakeProgram) -> None:
    words = [*li(10, RAM), *li(11, 64), *li(17, 2), ECALL_WORD, *halt()]
    with pytest.raises(OutputLimitExceeded):
        execute(make_program(words), max_output=63)
    assert execute(make_program(words), max_output=64).output == bytes(64)


def test_trace_operand_columns_are_zero_without_operands(make_program: MakeProgram) -> None:
    words = [*li(5, 77), u_type(0x12345, 6, 0x37), j_type(4, 7), i_type(1, 5, 0, 8), *halt()]
    t = execute(make_program(words), record_trace=True).trace
    assert t is not None
    # li = lui + addi: lui has neither operand, addi only rs1 (= x5 after the lui)
    assert t.rs1_val[0] == 0 and t.rs2_val[0] == 0
    assert t.rs2_val[1] == 0
    # lui x6 (rs1 field holds immediate bits), jal: no operands
    assert t.rs1_val[2] == 0 and t.rs2_val[2] == 0 and t.rs1_val[3] == 0
    assert t.rs1_val[4] == 77 and t.rs2_val[4] == 0  # addi x8, x5, 1


def test_io_table_grows_with_large_input(examples: dict[str, Program]) -> None:
    data = bytes(range(256)) * 80  # 20,480 bytes: past the first 4,096-entry io chunk
    result = execute(examples["sha256"], data, record_trace=True)
    t = result.trace
    assert t is not None
    assert t.io.shape == (4, len(data) + 32)
    assert t.io[2, : len(data)].astype(np.uint8).tobytes() == data
    assert t.io[2, len(data) :].astype(np.uint8).tobytes() == result.output
    assert (t.io[3, : len(data)] == 0).all() and (t.io[3, len(data) :] == 1).all()
    # every io row points at an ECALL step
    assert set(t.insn[t.io[0]].tolist()) == {0x0000_0073}
