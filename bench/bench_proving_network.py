"""The proving network's throughput with 1, 2 and 3 provers: the same batch of tasks each time.

For each prover count: a fresh network of real processes on loopback (`--validators`, default
1, and the prover full nodes with one proving worker each, started first; the cluster helpers
of tests/node: 0.3 s blocks, a 400-block prover timeout (`--timeout-blocks`; 60 is the 20-task
scenario's, short enough that proofs outlast it: what signed claims are for), a 5,000-block
task deadline, the provers listed in the genesis so that
the assignment spreads tasks over all of them), the example guests deployed, a pause, then
`--tasks` tasks submitted at once (sha256 and fibonacci alternating, each on its own input).
One validator by default: with four, on a loaded 2-core machine, late prover full nodes could
not keep up by block sync (docs/proving.md, "A follower that stops following") and the bench
measured that instead of proving. Measured from the submission of the first task
until every task reads `proven` over RPC (polled every 0.5 s):

- `wall_s`: submission to all proven; `latency_mean_s` / `latency_max_s` per task;
- `proven_cycles_per_s`: the batch's proven cycles over `wall_s`: the whole devnet's rate;
- `proofs_made` (from the provers' `proof_done` events: more than `tasks` when two provers
  proved one task) and `prove_s_sum`, the provers' summed proving time; per prover,
  `proofs_per_prover`, `starts_per_prover` (`prove_start`: proofs begun, duplicates included)
  and `abandoned_per_prover` (`prove_abandoned`: a proof or a queued task dropped because
  another prover's proof arrived).

A last line gives `ratio_1_vs_3` = wall_s(1 prover) / wall_s(3 provers) with the machine's core
count: each proof takes a whole core, and the validators need CPU too, so on 2 cores the ratio
cannot exceed 2 whatever the number of provers. Load averages are printed beside (the machine
is shared; compare ratios within one run).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_proving_network.py [--tasks 6] [--provers 1,2,3]
        [--validators 1] [--timeout-blocks 400]

One JSON line per prover count, then the ratio line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "node"))

from node_cluster import Cluster, log_events, rpc, try_rpc, wait_for
from test_proving_network import SLOW_WAIT, _input, _program, deploy_guests, start_provers

from execution.programs import image_id_bytes_of_elf
from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
from execution.zkproof import prove
from genesis import Genesis
from node.cli.task_cmd import RpcClient, send_transaction
from node.devnet import prepare_provers

BEACON_WAIT_S = 25.0  # presence claims come every 10 s
PROVE_TIMEOUT_S = 1800.0


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _warm_kernels() -> None:
    """numba's disk cache holds every kernel before any node starts (as the tests do)."""
    for i in range(2):
        prove(_program(i), _input(i), "conjectured")


def _relax(cluster: Cluster, provers: int, timeout_blocks: int) -> None:
    """Deadlines a loaded machine meets, and the provers listed in the genesis: the open set
    (each prover ranks those it has heard claims from) left one of two provers idle in a run
    (4 proofs and 0), which measures the discovery, not the proving."""
    genesis = Genesis.load(cluster.root / "genesis.json", verify_keys=False)
    # the unbonding period must cover deadline + proof evidence age (genesis validation)
    params = replace(
        genesis.params,
        task_deadline_blocks=5000,
        prover_timeout_blocks=timeout_blocks,
        unbonding_period_blocks=5100,
    )
    homes = prepare_provers(cluster.root, provers, len(cluster.nodes), 0, 0)
    relaxed = replace(genesis, params=params, provers=tuple(p.address for p in homes))
    relaxed.write(cluster.root / "genesis.json")
    for node in cluster.nodes:
        relaxed.write(node.home / "genesis.json")


