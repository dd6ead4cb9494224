"""Real processes: a malicious prover (`--prover-fault other-input`: a valid proof of the task's
program on another input, so another output) ranked first publishes its proof, signed; every
honest pool rejects it, it never enters the state nor earns anything, the next prover in line
proves the task after the timeout, and the validator turns the signed bad proof into evidence
that slashes the malicious prover's stake on chain (read back over RPC)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from node_cluster import free_ports, log_events, rpc, try_rpc, wait_for, warm_proving_kernels
from prover_helpers import ELF
from test_prover_kill import _send

from execution.programs import image_id_bytes_of_elf
from execution.staking import build_register_prover_tx
from execution.types import TaskRequest
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.zkvm import execute, load_elf
from genesis import AccountKey, Genesis, GenesisAccount
from genesis.keys import write_key_file
from genesis.params import ETHER
from node.devnet import DevnetNode
from node.prover import rank_provers

pytestmark = pytest.mark.xdist_group("node-processes")


@pytest.fixture(scope="module", autouse=True)
def _warm_kernels() -> None:
    warm_proving_kernels()


BAD, GOOD = AccountKey((0xB1).to_bytes(32, "big")), AccountKey((0xB2).to_bytes(32, "big"))
# 0.3 s blocks: the good prover starts a task the bad one leads about 9 s after it, so the
# bad proof reaches the validator first
TIMEOUT_BLOCKS = 30
MAX_TASKS = 6  # the bad prover is first in line for a task with odds 1/2
BAD_STAKE = ETHER


def _result(url: str, task_id: bytes) -> dict[str, Any] | None:
    r = try_rpc(url, "ivc_getTaskResult", "0x" + task_id.hex())
    return r if r is not None and r["status"] != "pending" else None


@pytest.mark.slow
def test_a_malicious_provers_proof_is_rejected_and_the_next_prover_proves_the_task(  # type: ignore[no-untyped-def]
    cluster_factory, tmp_path: Path
) -> None:
    cluster = cluster_factory(validators=1)
    genesis = Genesis.load(cluster.root / "genesis.json", verify_keys=False)
    genesis = replace(
        genesis,
        params=replace(
            genesis.params,
            prover_timeout_blocks=TIMEOUT_BLOCKS,
            task_deadline_blocks=2_000,
            unbonding_period_blocks=2_100,  # covers deadline + proof evidence age
        ),
        provers=(BAD.address, GOOD.address),
        # the bad prover adds a stake to its genesis registration (which has none)
        accounts=(*genesis.accounts, GenesisAccount(BAD.address, 2 * ETHER)),
    )
    genesis.write(cluster.root / "genesis.json")
    genesis.write(cluster.nodes[0].home / "genesis.json")
    cluster.start_all()
    url = cluster.url(0)
    homes: dict[bytes, Path] = {}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for j, (key, extra) in enumerate(((BAD, ["--prover-fault", "other-input"]), (GOOD, []))):
            home = tmp_path / f"prover{j}"
            home.mkdir()
            shutil.copy(cluster.root / "genesis.json", home / "genesis.json")
            rpc_port, p2p_port = free_ports(2)
            node = DevnetNode(90 + j, home, rpc_port, p2p_port, "")
            argv = cluster.command(node, [cluster.nodes[0].peer_addr])
            argv += ["--prover", "--prover-address", key.address.hex(), "--prover-workers", "1"]
            (home / "data").mkdir(parents=True)
            write_key_file(home / "config" / "prover_key.json", key.to_json())  # signs proofs
            with open(home / "data" / "stdout.log", "ab") as out:
                procs.append(
                    subprocess.Popen(
                        [*argv, *extra],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,  # its proving children die with the group
                    )
                )
            homes[key.address] = home
            wait_for(lambda n=node: try_rpc(n.rpc_url, "eth_blockNumber"), 120, "prover RPC")
        cluster.wait_height(0, 1, timeout=120)
        _send(url, cluster.account_keys[0], b"", ELF, 5_000_000)
        chain_id = int(rpc(url, "eth_chainId"), 16)
        stake_tx = build_register_prover_tx(
            BAD.private_key, chain_id=chain_id, nonce=0, amount=BAD_STAKE
        )
        tx_hash = rpc(url, "eth_sendRawTransaction", "0x" + stake_tx.raw.hex())
        staked = wait_for(lambda: try_rpc(url, "eth_getTransactionReceipt", tx_hash), 60, "stake")
        assert int(staked["status"], 16) == 1
        bad_balance = int(rpc(url, "eth_getBalance", "0x" + BAD.address.hex(), "latest"), 16)

        # Tasks one at a time until the bad prover is first in line for one (the block hash
        # fixes the order; each earlier task is proven by the good prover at once).
        request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, 1000).encode()
        tasks: list[tuple[bytes, int]] = []
        while len(tasks) < MAX_TASKS:
            receipt = _send(url, cluster.account_keys[1], TASK_SYSTEM_ADDRESS, request, 200_000)
            task_id = bytes.fromhex(receipt["transactionHash"][2:])
            tasks.append((task_id, int(receipt["blockNumber"], 16)))
            block_hash = bytes.fromhex(receipt["blockHash"][2:])
            if rank_provers(block_hash, task_id, (BAD.address, GOOD.address))[0] == BAD.address:
                break
            wait_for(lambda t=task_id: _result(url, t), 300, "a task the good prover leads")
        else:
            pytest.fail(f"the bad prover led none of {MAX_TASKS} tasks")
        target = tasks[-1][0].hex()

        # it did prove and publish a bad proof of the task it leads ...
        wait_for(
            lambda: any(
                e["task"] == target for e in log_events(homes[BAD.address], "bad_proof_published")
            ),
            300,
            "the bad prover's proof",
        )
        result = wait_for(lambda: _result(url, tasks[-1][0]), 300, "the task proven")
        # ... which the validator fetched and rejected (the good prover too, unless its own
        # proof was pooled first: a node fetches only proofs it lacks)
        rejected = [
            e for e in log_events(cluster.nodes[0].home, "proof_rejected") if e["task"] == target
        ]
        assert rejected and all(e["prover"] == BAD.address.hex() for e in rejected)

        # The task is proven by the good prover with the executor's result; every task is.
        expected = execute(load_elf(ELF), b"")
        assert result["status"] == "proven" and result["prover"] == "0x" + GOOD.address.hex()
        assert int(result["exitCode"], 16) == expected.exit_code
        assert result["output"] == "0x" + expected.output.hex()
        for task_id, height in tasks:
            done = wait_for(lambda t=task_id: _result(url, t), 300, "every task proven")
            assert done["prover"] == "0x" + GOOD.address.hex()
            ups = rpc(url, "ivc_getUniversalProof", hex(height), False)["universalProofs"]
            assert all("0x" + BAD.address.hex() not in up["provers"] for up in ups)
        # never rewarded: no proven task, no reward, its balance as after its registration
        provers = {p["address"]: p for p in rpc(url, "ivc_provers")["provers"]}
        bad = provers.get("0x" + BAD.address.hex())
        assert bad is None or (int(bad["provenTasks"], 16), int(bad["rewards"], 16)) == (0, 0)
        assert int(provers["0x" + GOOD.address.hex()]["provenTasks"], 16) == len(tasks)
        assert (
            int(rpc(url, "eth_getBalance", "0x" + BAD.address.hex(), "latest"), 16) == bad_balance
        )

        # The signed bad proof became evidence in a block: the bad prover lost a tenth of its
        # stake (burned) and was unregistered, the rest unbonding (a miss of the task it led
        # may then cut 1 % of that too).
        evidence = log_events(cluster.nodes[0].home, "proof_evidence")
        assert evidence and all(e["prover"] == BAD.address.hex() for e in evidence)
        cut = BAD_STAKE * genesis.params.invalid_proof_slash_ppm // 1_000_000
        stake = wait_for(
            lambda: (
                s
                if (s := rpc(url, "ivc_getStake", "0x" + BAD.address.hex()))["prover"]
                and int(s["prover"]["slashed"], 16) >= cut
                else None
            ),
            120,
            "the bad prover slashed",
        )
        prover = stake["prover"]
        slashed = int(prover["slashed"], 16)
        assert prover["registered"] is False and int(prover["stake"], 16) == 0
        assert cut <= slashed <= cut + (BAD_STAKE - cut) // 100 + 1
        assert int(stake["unbondingTotal"], 16) == BAD_STAKE - slashed
        # ivc_provers lists the registered set and the provers with proven tasks: the bad prover
        # is neither any more (if listed, it shows the slash)
        listed = {p["address"]: p for p in rpc(url, "ivc_provers")["provers"]}
        bad = listed.get("0x" + BAD.address.hex())
        assert bad is None or (bad["registered"], int(bad["slashed"], 16)) == (False, slashed)
        good = rpc(url, "ivc_getStake", "0x" + GOOD.address.hex())["prover"]
        assert good is not None and int(good["slashed"], 16) == 0
        print(
            f"bad prover led task {len(tasks)} of {len(tasks)}; proven by the good one: {result};"
            f" bad prover slashed {slashed} of {BAD_STAKE}"
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
