"""Real processes: a prover killed with SIGKILL in the middle of a task loses it to the next
prover in line after the timeout; restarted, it comes back with its pool and follows the chain."""

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

from execution.programs import image_id_bytes_of_elf
from execution.types import TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from genesis import AccountKey, Genesis
from genesis.keys import write_key_file
from node.devnet import DevnetNode
from node.prover import rank_provers

# Many node processes each: run one such test at a time (make test-slow uses --dist loadgroup),
# so two multi-process networks never share the two cores.
pytestmark = pytest.mark.xdist_group("node-processes")


@pytest.fixture(scope="module", autouse=True)
def _warm_kernels() -> None:
    warm_proving_kernels()


P1, P2 = AccountKey((0xA1).to_bytes(32, "big")), AccountKey((0xA2).to_bytes(32, "big"))
TIMEOUT_BLOCKS = 15


def _send(url: str, key_hex: str, to: bytes, data: bytes, gas: int) -> dict[str, Any]:
    key = AccountKey(bytes.fromhex(key_hex.removeprefix("0x")))
    chain_id = int(rpc(url, "eth_chainId"), 16)
    nonce = int(rpc(url, "eth_getTransactionCount", "0x" + key.address.hex(), "pending"), 16)
    raw = Transaction(chain_id, nonce, 10**9, 3 * 10**9, gas, to, 0, data).sign(key.private_key).raw
    tx_hash = rpc(url, "eth_sendRawTransaction", "0x" + raw.hex())
    receipt: dict[str, Any] = wait_for(
        lambda: try_rpc(url, "eth_getTransactionReceipt", tx_hash), 60, "receipt"
    )
    assert int(receipt["status"], 16) == 1, receipt
    return receipt


@pytest.mark.slow
def test_killed_prover_loses_its_task_to_the_next_in_line(cluster_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cluster = cluster_factory(validators=1)
    genesis = Genesis.load(cluster.root / "genesis.json", verify_keys=False)
    genesis = replace(
        genesis,
        # 0.3 s blocks: the default deadline (100 blocks) is 30 s, less than a loaded machine
        # may take to prove twice
        params=replace(
            genesis.params,
            prover_timeout_blocks=TIMEOUT_BLOCKS,
            task_deadline_blocks=2_000,
            unbonding_period_blocks=2_100,  # covers deadline + proof evidence age
        ),
        provers=(P1.address, P2.address),
    )
    genesis.write(cluster.root / "genesis.json")
    genesis.write(cluster.nodes[0].home / "genesis.json")
    cluster.start_all()
    url = cluster.url(0)

    provers: dict[bytes, tuple[DevnetNode, list[str]]] = {}
    procs: dict[bytes, subprocess.Popen[bytes]] = {}

    def spawn(address: bytes) -> None:
        node, argv = provers[address]
        (node.home / "data").mkdir(parents=True, exist_ok=True)
        with open(node.home / "data" / "stdout.log", "ab") as out:
            # its own session, so that SIGKILL to the group takes its proving child too
            procs[address] = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    try:
        for j, key in enumerate((P1, P2)):
            home = tmp_path / f"prover{j}"
            home.mkdir()
            write_key_file(home / "config" / "prover_key.json", key.to_json())  # signs proofs
            shutil.copy(cluster.root / "genesis.json", home / "genesis.json")
            rpc_port, p2p_port = free_ports(2)
            node = DevnetNode(90 + j, home, rpc_port, p2p_port, "")
            argv = cluster.command(node, [cluster.nodes[0].peer_addr])
            argv += ["--prover", "--prover-address", key.address.hex(), "--prover-workers", "1"]
            provers[key.address] = (node, argv)
            spawn(key.address)
        cluster.wait_height(0, 1, timeout=120)
        for node, _ in provers.values():
            wait_for(lambda n=node: try_rpc(n.rpc_url, "eth_blockNumber"), 120, "prover RPC")

        _send(url, cluster.account_keys[0], b"", ELF, 5_000_000)
        request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, 1000)
        receipt = _send(
            url, cluster.account_keys[1], TASK_SYSTEM_ADDRESS, request.encode(), 200_000
        )
        task_id = bytes.fromhex(receipt["transactionHash"][2:])
        block_hash = bytes.fromhex(receipt["blockHash"][2:])
        first, second = rank_provers(block_hash, task_id, (P1.address, P2.address))

        first_home = provers[first][0].home
        wait_for(
            lambda: any(
                e.get("task") == task_id.hex() for e in log_events(first_home, "prove_start")
            ),
            120,
            "the first prover to start the task",
            interval=0.1,
        )
        os.killpg(procs[first].pid, signal.SIGKILL)
        procs[first].wait(timeout=30)
        killed_at = int(rpc(url, "eth_blockNumber"), 16)

        result = wait_for(
            lambda: (
                (r := try_rpc(url, "ivc_getTaskResult", "0x" + task_id.hex()))
                and r["status"] != "pending"
                and r
            ),
            300,
            "the task proven by the next prover",
        )
        assert result["status"] == "proven", result
        assert result["prover"] == "0x" + second.hex()
        assert not log_events(first_home, "proof_done")
        second_start = [
            e
            for e in log_events(provers[second][0].home, "prove_start")
            if e["task"] == task_id.hex()
        ]
        assert len(second_start) == 1 and second_start[0]["height"] == int(
            receipt["blockNumber"], 16
        )
        print(f"killed at height {killed_at}; proven by the next in line: {result}")

        # restarted, the killed prover comes back, follows the chain and leaves the task alone
        spawn(first)
        node = provers[first][0]
        head = int(rpc(url, "eth_blockNumber"), 16)
        wait_for(
            lambda: (h := try_rpc(node.rpc_url, "eth_blockNumber")) and int(h, 16) >= head,
            120,
            "the restarted prover at the head",
        )
        assert len(log_events(first_home, "prover_started")) == 2
        assert not log_events(first_home, "proof_done")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
