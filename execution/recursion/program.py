"""The verifier program: a fixed, non-branching list of instructions over write-once cells.

This is the contract between the recorder (which produces a program by running the STARK
verifier over symbolic values) and the recursion AIR (which proves one execution of a program).
docs/recursion.md describes it in prose; this module is the reference.

Memory: ONE address space of cells, each an element of BabyBear^4 (coefficients of
1, X, X^2, X^3; X^4 = 11). A base value is a cell with limbs 1..3 zero. Every cell is written by
exactly one instruction, before any instruction reads it; the recorder numbers cells 0, 1, 2, ...
in the order they are written, so the k-th written cell has address k (an interpreter may rely
on it; the AIR only needs write-once, which a LogUp memory bus gives).

Instructions (operand order as encoded; `d` outputs, `a, b, c` inputs, `imm` constants):

    CONST   d, imm0..imm3      d = imm (canonical limbs)
    INPUT   d, k               d = (input[k], 0, 0, 0): the k-th program input word (a base value)
    ADD     d, a, b            d = a + b            (BabyBear^4)
    SUB     d, a, b            d = a - b
    MUL     d, a, b            d = a * b
    INV     d, a               d = a^-1, a hint; the AIR checks a * d = 1, so a = 0 cannot pass
    ASSERT_EQ a, b             reject unless a = b (assert_zero is ASSERT_EQ with a zero CONST)
    POSEIDON2 d0..d15, a0..a15 (d_i) = Poseidon2 permutation of (limb 0 of a_i); every a_i must
                               hold a base value (the recorder only feeds base cells), every d_i
                               is a base value
    BITS    d0..d(n-1), a, n   d_i in {0, 1} (hints) with sum d_i 2^i = limb 0 of a as an
                               integer, a a base value; for n = 31 the AIR must also check that
                               the bits name the canonical representative (value < p), else a
                               value below 2^31 - p has two decompositions; n <= 31
    SELECT  d, c, a, b         d = a if c = 1 else b (c is a bit cell, c in {0, 1} by BITS);
                               computed as b + c * (a - b)
    OUTPUT  a                  append a to the program's public outputs (the statement it
                               verified; recursion exposes it)

Encoding (what the control id hashes): a sequence of field elements
    [VERSION, num_inputs, num_cells, num_instructions, then per instruction: opcode, operands]
with the operands of each opcode in the order above (BITS: outputs, a, n; its arity is read from
n, which precedes nothing else, so BITS is encoded as opcode, n, a, d0..d(n-1)). The control id
is hash_elements(encoding) (Poseidon2 sponge, domain SPONGE_DOMAIN_HASH): the same verifier on
the same proof shape always gives the same program and therefore the same control id.

Inputs (record.program_inputs builds them from a proof): the statement's public values, table by
table, then every field element of the proof in the byte format's order (execution/stark/proof.py:
per table the TableProof arrays in field order, then fri.commit_roots, fri.final_poly,
fri.pow_nonce, and per FRI round its rows and paths), each array flattened in C order. Sizes,
AIR digests, heights and parameters are not inputs: they are the shape, fixed by the program.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from execution.stark.field import P
from execution.stark.poseidon2 import WIDTH, hash_elements

__all__ = [
    "MAX_BITS",
    "VERSION",
    "Instruction",
    "Op",
    "Program",
    "ProgramError",
]

VERSION = 1
MAX_BITS = 31


class ProgramError(ValueError):
    """A program that breaks the format rules (arity, write-once, read before write)."""


class Op(enum.IntEnum):
    CONST = 1
    INPUT = 2
    ADD = 3
    SUB = 4
    MUL = 5
    INV = 6
    ASSERT_EQ = 7
    POSEIDON2 = 8
    BITS = 9
    SELECT = 10
    OUTPUT = 11


# (number of outputs, number of inputs, number of immediates); BITS has n outputs.
ARITY: dict[Op, tuple[int, int, int]] = {
    Op.CONST: (1, 0, 4),
    Op.INPUT: (1, 0, 1),
    Op.ADD: (1, 2, 0),
    Op.SUB: (1, 2, 0),
    Op.MUL: (1, 2, 0),
    Op.INV: (1, 1, 0),
    Op.ASSERT_EQ: (0, 2, 0),
    Op.POSEIDON2: (WIDTH, WIDTH, 0),
    Op.BITS: (-1, 1, 1),
    Op.SELECT: (1, 3, 0),
    Op.OUTPUT: (0, 1, 0),
}
_OPS = {int(op): op for op in Op}


@dataclass(frozen=True)
class Instruction:
    """One instruction: opcode, output cells, input cells, immediates.

    `note` says which verifier check emitted it (for the interpreter's rejection reason); it is
    not part of the encoding.
    """

    op: Op
    outs: tuple[int, ...]
    ins: tuple[int, ...]
    imm: tuple[int, ...] = ()
    note: str = field(default="", compare=False)

    def encode(self) -> list[int]:
        if self.op == Op.BITS:
            return [int(self.op), self.imm[0], self.ins[0], *self.outs]
        return [int(self.op), *self.outs, *self.ins, *self.imm]


@dataclass
class Program:
    """A verifier program: `num_inputs` input words, `num_cells` cells, the instructions."""

    num_inputs: int
    num_cells: int
    instructions: list[Instruction]

    def check(self) -> None:
        """Raise ProgramError unless every rule of the format holds."""
        written = 0
        # The AIR does not bind an INPUT row to its word index, so two INPUTs of one word would
        # be two independent cells: each word may be read by one INPUT only.
        inputs_read: set[int] = set()
        for i, ins in enumerate(self.instructions):
            outs, nin, nimm = ARITY[ins.op]
            if ins.op == Op.BITS:
                if len(ins.imm) != 1 or not 1 <= ins.imm[0] <= MAX_BITS:
                    raise ProgramError(f"instruction {i}: BITS needs 1..{MAX_BITS} bits")
                outs = ins.imm[0]
            if len(ins.outs) != outs or len(ins.ins) != nin or len(ins.imm) != nimm:
                raise ProgramError(f"instruction {i}: wrong arity for {ins.op.name}")
            if any(not 0 <= v < P for v in ins.imm) and ins.op != Op.BITS:
                raise ProgramError(f"instruction {i}: immediate is not a field element")
            if ins.op == Op.INPUT and not ins.imm[0] < self.num_inputs:
                raise ProgramError(f"instruction {i}: input index out of range")
            if ins.op == Op.INPUT:
                if ins.imm[0] in inputs_read:
                    raise ProgramError(f"instruction {i}: input word {ins.imm[0]} read twice")
                inputs_read.add(ins.imm[0])
            if any(not 0 <= a < written for a in ins.ins):
                raise ProgramError(f"instruction {i}: reads a cell before it is written")
            for d in ins.outs:
                if d != written:
                    raise ProgramError(f"instruction {i}: cells must be written in order")
                written += 1
        if written != self.num_cells:
            raise ProgramError("num_cells does not match the cells written")

    def encode(self) -> npt.NDArray[np.uint32]:
        words = [VERSION, self.num_inputs, self.num_cells, len(self.instructions)]
        for ins in self.instructions:
            words.extend(ins.encode())
        return np.array(words, dtype=np.uint32)

    @classmethod
    def decode(cls, words: npt.NDArray[np.integer]) -> Program:
        """Invert `encode` (ProgramError if malformed; notes are not encoded)."""
        w: list[int] = np.asarray(words, dtype=np.int64).tolist()
        if len(w) < 4 or w[0] != VERSION:
            raise ProgramError("not a program encoding of this version")
        num_inputs, num_cells, n = w[1], w[2], w[3]
        pos = 4
        out: list[Instruction] = []
        try:
            for _ in range(n):
                op = _OPS[w[pos]]  # a dict: Op(...) per instruction was a third of a load
                if op == Op.BITS:
                    bits, a = w[pos + 1], w[pos + 2]
                    outs = tuple(w[pos + 3 : pos + 3 + bits])
                    out.append(Instruction(op, outs, (a,), (bits,)))
                    pos += 3 + bits
                    continue
                k_out, k_in, k_imm = ARITY[op]
                pos += 1
                outs = tuple(w[pos : pos + k_out])
                ins = tuple(w[pos + k_out : pos + k_out + k_in])
                imm = tuple(w[pos + k_out + k_in : pos + k_out + k_in + k_imm])
                out.append(Instruction(op, outs, ins, imm))
                pos += k_out + k_in + k_imm
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise ProgramError(f"malformed program encoding: {exc}") from exc
        if pos != len(w):
            raise ProgramError("malformed program encoding: length")
        return cls(num_inputs, num_cells, out)

    def control_id(self) -> npt.NDArray[np.uint32]:
        """Poseidon2 digest (8 field elements) of the encoding."""
        digest: npt.NDArray[np.uint32] = hash_elements(self.encode())
        return digest

    def counts(self) -> dict[str, int]:
        """Instructions by kind (for size reports)."""
        out: dict[str, int] = {}
        for ins in self.instructions:
            out[ins.op.name] = out.get(ins.op.name, 0) + 1
        return dict(sorted(out.items()))

    def outputs(self) -> list[int]:
        """Cells exposed by OUTPUT, in order."""
        return [ins.ins[0] for ins in self.instructions if ins.op == Op.OUTPUT]
