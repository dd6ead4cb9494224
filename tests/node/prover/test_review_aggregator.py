"""Review: a task proof larger than the per-block byte budget must still be able to enter.

Before the fix `pack_universal_proofs` skipped any leaf with `size > budget` in every block,
so a task whose proof is over UP_BYTES_PER_BLOCK (1 MiB; proofs grow with cycles) could never
be proven: it always expired, whatever the provers did. Real chain, real proof.
"""

from __future__ import annotations

from pathlib import Path

from chain_helpers import make_genesis, validator_key
from prover_helpers import PROFILE, PROVER, ProofFor, build_task_chain

from execution.state import TaskStatus
from execution.universal import UniversalProof
from node.aggregator import pack_universal_proofs, resolved_task_ids
from node.proof_pool import ProofPool, verify_proof


def test_a_proof_over_the_budget_goes_alone_and_is_accepted(
    tmp_path: Path, proof_for: ProofFor
) -> None:
    chain, _, task_id = build_task_chain(tmp_path / "chain", make_genesis())
    sample_proof = proof_for(task_id)
    try:
        pool = ProofPool.open(tmp_path / "proofs")
        pool.add(verify_proof(chain.state().task(task_id), task_id, PROVER, sample_proof, PROFILE))
        budget = len(sample_proof) // 2  # the proof is twice the budget
        # bounded all the same: a leaf over max_lone_leaf never goes (gossip and block limits)
        assert pack_universal_proofs(chain, pool, budget, max_lone_leaf=budget) == ()
        proofs = pack_universal_proofs(chain, pool, budget)
        assert [len(UniversalProof.decode(p).leaves) for p in proofs] == [1]
        block = chain.build_block([], validator_key()[0].address, 9_000, universal_proofs=proofs)
        chain.commit_block(block)
        assert resolved_task_ids(block, chain.state()) == [task_id]
        task = chain.state().task(task_id)
        assert task is not None and task.status is TaskStatus.PROVEN
    finally:
        chain.close()
