"""The proof envelope on the wire (real libp2p hosts on 127.0.0.1): a node fetching an announced
proof checks the prover's signature before anything else. An unsigned or forged proof is
dropped and its server scored down, with no evidence made; a correctly signed proof that fails
verification becomes invalid-proof evidence that the state's rules convict."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from chain_helpers import make_genesis
from prover_helpers import PROVER, PROVER_KEY, T1, ProofFor, build_task_chain
from test_exchange import _open_nodes, _until

from execution.staking import (
    InvalidProofEvidence,
    check_evidence_cheap,
    check_proof_fails,
    sign_proof,
)
from execution.types.errors import InvalidBlock
from execution.types.hashing import keccak256
from genesis import AccountKey
from node.evidence_pool import EvidencePool
from node.proof_pool import ProofPool
from node.prover import ProofExchange
from node.prover.messages import Announcement, encode_response
from p2p import PROTOCOL_PROOF, TOPIC_PROOF_ANNOUNCEMENTS

FORGER = AccountKey((0xF0).to_bytes(32, "big"))


@pytest.mark.parametrize("case", ["unsigned", "forged", "signed-invalid"])
async def test_the_envelope_is_checked_first_and_a_signed_bad_proof_is_evidence(
    tmp_path: Path, proof_for: ProofFor, case: str
) -> None:
    # PROVER is a genesis prover (registered, zero stake): evidence against it is judged.
    genesis = replace(make_genesis(), provers=(PROVER,))
    chain, _, task_id = build_task_chain(tmp_path / "chain0", genesis)
    # T1's proof is a valid proof, but of another task: wrong for task_id.
    proof = proof_for(T1)
    signature = {
        "unsigned": bytes(65),
        "forged": sign_proof(FORGER.private_key, chain.genesis_hash, task_id, proof),
        "signed-invalid": sign_proof(PROVER_KEY.private_key, chain.genesis_hash, task_id, proof),
    }[case]
    evidence: list[InvalidProofEvidence] = []
    served = trio.Event()
    try:
        async with AsyncExitStack() as stack:
            victim, server = await _open_nodes(stack, tmp_path, 2)
            async with trio.open_nursery() as nursery:
                ex = ProofExchange(chain, ProofPool.open(tmp_path / "pool"), victim, 3600)
                ex.on_invalid_proof = evidence.append
                ex.attach(nursery)

                async def serve(peer: str, data: bytes) -> bytes:
                    served.set()
                    return encode_response(PROVER, proof, signature)

                server.register_handler(PROTOCOL_PROOF, serve)
                ann = Announcement(task_id, PROVER, keccak256(b"statement"), len(proof))
                await server.publish(TOPIC_PROOF_ANNOUNCEMENTS, ann.encode())
                await _until(lambda: ex.rejected >= 1, 30)
                nursery.cancel_scope.cancel()
            assert served.is_set() and task_id not in ex.pool
            assert any(s.peer_id == server.peer_id and s.score < 0 for s in victim.peers())
        if case != "signed-invalid":
            assert evidence == []
            return
        (ev,) = evidence
        assert (ev.task_id, ev.prover, ev.proof) == (task_id, PROVER, proof)
        # The state's own rules convict: signature, task, prover, and the proof fails.
        state = chain.state()
        task = check_evidence_cheap(state, ev, chain.genesis_hash, chain.height + 1, genesis.params)
        check_proof_fails(task, ev, genesis.params.proof.profile)
        pool = EvidencePool(
            chain.chain_id,
            lambda h: None,  # type: ignore[arg-type,return-value]
            genesis.params,
            chain.genesis_hash,
            chain.state,
        )
        assert pool.add_proof(ev, state, chain.height)
        assert not pool.add_proof(ev, state, chain.height)  # one per (prover, task)
        assert pool.for_block(chain.height + 1) == (ev.encode(),)
        # A block that did not build names the item it refused: only that one is forgotten
        # (other evidence kinds stay); an error naming none forgets every invalid-proof item.
        vote_like = b"\xc2\xc1\xc0"  # a list whose first item is a list: not proof evidence
        error = InvalidBlock("invalid_evidence", "proof evidence #0: proof_valid", index=0)
        assert pool.drop_proof_evidence((vote_like, ev.encode()), error) == (vote_like,)
        assert pool.proof_evidence == []
        assert pool.add_proof(ev, state, chain.height)
        too_many = InvalidBlock("invalid_evidence", "too_many: 5")
        assert pool.drop_proof_evidence((ev.encode(),), too_many) == ()
        assert pool.proof_evidence == []
    finally:
        chain.close()