def run_one(
    root: Path, validators: int, provers: int, tasks: int, timeout_blocks: int = 400
) -> dict[str, Any]:
    cluster = Cluster(root, validators)
    try:
        _relax(cluster, provers, timeout_blocks)
        # Provers first, validators once the provers answer: a prover that starts late must
        # catch up by block sync, which stalls under load (docs/proving.md, "A follower that
        # stops following"); started first, they follow by consensus from block 1.
        prover_nodes = start_provers(cluster, provers)
        for p in prover_nodes:
            wait_for(lambda p=p: try_rpc(p.rpc_url, "eth_blockNumber"), SLOW_WAIT, "prover RPC")
        cluster.start_all()
        cluster.wait_height(0, 2, SLOW_WAIT)
        url = cluster.url(0)
        deploy_guests(url, cluster.account_keys)
        time.sleep(BEACON_WAIT_S)
        load_start = _load()
        client = RpcClient(url)
        submitted: dict[bytes, float] = {}
        start = time.monotonic()
        for i in range(tasks):
            request = TaskRequest(image_id_bytes_of_elf(_program(i)), _input(i), 100_000, 1)
            key = bytes.fromhex(cluster.account_keys[i % len(cluster.account_keys)][2:])
            task_id = send_transaction(client, key, TASK_SYSTEM_ADDRESS, request.encode())
            submitted[task_id] = time.monotonic()
        proven: dict[bytes, float] = {}
        cycles = 0
        while len(proven) < tasks:
            if time.monotonic() - start > PROVE_TIMEOUT_S:
                raise RuntimeError(f"{len(proven)} of {tasks} tasks proven in {PROVE_TIMEOUT_S} s")
            for task_id in submitted:
                if task_id in proven:
                    continue
                result = try_rpc(url, "ivc_getTaskResult", "0x" + task_id.hex())
                if result is not None and result["status"] == "proven":
                    proven[task_id] = time.monotonic()
                    cycles += int(result["cycles"], 16)
                elif result is not None and result["status"] == "expired":
                    raise RuntimeError(f"task {task_id.hex()} expired")
            time.sleep(0.5)
        wall = max(proven.values()) - start
        latencies = [proven[t] - submitted[t] for t in submitted]
        done = [e for p in prover_nodes for e in log_events(p.home, "proof_done")]
        per_prover = [len(log_events(p.home, "proof_done")) for p in prover_nodes]
        starts = [len(log_events(p.home, "prove_start")) for p in prover_nodes]
        abandoned = [len(log_events(p.home, "prove_abandoned")) for p in prover_nodes]
        return {
            "bench": "proving_network",
            "validators": validators,
            "provers": provers,
            "tasks": tasks,
            "timeout_blocks": timeout_blocks,
            "wall_s": round(wall, 1),
            "proven_cycles": cycles,
            "proven_cycles_per_s": round(cycles / wall, 1),
            "latency_mean_s": round(sum(latencies) / len(latencies), 1),
            "latency_max_s": round(max(latencies), 1),
            "proofs_made": len(done),
            "proofs_per_prover": per_prover,
            "starts_per_prover": starts,
            "abandoned_per_prover": abandoned,
            "prove_s_sum": round(sum(float(e.get("prove_s", 0)) for e in done), 1),
            "head": int(rpc(url, "eth_blockNumber"), 16),
            "prover_heads": [
                int(try_rpc(p.rpc_url, "eth_blockNumber") or "0x0", 16) for p in prover_nodes
            ],
            "cores": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": _load(),
        }
    finally:
        cluster.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--provers", default="1,2,3", help="prover counts, comma-separated")
    parser.add_argument("--validators", type=int, default=1)
    parser.add_argument(
        "--timeout-blocks",
        type=int,
        default=400,
        help="prover_timeout_blocks (0.3 s blocks); 60 is the 20-task scenario's",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="numba threads of every node and proving worker (NUMBA_NUM_THREADS); 1 gives each "
        "prover one core, as if each ran on its own 1-core machine (0: numba's default, all "
        "cores: then one prover alone already uses both cores of this machine)",
    )
    args = parser.parse_args()
    counts = [int(x) for x in args.provers.split(",")]
    if args.threads > 0:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)  # inherited by every spawned node
    _warm_kernels()
    walls: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in counts:
            line = run_one(
                Path(tmp) / f"provers{n}", args.validators, n, args.tasks, args.timeout_blocks
            )
            walls[n] = line["wall_s"]
            print(json.dumps(line), flush=True)
    if 1 in walls and 3 in walls:
        print(
            json.dumps(
                {
                    "bench": "proving_network_scaling",
                    "tasks": args.tasks,
                    "ratio_1_vs_3": round(walls[1] / walls[3], 2),
                    "ratio_1_vs_2": round(walls[1] / walls[2], 2) if 2 in walls else None,
                    "cores": os.cpu_count(),
                    "threads": args.threads or None,
                    "note": "each proof takes a core and the validators share them: "
                    "the ratio is bounded by the core count",
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
