"""Universal Proof v1 end to end, real processes on loopback: a 1-validator + 1-prover network
whose genesis says universal_proof_version 1. The prover proves the task, the validator pools
the proof, its worker process lifts it into a recursion root (node/aggregator_v1.py), the
proposer includes the root, and consensus accepts it: the task becomes proven with the
executor's result. Slow: one zkVM lift under `conjectured` is minutes on this machine."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from node_cluster import rpc, wait_for
from test_proving_network import (
    SLOW_WAIT,
    TIMINGS,
    _input,
    _program,
    deploy_guests,
    start_provers,
    wait_all_proven,
)

from execution.programs import image_id_bytes_of_elf
from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
from execution.zkvm import execute, load_elf
from genesis import Genesis
from genesis.params import UNIVERSAL_PROOF_V1
from node.cli.task_cmd import RpcClient, send_transaction

pytestmark = pytest.mark.xdist_group("node-processes")

TASK = 1  # test_proving_network's task 1: the fibonacci guest
V1_TIMEOUT = 2400.0


def task_shape() -> tuple[int, ...]:
    """The shape of the task's proof (it depends on the run only), proven once here: this also
    fills numba's disk cache before the node processes start."""
    from execution.zkproof import prove

    tp = prove(_program(TASK), _input(TASK), "conjectured")
    return tuple(t.log_n for t in tp.stark.tables)


@pytest.mark.slow
@pytest.mark.timeout(3000)
def test_a_v1_chain_proves_a_task_through_a_recursion_root(cluster_factory: Any) -> None:
    shape = task_shape()
    cluster = cluster_factory(1, TIMINGS)
    genesis = Genesis.load(cluster.root / "genesis.json", verify_keys=False)
    params = replace(
        genesis.params,
        task_deadline_blocks=100_000,
        unbonding_period_blocks=100_100,  # covers deadline + proof evidence age (genesis)
        prover_timeout_blocks=60,
        universal_proof_version=UNIVERSAL_PROOF_V1,
        universal_proof_lift_shapes=(shape,),
    )
    v1_genesis = replace(genesis, params=params)
    v1_genesis.write(cluster.root / "genesis.json")
    for node in cluster.nodes:
        v1_genesis.write(node.home / "genesis.json")
    cluster.start_all()
    provers = start_provers(cluster, 1)
    cluster.wait_height(0, 2, SLOW_WAIT)
    url = cluster.url(0)
    deploy_guests(url, cluster.account_keys)
    request = TaskRequest(image_id_bytes_of_elf(_program(TASK)), _input(TASK), 100_000, 1)
    key = bytes.fromhex(cluster.account_keys[0][2:])
    task_id = send_transaction(RpcClient(url), key, TASK_SYSTEM_ADDRESS, request.encode())
    (result,) = wait_all_proven(url, [task_id], V1_TIMEOUT)
    expected = execute(load_elf(_program(TASK)), _input(TASK))
    assert int(result["exitCode"], 16) == expected.exit_code
    assert result["output"] == "0x" + expected.output.hex()
    assert int(result["cycles"], 16) == expected.cycles
    # It was a v1 root, built by the validator's worker and brought by a block.
    home = cluster.nodes[0].home
    built = cluster.log_events(home, "v1_root_built")
    assert built and built[0]["tasks"] == 1
    wait_for(lambda: int(rpc(url, "ivc_status")["provenBlockNumber"], 16) >= 3, SLOW_WAIT, "proven")
    print("v1 root built:", built[0])
    print((home / "data" / "universal-v1" / "worker.log").read_text())
    assert provers
