"""Signed transfers applied and committed per second, blocks of 1,000, on one core.

Prints one JSON line per figure. The chain is a real LevelDB in a temporary folder; blocks are
built first (as a proposer would), then timed through Chain.commit_block, which decodes every
transaction, recovers its sender, applies it, checks every root against the header and writes
the block in one fsynced batch. A cProfile pass reports where the commit time goes.
"""

from __future__ import annotations

import cProfile
import json
import pstats
import random
import tempfile
import time
from pathlib import Path

from execution.chain import Chain, relax_gc
from execution.transition import BlockContext, execute_body
from execution.types import Block, Transaction
from genesis import GWEI, Genesis, GenesisAccount, GenesisValidator, ValidatorKey
from genesis.keys import AccountKey
from genesis.params import ETHER, ProtocolParams
from storage.database import WriteBatch

N_ACCOUNTS = 10_000
BLOCK_TXS = 1_000
BLOCKS = 8


def emit(name: str, value: float, unit: str, **params: object) -> None:
    print(
        json.dumps(
            {
                "bench": "chain_commit",
                "name": name,
                "value": round(value, 4),
                "unit": unit,
                **params,
            }
        )
    )


def emit_phases(chain: Chain, block: Block) -> None:
    """Process CPU time per transfer of each phase of executing `block` on the head of `chain`
    (a copy of its state: nothing is written to the chain)."""
    clock = time.process_time
    raws = list(block.transactions)
    t0 = clock()
    txs = [Transaction.decode(raw) for raw in raws]
    t1 = clock()
    for tx in txs:
        _ = tx.sender
    t2 = clock()
    state = chain.state()
    ctx = BlockContext(
        chain.chain_id,
        block.height,
        block.header.proposer,
        chain.genesis.params,
        chain.genesis_hash,
    )
    t3 = clock()
    execute_body(state, raws, (), ctx, lambda height: None)  # decodes and recovers again
    t4 = clock()
    state.root()
    t5 = clock()
    state.commit(WriteBatch())
    t6 = clock()
    n = len(raws)
    phases = {
        "decode": t1 - t0,
        "recover_sender": t2 - t1,
        "apply_excluding_decode_and_recover": (t4 - t3) - (t2 - t0),
        "state_root_updates_and_hashing": t5 - t4,
        "collect_trie_nodes": t6 - t5,
    }
    print(
        json.dumps(
            {
                "bench": "chain_commit",
                "name": "phase_cpu_us_per_transfer",
                "value": {k: round(v * 1e6 / n, 1) for k, v in phases.items()},
                "unit": "us",
            }
        )
    )


def main() -> None:
    relax_gc()  # as the node does
    rnd = random.Random(7)
    keys = [AccountKey((i + 1).to_bytes(32, "big")) for i in range(N_ACCOUNTS)]
    vk = ValidatorKey((5).to_bytes(32, "big"))
    genesis = Genesis(
        "ivc-bench",
        4242,
        1000,
        (GenesisValidator("v0", vk.public_key, vk.proof_of_possession(), 10),),
        tuple(GenesisAccount(k.address, 10**6 * ETHER) for k in keys),
        ProtocolParams(),
    )
    nonces = [0] * N_ACCOUNTS

    def block_txs() -> list[bytes]:
        out = []
        for _ in range(BLOCK_TXS):
            s, r = rnd.randrange(N_ACCOUNTS), rnd.randrange(N_ACCOUNTS)
            tx = Transaction(4242, nonces[s], GWEI, 2 * GWEI, 21_000, keys[r].address, 1, b"")
            out.append(tx.sign(keys[s].private_key).raw)
            nonces[s] += 1
        return out

    with tempfile.TemporaryDirectory() as tmp:
        # Build every block on a proposer's chain, then replay them on a validator's chain.
        proposer = Chain.open(Path(tmp) / "proposer", genesis)
        blocks = []
        for i in range(BLOCKS):
            block = proposer.build_block(block_txs(), vk.address, 2000 + i)
            proposer.commit_block(block)
            blocks.append(block)
        proposer.close()

        chain = Chain.open(Path(tmp) / "validator", genesis)
        chain.state().account(keys[0].address)  # warm nothing else: the first block pays loads
        written0 = chain.db.bytes_written
        latencies = []
        cpu_times = []
        profiler = cProfile.Profile()
        for i, block in enumerate(blocks):
            t0 = time.perf_counter()
            c0 = time.process_time()
            if i == BLOCKS - 1:
                emit_phases(chain, block)
                t0, c0 = time.perf_counter(), time.process_time()
                profiler.enable()
            chain.commit_block(block)
            if i == BLOCKS - 1:
                profiler.disable()
            latencies.append(time.perf_counter() - t0)
            cpu_times.append(time.process_time() - c0)
        written = chain.db.bytes_written - written0
        chain.close()

    steady = latencies[1:-1]  # the first pays cold trie loads; the last ran under the profiler
    steady_cpu = cpu_times[1:-1]
    emit(
        "transfers_committed_per_s",
        BLOCK_TXS * len(steady) / sum(steady),
        "tx/s",
        clock="wall",
        block_txs=BLOCK_TXS,
        accounts=N_ACCOUNTS,
        blocks=len(steady),
        cores=1,
    )
    emit(
        "transfers_committed_per_cpu_s",
        BLOCK_TXS * len(steady_cpu) / sum(steady_cpu),
        "tx/s",
        clock="process cpu time (less sensitive to other load on a shared machine)",
    )
    emit(
        "block_commit_latency_p50",
        sorted(steady)[len(steady) // 2] * 1000,
        "ms",
        block_txs=BLOCK_TXS,
    )
    emit("first_block_commit_latency", latencies[0] * 1000, "ms", note="cold trie cache")
    emit(
        "leveldb_bytes_per_transfer",
        written / (BLOCK_TXS * BLOCKS),
        "bytes",
        note="payload handed to LevelDB: trie nodes, block, receipts, tx index",
    )
    stats = pstats.Stats(profiler)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    by_func: dict[str, float] = {}
    for (file, _line, func), v in stats.stats.items():  # type: ignore[attr-defined]
        by_func[f"{Path(file).name}:{func}"] = by_func.get(f"{Path(file).name}:{func}", 0) + v[2]
    top = sorted(by_func.items(), key=lambda kv: -kv[1])[:8]
    print(
        json.dumps(
            {
                "bench": "chain_commit",
                "name": "commit_profile_self_time_share",
                "value": {k: round(v / total, 3) for k, v in top},
                "unit": "fraction",
            }
        )
    )


if __name__ == "__main__":
    main()
