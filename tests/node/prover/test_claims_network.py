"""Signed claims over real libp2p hosts on 127.0.0.1, with a real prover service on a real
chain (its proof is not awaited: the test watches when it starts, then stops it).

- The first in line sends a claim every 0.5 s: the second in line, its start height passed, does
  not start; once the claims stop it starts within the freshness window.
- A third party's claims naming the first in line (signed by another key, or unsigned) are
  refused before relaying, score their sender down and hold nothing; so does a correctly signed
  claim of a prover that is not in the task's set.
- A claim of a prover ranked after me, whose turn has not come, does not postpone me.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from chain_helpers import make_genesis
from prover_helpers import build_task_chain, empty_block
from test_exchange import _open_nodes, _replicas, _until

from genesis import AccountKey, ProtocolParams
from node.proof_pool import ProofPool
from node.prover import ClaimTiming, ProofExchange, ProverService, rank_provers, sign_claim
from node.prover.messages import Claim
from p2p import TOPIC_PROOF_ANNOUNCEMENTS, P2PService

A_KEY = AccountKey((0xC1).to_bytes(32, "big"))  # driven by the test: claims, never proves
B_KEY = AccountKey((0xC2).to_bytes(32, "big"))  # the prover service under test
MALLORY = AccountKey((0xC3).to_bytes(32, "big"))
OUTSIDER = AccountKey((0xC4).to_bytes(32, "big"))  # a valid key, not in the prover set
A, B = A_KEY.address, B_KEY.address
TIMING = ClaimTiming(interval_s=0.5, fresh_s=3.0, handover_s=1.0)


def _events(caplog: pytest.LogCaptureFixture, name: str) -> list[dict[str, object]]:
    fields = [getattr(r, "fields", {}) for r in caplog.records]
    return [f for f in fields if f.get("event") == name]


async def _claims_every(
    node: P2PService, make: Callable[[int], Claim], interval: float, stop: trio.Event
) -> None:
    while not stop.is_set():
        await node.publish(TOPIC_PROOF_ANNOUNCEMENTS, make(int(time.time() * 1000)).encode())
        await trio.sleep(interval)


def _task_chain(tmp: Path, first: bytes):  # type: ignore[no-untyped-def]
    genesis = replace(make_genesis(params=ProtocolParams(prover_timeout_blocks=1)), provers=(A, B))
    return build_task_chain(
        tmp / "chain",
        genesis,
        lambda block, task_id: rank_provers(block.hash, task_id, (A, B))[0] == first,
    )


async def test_claims_hold_a_task_and_silence_passes_it_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="node.prover")
    chain, blocks, task_id = _task_chain(tmp_path, first=A)
    blocks.append(empty_block(chain, 4_000))  # height 3: B's turn (one block of timeout)
    chain.commit_block(blocks[-1])
    # every host runs an exchange (as every node does), so each checks claims before relaying
    chains = _replicas(tmp_path, chain, blocks, 3)
    genesis_hash = chain.genesis_hash
    try:
        async with AsyncExitStack() as stack:
            claimer, node, mallory = await _open_nodes(stack, tmp_path, 3)
            async with trio.open_nursery() as nursery:
                exchanges = [
                    ProofExchange(c, ProofPool.open(tmp_path / f"proofs{i}"), n)
                    for i, (c, n) in enumerate(zip(chains, (node, claimer, mallory), strict=True))
                ]
                for ex in exchanges:
                    ex.attach(nursery)
                exchange = exchanges[0]
                service = ProverService(chain, exchange, B_KEY, workers=1, timing=TIMING)
                stop_a, stop_forged = trio.Event(), trio.Event()

                def honest(ms: int) -> Claim:
                    return sign_claim(A_KEY, genesis_hash, 3, ms, (task_id,))

                def forged(ms: int) -> Claim:  # names A, signed by Mallory
                    c = sign_claim(MALLORY, genesis_hash, 3, ms, (task_id,))
                    return replace(c, prover=A)

                def unsigned(ms: int) -> Claim:
                    return Claim(A, 3, ms, (task_id,), b"\x00" * 65)

                def outsider(ms: int) -> Claim:  # correctly signed, but not in the set
                    return sign_claim(OUTSIDER, genesis_hash, 3, ms, (task_id,))

                nursery.start_soon(_claims_every, claimer, honest, TIMING.interval_s, stop_a)
                nursery.start_soon(_claims_every, claimer, outsider, 0.3, stop_forged)
                for make in (forged, unsigned):
                    nursery.start_soon(_claims_every, mallory, make, 0.3, stop_forged)
                nursery.start_soon(service.run)
                # held far past its start height and its listening grace (fresh_s)
                await _until(lambda: bool(_events(caplog, "prove_held")), 30)
                await trio.sleep(3 * TIMING.fresh_s)
                assert not _events(caplog, "prove_start")
                assert set(service.claims.claimers(task_id)) == {A, OUTSIDER.address}
                # the forgeries were refused before relaying and cost Mallory its score
                assert any(s.peer_id == mallory.peer_id and s.score < 0 for s in node.peers())
                # A falls silent: B starts once A's last claim is fresh_s old (the outsider
                # and Mallory go on)
                stop_a.set()
                silent_at = trio.current_time()
                await _until(lambda: bool(_events(caplog, "prove_start")), 30)
                waited = trio.current_time() - silent_at
                print(f"started {waited:.2f} s after the first in line fell silent")
                assert waited >= TIMING.fresh_s - TIMING.interval_s
                stop_forged.set()
                nursery.cancel_scope.cancel()
    finally:
        for c in chains:
            c.close()


async def test_a_claim_of_a_prover_after_me_does_not_postpone_me(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="node.prover")
    chain, _, task_id = _task_chain(tmp_path, first=B)  # B first, A's turn at height 3
    pool = ProofPool.open(tmp_path / "proofs")
    try:
        async with AsyncExitStack() as stack:
            claimer, node = await _open_nodes(stack, tmp_path, 2)
            async with trio.open_nursery() as nursery:
                exchange = ProofExchange(chain, pool, node)
                exchange.attach(nursery)
                stop = trio.Event()

                def early(ms: int) -> Claim:
                    return sign_claim(A_KEY, chain.genesis_hash, 2, ms, (task_id,))

                service = ProverService(chain, exchange, B_KEY, workers=1, timing=TIMING)
                nursery.start_soon(_claims_every, claimer, early, 0.2, stop)
                # the claims are heard before the service runs ...
                await _until(lambda: service.claims.claimers(task_id) == [A], 30)
                nursery.start_soon(service.run)
                # ... and hold nothing: the first in line starts at once
                await _until(lambda: bool(_events(caplog, "prove_start")), 30)
                assert not _events(caplog, "prove_held")
                stop.set()
                nursery.cancel_scope.cancel()
    finally:
        chain.close()
