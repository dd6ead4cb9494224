"""The recursion AIR by attack: forged traces proven by the honest prover are rejected.

Each forgery breaks exactly one rule (the prover's own row check, run first, names it) and the
verifier must reject the proof built from it without that check.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import numpy.typing as npt
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from test_air_cases import (
    FAST,
    bits_program,
    const_add_program,
    every_op_program,
    forge,
    merkle_step_program,
    poseidon2_program,
    row_of,
)

from execution.recursion.air import MAX_BITS, ArithAir, BitsAir, OutputAir
from execution.recursion.program import Instruction, Op, Program
from execution.recursion.prove import RecursionKey, bind_air, program_key, prove_traces, verify
from execution.recursion.tracegen import Shape, execute, fill, generate
from execution.stark import protocol
from execution.stark.air.compiled import compile_air
from execution.stark.errors import InvalidProof, ProvingError
from execution.stark.examples.poseidon2_air import OUTPUT_COLUMNS as P2_OUT
from execution.stark.examples.poseidon2_air import WIDTH as P2_WIDTH
from execution.stark.examples.poseidon2_air import poseidon2_trace
from execution.stark.extension import ext_mul
from execution.stark.field import P
from execution.stark.proof import Proof

U32 = npt.NDArray[np.uint32]


def _reject(key: RecursionKey, traces: list[U32], publics: list[list[int]], reason: str) -> None:
    """The row check names `reason`; the proof built without the check does not verify."""
    with pytest.raises(ProvingError, match=reason):
        prove_traces(key, traces, publics, FAST)
    proof = prove_traces(key, traces, publics, FAST, check=False)
    outputs = np.array(publics[-1], dtype=np.uint32).reshape(-1, 4)
    with pytest.raises(InvalidProof):
        verify(Proof.from_bytes(proof.to_bytes()), key, key.control_id, outputs, FAST)


def test_tables_have_degree_three_and_the_documented_widths() -> None:
    arith = compile_air(ArithAir())
    bits = compile_air(BitsAir())
    out = compile_air(OutputAir(3))
    assert (arith.width, arith.preprocessed_width, arith.perm_width) == (17, 10, 3)
    assert (bits.width, bits.preprocessed_width) == (3 + 2 * MAX_BITS, 4 + MAX_BITS)
    assert (out.width, out.num_public_values) == (12, 12)
    for c in (arith, bits, out):
        assert c.max_degree <= 3


def test_honest_run_satisfies_every_table() -> None:
    prog, inputs = every_op_program()
    key = program_key(prog)
    traces, publics = generate(key.layout, inputs)
    proof = prove_traces(key, traces, publics, FAST)
    outputs = np.array(publics[-1], dtype=np.uint32).reshape(-1, 4)
    verify(proof, key, prog.control_id(), outputs, FAST)


def test_wrong_arithmetic_result_is_rejected() -> None:
    prog, inputs = every_op_program()
    key = program_key(prog)
    honest, _ = generate(key.layout, inputs)
    t, r = row_of(key, "arith", 3)  # cell 3 = x + y
    bad = (int(honest[t][r, 8]) + 1) % P, 0, 0, 0
    traces, publics = forge(key, inputs, 3, [bad])
    # Everything downstream computed from the forged sum: only the ADD row is wrong.
    assert traces[t][r, 8] == bad[0]
    _reject(key, traces, publics, f"recursion_arith: constraint_0 fails at row {r}")


def _fma_program() -> tuple[Program, list[int]]:
    """d = z + x * y with the product read by nothing else: one FMA row."""
    ins = [Instruction(Op.INPUT, (i,), (), (i,)) for i in range(3)]
    ins += [
        Instruction(Op.CONST, (3,), (), (2, 0, 7, 0)),
        Instruction(Op.MUL, (4,), (0, 3)),  # x * ext const
        Instruction(Op.ADD, (5,), (2, 4)),  # z + product
        Instruction(Op.OUTPUT, (), (5,)),
    ]
    return Program(num_inputs=3, num_cells=6, instructions=ins), [3, 4, 5]


def test_multiply_add_is_one_row_and_a_wrong_result_is_rejected() -> None:
    prog, inputs = _fma_program()
    key = program_key(prog)
    assert key.layout.rows["arith"].tolist() == [5]  # the MUL is fused into the ADD's row
    traces, publics = generate(key.layout, inputs)
    assert publics[-1] == [(5 + 3 * 2) % P, 0, 3 * 7 % P, 0]
    proof = prove_traces(key, traces, publics, FAST)
    verify(proof, key, key.control_id, np.array(publics[-1]).reshape(1, 4), FAST)
    traces, publics = forge(key, inputs, 5, [(5 + 3 * 2 + 1, 0, 21, 0)])
    _reject(key, traces, publics, "recursion_arith: constraint_0 fails at row 0")


def test_read_of_a_value_other_than_the_write_is_rejected() -> None:
    prog, inputs = every_op_program()
    key = program_key(prog)
    honest, _ = generate(key.layout, inputs)
    t, r = row_of(key, "arith", 4)  # cell 4 = cell 3 * cell 2
    a = [int(v) for v in honest[t][r, 0:4]]
    a[0] = (a[0] + 1) % P
    # The MUL row reads cell 3 as a' and multiplies correctly; the rest follows from its result.
    p = ext_mul(np.array(a, dtype=np.uint32), honest[t][r, 4:8])
    traces, publics = forge(key, inputs, 4, [(int(p[0]), int(p[1]), int(p[2]), int(p[3]))])
    traces[t][r, 0:4] = a
    _reject(key, traces, publics, "LogUp buses do not balance")


@pytest.mark.parametrize("table", ["memory_init", "arith"])
def test_second_write_of_a_cell_by_a_padding_row_is_rejected(table: str) -> None:
    # cell 0 = CONST 3; the forger wants the ADD to see 4 there and writes (0, 4) a second time
    # from a padding row (whose preprocessed address is 0), moving the read onto that write.
    prog, inputs = const_add_program(3)
    key = program_key(prog, Shape((2, 2, 1, 1, 1), 1))
    traces, publics = forge(key, inputs, 0, [(4, 0, 0, 0)])
    mem = key.shape.tables().index("memory_init")
    t, pad = key.shape.tables().index(table), len(key.layout.rows[table])
    assert pad < traces[t].shape[0]
    traces[mem][0] = (3, 0)  # the CONST row stays honest but is read by nobody
    if table == "memory_init":
        traces[t][pad] = (4, 1)  # v, mult
    else:
        traces[t][pad, 8:13] = (4, 0, 0, 0, 1)  # d, mult
    assert publics[-1][0] == 4 + inputs[0]
    _reject(key, traces, publics, "LogUp buses do not balance")


def test_changed_poseidon2_output_is_rejected() -> None:
    prog, inputs = poseidon2_program()
    key = program_key(prog)
    honest, _ = generate(key.layout, inputs)
    t, r = row_of(key, "poseidon2", 16)
    outs = [int(v) for v in honest[t][r, P2_OUT]]
    outs[0] = (outs[0] + 1) % P
    traces, publics = forge(key, inputs, 16, [(v, 0, 0, 0) for v in outs])
    traces[t][r, P2_OUT] = outs  # the row writes what its readers read
    _reject(key, traces, publics, f"recursion_poseidon2: constraint_\\d+ fails at row {r}")


@pytest.mark.parametrize("index", [0, 1])
def test_merkle_step_is_one_poseidon2_row_in_swap_mode(index: int) -> None:
    prog, inputs = merkle_step_program(index)
    key = program_key(prog)
    assert len(key.layout.rows["select"]) == 0  # the 16 SELECTs are fused into the row
    traces, publics = generate(key.layout, inputs)
    t, r = row_of(key, "poseidon2", 34)
    assert traces[t][r, P2_WIDTH + 32] == index  # c
    cells = execute(prog, inputs)
    assert (traces[t][r, 0:16] == cells[19:35, 0]).all()  # the SELECTs' values, never written
    proof = prove_traces(key, traces, publics, FAST)
    outputs = np.array(publics[-1], dtype=np.uint32).reshape(-1, 4)
    verify(proof, key, key.control_id, outputs, FAST)


def _p2_row_on(
    key: RecursionKey, inputs: list[int], index: int, state: U32
) -> tuple[list[U32], list[list[int]], int, int]:
    """Traces where the POSEIDON2 instruction `index` permuted `state` instead (its outputs
    carried downstream)."""
    t, r = row_of(key, "poseidon2", index)
    row = poseidon2_trace(state.reshape(1, 16))[0]
    traces, publics = forge(key, inputs, index, [(int(v), 0, 0, 0) for v in row[P2_OUT]])
    traces[t][r, :P2_WIDTH] = row
    return traces, publics, t, r


def test_merkle_step_hashing_the_pair_in_the_wrong_order_is_rejected() -> None:
    prog, inputs = merkle_step_program(1)
    key = program_key(prog)
    honest, _ = generate(key.layout, inputs)
    t, r = row_of(key, "poseidon2", 34)
    raw = honest[t][r, P2_WIDTH + 16 : P2_WIDTH + 32]
    # c = 1 asks for (s, n); the forger hashes (n, s), keeping c and the reads honest.
    traces, publics, _, _ = _p2_row_on(key, inputs, 34, raw)
    assert traces[t][r, P2_WIDTH + 32] == 1
    swap_constraint = f"recursion_poseidon2: constraint_\\d+ fails at row {r}"
    _reject(key, traces, publics, swap_constraint)


def test_plain_poseidon2_row_cannot_swap_its_inputs() -> None:
    prog, inputs = poseidon2_program()
    key = program_key(prog)
    honest, _ = generate(key.layout, inputs)
    t, r = row_of(key, "poseidon2", 16)
    raw = honest[t][r, P2_WIDTH + 16 : P2_WIDTH + 32]
    traces, publics, _, _ = _p2_row_on(key, inputs, 16, np.roll(raw, 8))
    traces[t][r, P2_WIDTH + 32] = 1  # c = 1 makes the swap constraint hold
    _reject(key, traces, publics, f"recursion_poseidon2: constraint_\\d+ fails at row {r}")


def _forge_bits(
    key: RecursionKey, inputs: list[int], bits: list[int]
) -> tuple[list[U32], list[list[int]]]:
    traces, publics = forge(key, inputs, 1, [(b, 0, 0, 0) for b in bits])
    t, r = row_of(key, "bits", 1)
    traces[t][r, 1 : 1 + len(bits)] = bits
    h = [bits[i] if i < len(bits) else 0 for i in (27, 28, 29, 30)]
    t1 = h[0] * h[1] % P
    traces[t][r, 1 + MAX_BITS] = t1
    traces[t][r, 2 + MAX_BITS] = t1 * h[2] * h[3] % P
    return traces, publics


def test_bit_that_is_not_boolean_is_rejected() -> None:
    prog, inputs = bits_program(3, 1)
    key = program_key(prog)
    # 3 * 1 + (p - 1) * 2 = 1: the sum holds, bit 0 is 3.
    traces, publics = _forge_bits(key, inputs, [3, P - 1, 0])
    _reject(key, traces, publics, "recursion_bits: constraint_0 fails at row 0")


def test_non_canonical_31_bit_decomposition_is_rejected() -> None:
    value = 5  # below 2^31 - p, so value + p also has 31 bits and the same sum in the field
    prog, inputs = bits_program(MAX_BITS, value)
    key = program_key(prog)
    alt = value + P
    bits = [(alt >> i) & 1 for i in range(MAX_BITS)]
    traces, publics = _forge_bits(key, inputs, bits)
    canon = 2 * MAX_BITS + 3  # bool and inactive per bit, then sum, t1, t2, canonical
    _reject(key, traces, publics, f"recursion_bits: constraint_{canon} fails at row 0")


def test_select_on_a_condition_that_is_not_a_bit_is_rejected() -> None:
    # INPUT is a free witness: a program that selects on an input word (not on a BITS output)
    # must still not let c = 2 pick the affine combination b + 2 (a - b).
    ins = [Instruction(Op.INPUT, (i,), (), (i,)) for i in range(3)]
    ins += [Instruction(Op.SELECT, (3,), (0, 1, 2)), Instruction(Op.OUTPUT, (), (3,))]
    prog = Program(num_inputs=3, num_cells=4, instructions=ins)
    key = program_key(prog)
    cells = execute(prog, [1, 10, 20])
    cells[0, 0] = 2
    cells[3, 0] = (20 + 2 * (10 - 20)) % P
    traces, publics = fill(key.layout, cells)
    _reject(key, traces, publics, "recursion_select: constraint_0 fails at row 0")


def test_program_swapped_for_another_of_the_same_shape_is_rejected() -> None:
    prog_a, inputs = const_add_program(3)
    prog_b, _ = const_add_program(4)
    key_a, key_b = program_key(prog_a), program_key(prog_b)
    assert key_a.shape == key_b.shape
    assert (key_a.control_id != key_b.control_id).any()
    proof_b = prove_traces(key_b, *generate(key_b.layout, inputs), FAST)
    out_b = np.array([[4 + inputs[0], 0, 0, 0]], dtype=np.uint32)
    verify(proof_b, key_b, prog_b.control_id(), out_b, FAST)
    with pytest.raises(InvalidProof, match="control id"):
        verify(proof_b, key_b, prog_a.control_id(), out_b, FAST)
    with pytest.raises(InvalidProof, match="another AIR"):
        verify(proof_b, key_a, prog_a.control_id(), out_b, FAST)
    # The forger runs B's preprocessed columns under A's table digests.
    forged = RecursionKey(
        key_a.control_id,
        key_b.layout,
        tuple(bind_air(b, b.air, key_a.control_id) for b in key_b.airs),  # type: ignore[arg-type]
    )
    protocol._PREP_CACHE.clear()  # the forger's process computes B's columns under A's digests
    proof = prove_traces(forged, *generate(key_b.layout, inputs), FAST)
    protocol._PREP_CACHE.clear()
    with pytest.raises(InvalidProof):
        verify(proof, key_a, prog_a.control_id(), out_b, FAST)


def test_wrong_public_output_is_rejected() -> None:
    prog, inputs = every_op_program()
    key = program_key(prog)
    traces, publics = generate(key.layout, inputs)
    proof = prove_traces(key, traces, publics, FAST)
    outputs = np.array(publics[-1], dtype=np.uint32).reshape(-1, 4)
    verify(proof, key, key.control_id, outputs, FAST)
    for k, j in ((0, 0), (1, 3), (2, 0)):
        bad = outputs.copy()
        bad[k, j] = (bad[k, j] + 1) % P
        with pytest.raises(InvalidProof):
            verify(proof, key, key.control_id, bad, FAST)
