"""The concrete verifier's compiled check at zeta (ood_check.py) against the generic one.

`verify` checks the constraints at the out-of-domain point with a compiled kernel; the recursion
recorder runs the generic backend-driven check. Both must accept the same proofs and reject the
same tampered ones with the same reason.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from stark_cases import FAST, Statement, statement

from execution.stark.air.point_kernel import fold_point
from execution.stark.errors import InvalidProof
from execution.stark.proof import Proof
from execution.stark.verifier import verify_with
from execution.stark.verifier_backend import NUMPY


class _GenericNumpy:
    """The numpy backend's operations, but not a NumpyBackend: verify_with takes its generic
    check at zeta (the one the recursion recorder records) instead of the compiled one."""

    def __getattr__(self, name: str) -> Any:
        return getattr(NUMPY, name)


def _outcome(backend: Any, st: Statement, proof: Proof) -> str:
    try:
        verify_with(backend, st.airs, st.publics, proof, FAST)
    except InvalidProof as exc:
        return exc.reason
    return "accepted"


def _tamper(proof: Proof, table: int, field: str, rng: np.random.Generator) -> Proof:
    bad = Proof.from_bytes(proof.to_bytes())
    arr = getattr(bad.tables[table], field)
    pos = tuple(int(rng.integers(0, s)) for s in arr.shape)
    arr[pos] = (int(arr[pos]) + 1 + int(rng.integers(0, 1000))) % 2013265921
    return bad


@pytest.mark.parametrize(("example", "log_n"), [("fibonacci", 5), ("logup", 6), ("poseidon2", 3)])
def test_compiled_check_agrees_with_the_generic_one(example: str, log_n: int) -> None:
    st = statement(example, log_n)
    proof = st.prove(FAST)
    assert _outcome(NUMPY, st, proof) == _outcome(_GenericNumpy(), st, proof) == "accepted"
    rng = np.random.default_rng(5)
    fields = ["main_local", "main_next", "quotient", "perm_local", "perm_next", "final_sum"]
    seen = 0
    for table, tp in enumerate(proof.tables):
        for field in fields:
            if getattr(tp, field).size == 0:
                continue
            for _ in range(2):
                bad = _tamper(proof, table, field, rng)
                fast = _outcome(NUMPY, st, bad)
                assert fast != "accepted"
                assert fast == _outcome(_GenericNumpy(), st, bad)
                seen += 1
    assert seen >= 6


def test_fold_point_refuses_blocks_shorter_than_the_dag_reads() -> None:
    st = statement("fibonacci", 3)
    zero = np.zeros((0, 4), dtype=np.uint64)
    blocks = {
        name: zero
        for name in (
            "main", "main_next", "prep", "prep_next", "perm", "perm_next", "publics",
            "challenges", "final_sum", "is_first_row", "is_last_row", "is_transition",
        )
    }  # fmt: skip
    with pytest.raises(ValueError, match="block main"):
        fold_point(st.airs[0], blocks, np.zeros(4, dtype=np.uint64))
