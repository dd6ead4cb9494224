"""Commits blocks of transfers forever, printing each committed height; killed by the test.

Run: python crash_worker.py DB_PATH SEED. Transactions derive from the current state (nonces),
so a restarted worker continues where the database says it stopped. Stdout lines:
    open <height> <head hash hex>
    committed <height> <block hash hex>       (printed only after the fsynced write returned)
"""

from __future__ import annotations

import random
import sys

from chain_helpers import account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.types import Transaction
from genesis import GWEI

N_ACCOUNTS = 16
TXS_PER_BLOCK = 50


def main() -> None:
    path, seed = sys.argv[1], int(sys.argv[2])
    keys = account_keys(N_ACCOUNTS)
    chain = Chain.open(path, make_genesis(N_ACCOUNTS))
    print(f"open {chain.height} {chain.head.hash.hex()}", flush=True)
    rnd = random.Random(seed)
    proposer = validator_key()[0].address
    while True:
        state = chain.state()
        nonces = {k.address: state.account(k.address).nonce for k in keys}
        txs = []
        for _ in range(TXS_PER_BLOCK):
            sender, receiver = rnd.sample(keys, 2)
            tx = Transaction(
                31337,
                nonces[sender.address],
                GWEI,
                2 * GWEI,
                21_000,
                receiver.address,
                rnd.randrange(1, 10**15),
                b"",
            )
            nonces[sender.address] += 1
            txs.append(tx.sign(sender.private_key).raw)
        block = chain.build_block(txs, proposer, chain.head.header.time_ms + 1000)
        chain.commit_block(block)
        print(f"committed {block.height} {block.hash.hex()}", flush=True)


if __name__ == "__main__":
    main()
