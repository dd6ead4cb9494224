"""A one-validator consensus node run as a subprocess by test_crash_recovery.py.

It proposes random values, judges validity at random (so rounds change and values get
locked and re-proposed) and prints every message it sends, one line each, only after the
signer has made it durable: `P <proposal hex>`, `V <vote hex>`, `D <height> <hash hex>`, and
`R <height> <records>` at start (how many WAL records of that height it resumed from).
Like the node it signs in deferred mode and calls `signer.sync()` after every driver call,
before it prints (sends) anything; a small prune threshold makes the lazy prune (state file,
then WAL rewrite) run every few heights, so kills land inside it too.
The randomness comes from os.urandom, so a restarted process would choose differently: only
the WAL and the last-signed guard keep it from signing something conflicting.
"""

from __future__ import annotations

import heapq
import os
import random
import sys
import time
from pathlib import Path

from consensus import (
    ConsensusDriver,
    Decided,
    FileSignerStore,
    PrivValidator,
    ScheduleTimeout,
    SendProposal,
    SendVote,
    TimeoutConfig,
    TimeoutEvent,
    Validator,
    ValidatorSet,
    keygen,
    secret_to_public,
    verify_commit,
)
from consensus.driver import Output

CHAIN = 4242


def main() -> None:
    home = Path(sys.argv[1])
    home.mkdir(parents=True, exist_ok=True)
    sk = keygen(b"\x11" * 32)
    vset = ValidatorSet([Validator(secret_to_public(sk), 1)], check_keys=False)
    rng = random.Random(os.urandom(16))
    chain = home / "chain"
    lines = chain.read_text().splitlines(keepends=True) if chain.exists() else []
    height = sum(1 for line in lines if line.endswith("\n")) + 1

    signer = PrivValidator(sk, FileSignerStore(home / "signer"), deferred=True, prune_min_records=6)
    driver = ConsensusDriver(
        CHAIN,
        signer=signer,
        get_value=lambda h: b"h=%d " % h + rng.randbytes(16),
        is_valid=lambda v: rng.random() < 0.75,
        timeouts=TimeoutConfig(0.002, 0.001, 0.002, 0.001, 0.002, 0.001),
    )
    print("R", height, len(signer.wal_records(height)), flush=True)
    timers: list[tuple[float, int, TimeoutEvent]] = []
    seq = 0
    pending: list[Output] = driver.start_height(height, vset)
    with open(chain, "a") as chain_file:
        while True:
            signer.sync()  # durable before anything of this batch is sent
            for o in pending:
                if isinstance(o, SendVote):
                    print("V", o.vote.encode().hex(), flush=True)
                elif isinstance(o, SendProposal):
                    print("P", o.bundle.proposal.encode().hex(), flush=True)
                elif isinstance(o, ScheduleTimeout):
                    seq += 1
                    ev = TimeoutEvent(o.step, o.height, o.round)
                    heapq.heappush(timers, (time.monotonic() + o.duration, seq, ev))
            decided = [o for o in pending if isinstance(o, Decided)]
            if decided:
                d = decided[0]
                verify_commit(d.commit, vset, CHAIN, height=d.height, block_hash=d.block_hash)
                chain_file.write(f"{d.height} {d.block_hash.hex()}\n")
                chain_file.flush()
                os.fsync(chain_file.fileno())
                print("D", d.height, d.block_hash.hex(), flush=True)
                height = d.height + 1
                timers.clear()
                pending = driver.start_height(height, vset)
                continue
            due, _, ev = heapq.heappop(timers)
            time.sleep(max(0.0, due - time.monotonic()))
            pending = driver.on_timeout(ev)


if __name__ == "__main__":
    main()
