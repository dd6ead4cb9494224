"""Where a loaded devnet block's CPU goes, stage by stage, in one process.

Two `Node`s (validators 0 and 1 of a fresh 4-validator local chain, no network) see the same
N pre-signed transfers from 40 accounts: node0 admits them as RPC would
(`submit_transaction`), node1 as gossip would (`mempool.add`); node0 builds the proposal,
node1 checks it as a validator does (`_is_valid`) and commits it. Per-transfer figures,
one JSON line per stage; `--profile` adds cProfile's top entries per stage.

    .venv/bin/python bench/bench_devnet_stages.py [--txs 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from execution.types.transaction import Transaction
from genesis import init_local_chain
from genesis.params import GWEI
from node.config import load_config
from node.node import Node

TO = bytes.fromhex("00000000000000000000000000000000000be9c1")
ACCOUNTS = 40


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--txs", type=int, default=2000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        local = init_local_chain(Path(tmp) / "devnet", "ivc-stages", 4, ACCOUNTS)
        nodes = [Node.open(load_config(local.node_home(i))) for i in range(2)]
        try:
            chain_id = nodes[0].chain_id
            raws = [
                Transaction(chain_id, n, GWEI, 2 * GWEI, 21_000, TO, 1, b"").sign(k.private_key).raw
                for n in range(args.txs // ACCOUNTS)
                for k in local.account_keys
            ]
            count = len(raws)

            def stage(name: str, fn: Callable[[], Any]) -> Any:
                prof = cProfile.Profile() if args.profile else None
                started = time.perf_counter()
                if prof is not None:
                    prof.enable()
                result = fn()
                if prof is not None:
                    prof.disable()
                seconds = time.perf_counter() - started
                print(
                    json.dumps(
                        {
                            "name": f"devnet_stage_{name}",
                            "value": round(seconds / count * 1e6, 1),
                            "unit": "us/tx",
                            "parameters": {"txs": count, "ms": round(seconds * 1e3, 1)},
                        }
                    ),
                    flush=True,
                )
                if prof is not None:
                    pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(12)
                return result

            stage("rpc_admission", lambda: [nodes[0].submit_transaction(r) for r in raws])
            stage("gossip_admission", lambda: [nodes[1].mempool.add(r) for r in raws])
            value = stage("build", lambda: nodes[0]._get_value(1))
            if not stage("check", lambda: nodes[1]._is_valid(value)):
                raise RuntimeError("node1 refused node0's proposal")
            block = nodes[1]._decode(value)
            if block is None:
                raise RuntimeError("the proposal does not decode")
            stage("commit", lambda: nodes[1].chain.commit_block(block, b""))
        finally:
            for node in nodes:
                node.close()
                node.chain.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
