"""Universal Proof v1 by attack, on one-leaf trees (a lift proof is the root) and a join run by
the interpreter; the multi-leaf trees that need joins proven are in test_universal_v1_tree.py."""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "stark"))

from stark_cases import FAST, statement
from v1_cases import LOG_N, leaf, leaf_of, spec_of, task_id, tree, with_output

from execution.recursion import prove as rp
from execution.recursion.interpret import run
from execution.recursion.join import build_tree, commitment, join_recording, node_publics
from execution.recursion.lift import lift, lift_digest, lift_key
from execution.recursion.record import Recorder, program_inputs_for
from execution.recursion.tracegen import ExecutionError
from execution.stark.field import P
from execution.universal.proof_v0 import InvalidUniversalProof
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf, plain_statement


def test_one_task_root_verifies_and_round_trips() -> None:
    up = tree([1])
    data = up.encode()
    back = UniversalProofV1.decode(data)
    assert back.encode() == data
    root, statements = back.verify(leaf_of, FAST)
    assert root == up.root(statements)
    assert leaf(1)[1].proof.outputs[:, 0].tolist() == lift_digest(statements[0]).tolist()


def test_statement_list_that_differs_in_one_output_is_rejected() -> None:
    up = tree([1])
    (v,) = up.leaves
    with pytest.raises(InvalidUniversalProof, match="root proof rejected"):
        replace(up, leaves=(with_output(v),)).verify(leaf_of, FAST)
    with pytest.raises(InvalidUniversalProof, match="root proof rejected"):
        replace(up, leaves=(replace(v, task_id=task_id(9)),)).verify(leaf_of, FAST)
    with pytest.raises(InvalidUniversalProof, match="control id"):
        replace(up, leaves=(v, replace(v, task_id=task_id(9)))).verify(leaf_of, FAST)
    with pytest.raises(InvalidUniversalProof, match="answered twice"):
        replace(up, leaves=(v, v)).verify(leaf_of, FAST)


def test_root_of_a_program_that_is_not_allowed_is_rejected() -> None:
    """A program that exposes whatever digest it is given proves 'the' commitment honestly;
    its control id is not the allowed root program's."""
    up = tree([1])
    _, statements = up.verify(leaf_of, FAST)
    rec = Recorder()
    for c in [rec.input() for _ in range(8)]:
        rec.output(c)
    fake = rec.program()
    c = commitment([lift_digest(s) for s in statements])
    proof = rp.prove(fake, [int(v) for v in c], FAST)
    assert proof.outputs[:, 0].tolist() == c.tolist()
    cid = np.asarray(fake.control_id(), dtype="<u4").tobytes()
    forged = replace(up, control_id=cid, proof=proof.proof)
    with pytest.raises(InvalidUniversalProof, match="control id is not the allowed"):
        UniversalProofV1.decode(forged.encode()).verify(leaf_of, FAST)
    # Claiming the allowed control id for the other program's proof: its proof is rejected.
    lying = replace(forged, control_id=up.control_id)
    with pytest.raises(InvalidUniversalProof, match="root proof rejected"):
        UniversalProofV1.decode(lying.encode()).verify(leaf_of, FAST)
    # A lift proof of another shape's lift program (Fibonacci 2^7) is not allowed for 2^6.
    st = statement("fibonacci", LOG_N + 1, seed=3)
    other = lift(spec_of((LOG_N + 1,)), task_id(3), st.prove(FAST), st.publics)
    v = V1Leaf(task_id(3), (LOG_N,), plain_statement(st.publics))
    wrapped = replace(
        up,
        leaves=(v,),
        control_id=np.asarray(other.key.control_id, dtype="<u4").tobytes(),
        proof=other.proof.proof,
    )
    with pytest.raises(InvalidUniversalProof, match="control id is not the allowed"):
        wrapped.verify(leaf_of, FAST)
    # ...and accepted when the leaf shape it names is its own.
    replace(wrapped, leaves=(replace(v, shape=(LOG_N + 1,)),)).verify(leaf_of, FAST)


def test_invalid_task_proof_has_no_lift() -> None:
    st = statement("fibonacci", LOG_N, seed=4)
    proof = st.prove(FAST)
    bad = replace(proof, fri=replace(proof.fri, final_poly=(proof.fri.final_poly + 1) % P))
    with pytest.raises(ExecutionError):
        lift(spec_of((LOG_N,)), task_id(4), bad, st.publics)
    forged = [[*st.publics[0][:-1], (st.publics[0][-1] + 1) % P]]
    with pytest.raises(ExecutionError):
        lift(spec_of((LOG_N,)), task_id(4), proof, forged)


def test_tampered_root_bytes_are_rejected() -> None:
    """Every flipped bit is refused, or (block height and hash, which the proof does not carry
    but the header's reference does) changes the root the block must name."""
    up = tree([1])
    data = up.encode()
    honest, _ = up.verify(leaf_of, FAST)
    rng = np.random.default_rng(5)
    # magic, height, hash, count, task id, shape, statement length, publics, control id, proof
    positions = [0, 7, 8, 16, 47, 48, 52, 60, 85, 86, 87, 91, 95, 105, 110, 130, len(data) - 1]
    positions += [int(p) for p in rng.integers(130, len(data), 20)]
    for pos in positions:
        bad = bytearray(data)
        bad[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            root, _ = UniversalProofV1.decode(bytes(bad)).verify(leaf_of, FAST)
        except InvalidUniversalProof:
            continue
        assert 8 <= pos < 48 and root != honest, pos
    for cut in (0, 10, 60, 100, len(data) - 1):
        with pytest.raises(InvalidUniversalProof):
            UniversalProofV1.decode(data[:cut])
    with pytest.raises(InvalidUniversalProof, match="trailing"):
        UniversalProofV1.decode(data + b"\x00")


def test_join_program_rejects_a_tampered_child_and_the_tree_has_no_root() -> None:
    """The join program (run by the interpreter: proving it is the slow tests') accepts two
    honest lift proofs, exposes the ordered digest, and rejects a tampered child; a tree
    containing the tampered lift proof has no root (the join's run fails). One test, so that
    the join program is recorded once."""
    (v1, n1, _), (v2, n2, _) = leaf(1), leaf(2)
    rec = join_recording(n1.key, n2.key, FAST)
    words = program_inputs_for(
        rec, [(n1.proof.proof, node_publics(n1)), (n2.proof.proof, node_publics(n2))]
    )
    verdict = run(rec.program, words)
    assert verdict.accepted, verdict.reason
    want = commitment([lift_digest(leaf_of(0, v)[0]) for v in (v1, v2)])
    assert [o[0] for o in verdict.outputs] == want.tolist()
    p2 = n2.proof.proof
    bad = replace(p2, fri=replace(p2.fri, final_poly=(p2.fri.final_poly + 1) % P))
    words = program_inputs_for(rec, [(n1.proof.proof, node_publics(n1)), (bad, node_publics(n2))])
    assert not run(rec.program, words).accepted
    # A child claiming another digest than its proof exposes.
    pubs = node_publics(n2)
    pubs[-1][0] = (pubs[-1][0] + 1) % P
    words = program_inputs_for(rec, [(n1.proof.proof, node_publics(n1)), (p2, pubs)])
    assert not run(rec.program, words).accepted
    assert lift_key(spec_of((LOG_N,))).control_id.tolist() == n1.key.control_id.tolist()
    tampered = replace(n2, proof=replace(n2.proof, proof=bad))
    with pytest.raises(ExecutionError):
        build_tree([n1, tampered], FAST)
