"""zkVM executor speed on the SHA-256 guest: instructions per second without and with trace
recording, next to unicorn (QEMU's RISC-V 32 emulator) running the same ELF in the same run.

Run: .venv/bin/python bench/bench_zkvm_executor.py [--kib 256] [--repeat 5]
Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from unicorn import UC_ARCH_RISCV, UC_HOOK_INTR, UC_MODE_RISCV32, UC_PROT_ALL, Uc  # type: ignore[attr-defined]
from unicorn.riscv_const import UC_RISCV_REG_PC, UC_RISCV_REG_X0

from execution.zkvm import Program, execute, load_elf_file
from execution.zkvm.examples import example_elf


def run_unicorn(program: Program, data: bytes) -> bytes:
    layout = program.layout
    uc = Uc(UC_ARCH_RISCV, UC_MODE_RISCV32)
    uc.mem_map(layout.rom_base, layout.rom_size, UC_PROT_ALL)
    uc.mem_map(layout.ram_base, layout.ram_size, UC_PROT_ALL)
    uc.mem_write(layout.rom_base, program.rom.astype("<u4").tobytes())
    for seg in program.ram_init:
        uc.mem_write(seg.addr, seg.data)
    state: dict[str, Any] = {"pos": 0, "out": bytearray()}

    def on_ecall(uc_: Any, _intno: int, _data: Any) -> None:
        num = uc_.reg_read(UC_RISCV_REG_X0 + 17)
        a0 = uc_.reg_read(UC_RISCV_REG_X0 + 10)
        a1 = uc_.reg_read(UC_RISCV_REG_X0 + 11)
        if num == 0:
            uc_.emu_stop()
        elif num == 1:
            chunk = data[state["pos"] : state["pos"] + a1]
            uc_.mem_write(a0, chunk)
            state["pos"] += len(chunk)
            uc_.reg_write(UC_RISCV_REG_X0 + 10, len(chunk))
        elif num == 2:
            state["out"] += uc_.mem_read(a0, a1)

    uc.hook_add(UC_HOOK_INTR, on_ecall)
    uc.reg_write(UC_RISCV_REG_PC, program.entry)
    uc.emu_start(program.entry, 0xFFFF_FFFF)
    return bytes(state["out"])


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kib", type=int, default=256, help="SHA-256 input size in KiB")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    program = load_elf_file(example_elf("sha256"))
    data = bytes(i * 7 % 251 for i in range(args.kib * 1024))
    execute(program, b"warm-up", record_trace=True)  # compile or load the numba kernel

    # The machine is shared: interleave the three contenders and keep each one's best time,
    # so that a burst of load from elsewhere does not bias the ratios.
    t_plain = t_trace = t_uc = float("inf")
    for _ in range(args.repeat):
        dt, plain = timed(lambda: execute(program, data, max_cycles=1 << 31))
        t_plain = min(t_plain, dt)
        dt, traced = timed(lambda: execute(program, data, max_cycles=1 << 31, record_trace=True))
        t_trace = min(t_trace, dt)
        dt, uc_out = timed(lambda: run_unicorn(program, data))
        t_uc = min(t_uc, dt)
    if not (plain.output == traced.output == uc_out):
        raise SystemExit("outputs differ between runs: the benchmark is invalid")

    cycles = plain.cycles
    params = {"guest": "sha256", "input_kib": args.kib, "cycles": cycles, "repeat": args.repeat}
    uc_rate = cycles / t_uc
    for name, seconds in (
        ("zkvm_exec_sha256_no_trace", t_plain),
        ("zkvm_exec_sha256_trace", t_trace),
    ):
        rate = cycles / seconds
        print(
            json.dumps(
                {
                    "name": name,
                    "value": round(rate),
                    "unit": "instr/s",
                    "parameters": params,
                    "baseline": {
                        "name": "unicorn_sha256",
                        "value": round(uc_rate),
                        "unit": "instr/s",
                        "ratio": round(rate / uc_rate, 3),
                    },
                }
            )
        )
    print(
        json.dumps(
            {
                "name": "unicorn_sha256",
                "value": round(uc_rate),
                "unit": "instr/s",
                "parameters": params,
            }
        )
    )


if __name__ == "__main__":
    main()
