"""Syscall numbers (ECALL with the number in a7). docs/zkvm.md describes each call.

Kept in a module of its own because the numba core, the SDK header and the docs must agree
on them; a test compares this file with sdk/ivcnet.h.
"""

from __future__ import annotations

SYS_HALT = 0  # a0 = exit code; the run ends
SYS_READ_INPUT = 1  # a0 = buffer, a1 = max bytes; returns bytes read in a0 (0 at end of input)
SYS_WRITE_OUTPUT = 2  # a0 = buffer, a1 = length; appends to the public output
SYS_LOG = 3  # a0 = buffer, a1 = length; debug text, not part of the statement

SYSCALL_NAMES: dict[int, str] = {
    SYS_HALT: "halt",
    SYS_READ_INPUT: "read_input",
    SYS_WRITE_OUTPUT: "write_output",
    SYS_LOG: "log",
}
