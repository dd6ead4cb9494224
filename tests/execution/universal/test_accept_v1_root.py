"""Universal Proof v1 in the state transition with a real root (slow: one zkVM lift under the
chain's `conjectured` profile is minutes and ~2 GB): the honest root enters the task's result
exactly as v0 does; a statement with one output changed, another control id, or a replay is a
named InvalidBlock."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from task_payment import assert_proven_and_paid
from test_accept_v1 import (
    BOB,
    ELF,
    FEE_PER_CYCLE,
    PROVER,
    commit,
    open_chain,
    rejected,
    shape_of,
    task_tx,
    v1_params,
)

from execution.recursion.lift import lift
from execution.stark.params import profile
from execution.types import Transaction
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf, prove_v1
from execution.universal.zkvm_leaf import zkvm_spec
from execution.zkproof import prove
from execution.zkproof.prover import airs_for, public_values
from execution.zkproof.statement import Statement

# A zkVM lift is 4-5 minutes on a loaded 2-core machine (docs/benchmarks.md).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


@pytest.fixture(scope="module")
def root() -> UniversalProofV1:
    """The v1 proof of the first task `task_tx()` submits (block height and hash filled in by
    each test: they are outside the root proof)."""
    task_id = bytes(Transaction.decode(task_tx()).hash)
    fri = profile("conjectured")
    tp = prove(ELF, b"", fri, prover=PROVER, task_id=task_id)
    st = tp.statement
    airs = airs_for(tp.program, tp.input, st.output).as_list()
    spec = zkvm_spec(airs, shape_of(tp), fri)
    node = lift(spec, task_id, tp.stark, public_values(st, tp.program, len(tp.input)), airs)
    leaf = V1Leaf(task_id, shape_of(tp), st.to_bytes())
    return prove_v1(1, bytes(32), [leaf], [node], fri)


def test_a_real_root_enters_results_and_attacks_are_refused(tmp_path: Path, root) -> None:  # type: ignore[no-untyped-def]
    chain, block, task_id = open_chain(tmp_path / "c", v1_params((root.leaves[0].shape,)))
    try:
        assert root.leaves[0].task_id == task_id
        good = replace(root, block_height=block.height, block_hash=block.hash)
        leaf = good.leaves[0]
        st = Statement.from_bytes(leaf.statement)
        # One output changed: the commitment the verifier recomputes differs from the root's.
        forged = replace(leaf, statement=replace(st, output=b"\x01").to_bytes())
        rejected(chain, replace(good, leaves=(forged,)).encode(), "root proof rejected")
        forged = replace(leaf, statement=replace(st, exit_code=st.exit_code ^ 1).to_bytes())
        rejected(chain, replace(good, leaves=(forged,)).encode(), "root proof rejected")
        # Another program's root (here: the control id of another program) is not allowed.
        cid = np.frombuffer(good.control_id, dtype="<u4").copy()
        cid[0] = (int(cid[0]) + 1) % 2013265921
        rejected(
            chain, replace(good, control_id=cid.astype("<u4").tobytes()).encode(), "control id"
        )
        # The honest root: the result enters the state as v0 enters it.
        bob_before = chain.state().account(BOB.address).balance
        accepted = commit(chain, proofs=(good.encode(),))
        ref = accepted.header.universal_proofs[0]
        assert ref.height == block.height
        assert_proven_and_paid(chain, task_id, PROVER, BOB.address, FEE_PER_CYCLE, bob_before)
        rejected(chain, good.encode(), "task is proven")
    finally:
        chain.close()
