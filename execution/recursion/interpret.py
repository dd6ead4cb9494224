"""Native interpreter of verifier programs: run one on input words, accept or reject.

It computes every hint (INV, BITS) the way an honest recursion prover would, and rejects where
no valid hint exists (INV of zero, BITS of a value that does not fit, POSEIDON2 or BITS on a
non-base cell): exactly the executions the recursion AIR cannot prove. The first failing check
is reported with the note of the verifier check that emitted it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from execution.recursion.program import Op, Program
from execution.stark.air.evaluate import IntExtOps
from execution.stark.field import P
from execution.stark.poseidon2 import permute

__all__ = ["Verdict", "run"]

Ext = tuple[int, int, int, int]
_OPS = IntExtOps()
_ZERO: Ext = (0, 0, 0, 0)
_ONE: Ext = (1, 0, 0, 0)


@dataclass
class Verdict:
    """accepted, or the index and note of the first instruction that cannot hold."""

    accepted: bool
    failed_at: int | None = None
    reason: str = ""
    outputs: list[Ext] = field(default_factory=list)


def _ext_inv(a: Ext) -> Ext:
    # a * a(-X) lies in F[X^2]; its norm to F is one base inversion (as lanes.e_inv).
    conj = (a[0], (-a[1]) % P, a[2], (-a[3]) % P)
    n2 = _OPS.mul(a, conj)
    u, v = n2[0], n2[2]
    norm = (u * u - 11 * v * v) % P
    ninv = pow(norm, P - 2, P)
    return _OPS.mul(conj, (u * ninv % P, 0, (-v) * ninv % P, 0))


def run(program: Program, inputs: list[int]) -> Verdict:
    """Execute `program` on `inputs`; never raises on bad inputs, returns a rejection."""
    if len(inputs) != program.num_inputs:
        return Verdict(False, None, "wrong number of inputs")
    if any(not 0 <= int(v) < P for v in inputs):
        return Verdict(False, None, "an input is not a field element")
    mem: list[Ext] = [_ZERO] * program.num_cells
    outputs: list[Ext] = []
    add, sub, mul = _OPS.add, _OPS.sub, _OPS.mul
    for pc, ins in enumerate(program.instructions):
        op = ins.op
        if op == Op.ADD:
            mem[ins.outs[0]] = add(mem[ins.ins[0]], mem[ins.ins[1]])
        elif op == Op.MUL:
            mem[ins.outs[0]] = mul(mem[ins.ins[0]], mem[ins.ins[1]])
        elif op == Op.SELECT:
            c = mem[ins.ins[0]]
            mem[ins.outs[0]] = mem[ins.ins[1]] if c == _ONE else mem[ins.ins[2]]
            if c not in (_ONE, _ZERO):
                return Verdict(False, pc, f"{ins.note}: select on a non-bit")
        elif op == Op.SUB:
            mem[ins.outs[0]] = sub(mem[ins.ins[0]], mem[ins.ins[1]])
        elif op == Op.CONST:
            mem[ins.outs[0]] = (ins.imm[0], ins.imm[1], ins.imm[2], ins.imm[3])
        elif op == Op.INPUT:
            mem[ins.outs[0]] = (int(inputs[ins.imm[0]]), 0, 0, 0)
        elif op == Op.ASSERT_EQ:
            if mem[ins.ins[0]] != mem[ins.ins[1]]:
                return Verdict(False, pc, ins.note)
        elif op == Op.POSEIDON2:
            vals = [mem[a] for a in ins.ins]
            if any(v[1] or v[2] or v[3] for v in vals):
                return Verdict(False, pc, f"{ins.note}: Poseidon2 on a non-base cell")
            out = permute(np.array([[v[0] for v in vals]], dtype=np.uint32))[0]
            for d, v in zip(ins.outs, out.tolist(), strict=True):
                mem[d] = (int(v), 0, 0, 0)
        elif op == Op.BITS:
            v = mem[ins.ins[0]]
            n = ins.imm[0]
            if v[1] or v[2] or v[3] or v[0] >> n:
                return Verdict(False, pc, f"{ins.note}: value does not fit in {n} bits")
            for k, d in enumerate(ins.outs):
                mem[d] = ((v[0] >> k) & 1, 0, 0, 0)
        elif op == Op.INV:
            v = mem[ins.ins[0]]
            if v == _ZERO:
                return Verdict(False, pc, f"{ins.note}: inverse of zero")
            mem[ins.outs[0]] = _ext_inv(v)
        elif op == Op.OUTPUT:
            outputs.append(mem[ins.ins[0]])
        else:  # pragma: no cover - Program.check rejects unknown opcodes
            return Verdict(False, pc, f"unknown opcode {op}")
    return Verdict(True, outputs=outputs)
