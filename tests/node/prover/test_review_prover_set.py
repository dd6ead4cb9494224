"""Review: forged presence beacons cannot push an honest prover's start past the deadline.

Without a genesis prover list, each address heard in a claim counts in the set, up to
MAX_KNOWN_PROVERS. Claims are signed now (node.prover.claims), but a key costs nothing, so the
attacker signs each beacon with a fresh one. Before the fix an attacker that gossiped
255 beacons of random addresses ranked the honest prover ~128th on average, i.e. starting
~1,280 blocks after the task's block with the default 10-block timeout: past the 100-block
deadline, so every task expired unproven (task denial for the price of a few KB of gossip).
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from chain_helpers import make_genesis

from execution.chain import Chain
from genesis import AccountKey
from node.proof_pool import ProofPool
from node.prover import ProofExchange, ProverService, sign_claim
from node.prover.service import MAX_KNOWN_PROVERS, _Tracked


def test_forged_beacons_cannot_rank_the_honest_prover_past_the_deadline(tmp_path: Path) -> None:
    rng = random.Random(7)
    key = AccountKey((0x01).to_bytes(32, "big"))
    me = key.address
    chain = Chain.open(tmp_path / "chain", make_genesis())
    try:
        params = chain.genesis.params
        pool = ProofPool.open(tmp_path / "proofs")
        # the set and the schedule never touch the network: no host is needed
        service = ProverService(chain, ProofExchange(chain, pool, None), key)  # type: ignore[arg-type]
        for _ in range(MAX_KNOWN_PROVERS + 10):
            attacker = AccountKey(rng.randbytes(31).rjust(32, b"\x00"))
            beacon = sign_claim(attacker, chain.genesis_hash, 0, int(time.time() * 1000), ())
            service._on_claim(beacon, "attacker")
        provers = service.provers()
        assert len(provers) == MAX_KNOWN_PROVERS + 1
        latest = []
        for _ in range(50):
            tr = _Tracked(rng.randbytes(32), 5, rng.randbytes(32))
            start = service.start_height(tr, provers)
            assert start is not None
            latest.append(start)
        # every task is started early enough to be proven and included before it expires
        assert max(latest) <= 5 + params.task_deadline_blocks - params.prover_timeout_blocks
        # and the order still holds below the cap (the first in line starts at once)
        solo = service.start_height(_Tracked(b"\x05" * 32, 5, b"\x06" * 32), (me,))
        assert solo == 5
    finally:
        chain.close()
