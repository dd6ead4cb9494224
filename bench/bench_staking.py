"""Staking costs: a block of 20 bonds against 20 transfers, and node.validator_sets walks.

PYTHONPATH=. python bench/bench_staking.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from execution.chain import Chain
from execution.staking import build_bond_tx, validators_at
from execution.types import Transaction
from genesis import (
    GWEI,
    AccountKey,
    Genesis,
    GenesisAccount,
    GenesisValidator,
    ProtocolParams,
    ValidatorKey,
)
from genesis.params import ETHER
from node.validator_sets import ValidatorSets

CHAIN_ID = 31337
BONDS = 20
EMPTY_BLOCKS = 1000


def main() -> None:
    accounts = [AccountKey((i + 1).to_bytes(32, "big")) for i in range(3)]
    genesis_key = ValidatorKey((7).to_bytes(32, "big"))
    genesis = Genesis(
        "ivc-bench",
        CHAIN_ID,
        1_000,
        (GenesisValidator("v0", genesis_key.public_key, genesis_key.proof_of_possession(), 10),),
        tuple(GenesisAccount(k.address, 10**6 * ETHER) for k in accounts),
        ProtocolParams(),
    )
    keys = [ValidatorKey((100 + i).to_bytes(32, "big")) for i in range(BONDS)]
    with tempfile.TemporaryDirectory() as tmp:
        chain = Chain.open(Path(tmp) / "chain", genesis)

        def commit(raws: list[bytes]) -> float:
            started = time.perf_counter()
            proposer = validators_at(chain.state(), chain.height + 1)[0].address
            chain.commit_block(chain.build_block(raws, proposer, chain.head.header.time_ms + 1))
            return time.perf_counter() - started

        bonds = [
            build_bond_tx(
                accounts[0].private_key,
                chain_id=CHAIN_ID,
                nonce=i,
                amount=(i + 1) * ETHER,
                validator_secret_key=keys[i].secret_key,
            ).raw
            for i in range(BONDS)
        ]
        transfers = [
            Transaction(CHAIN_ID, i, GWEI, 3 * GWEI, 21_000, accounts[2].address, 1, b"")
            .sign(accounts[1].private_key)
            .raw
            for i in range(BONDS)
        ]
        t_bonds = commit(bonds)
        t_transfers = commit(transfers)
        print(f"block of {BONDS} bonds: {t_bonds * 1000:.1f} ms; {BONDS} transfers: "
              f"{t_transfers * 1000:.1f} ms (build + commit)")  # fmt: skip
        for _ in range(EMPTY_BLOCKS):
            commit([])
        head = chain.height + 1
        started = time.perf_counter()
        sets = ValidatorSets(chain)
        sets.at(head)
        fresh = time.perf_counter() - started
        started = time.perf_counter()
        sets.at(head)
        cached = time.perf_counter() - started
        started = time.perf_counter()
        sets.at(500)
        mid = time.perf_counter() - started
        print(f"validator set of height {head} ({len(sets.at(head))} members), fresh: "
              f"{fresh * 1000:.1f} ms; cached: {cached * 1e6:.0f} us; height 500: {mid * 1000:.1f} ms")  # fmt: skip
        chain.close()


if __name__ == "__main__":
    main()
