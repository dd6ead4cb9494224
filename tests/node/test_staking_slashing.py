"""An equivocating validator is slashed and leaves the set at evidence block + delay, on real
node processes (the Byzantine one is tests/node/equivocator.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from node_cluster import STARTUP_TIMEOUT, rpc, wait_for

from genesis import AccountKey, Genesis, ValidatorKey, read_key_file

pytestmark = pytest.mark.xdist_group("node-processes")

HONEST = (0, 1, 2)


@pytest.mark.slow
def test_equivocator_is_slashed_and_leaves_the_set(cluster_factory: Any, tmp_path: Path) -> None:
    cluster = cluster_factory(4)
    for i in HONEST:
        cluster.start(i)
    for i in HONEST:
        cluster.wait_height(i, 3, STARTUP_TIMEOUT)
    url = cluster.url(0)
    chain_id = int(rpc(url, "eth_chainId"), 16)
    byzantine = cluster.nodes[3]
    key_file = byzantine.home / "config" / "validator_key.json"
    argv = [sys.executable, str(Path(__file__).parent / "equivocator.py"), str(tmp_path / "byz")]
    argv += [
        str(key_file),
        str(chain_id),
        "3",
        "120",
        *(cluster.nodes[i].peer_addr for i in HONEST),
    ]
    (tmp_path / "byz").mkdir()
    with open(tmp_path / "byz.log", "wb") as out:
        cluster.extra.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT))

    def evidence_block() -> int | None:
        found = [
            e["height"]
            for e in cluster.log_events(cluster.nodes[0].home, "commit")
            if e["evidence"]
        ]
        return min(found) if found else None

    block: int = wait_for(evidence_block, 150, "a block with duplicate-vote evidence")
    delay = Genesis.load(byzantine.home / "genesis.json").params.validator_set_delay
    leaves_at = block + delay
    cluster.wait_height(0, leaves_at + 2, 90)

    vkey = read_key_file(key_file)
    reward = read_key_file(byzantine.home / "config" / "reward_key.json")
    assert isinstance(vkey, ValidatorKey) and isinstance(reward, AccountKey)
    offender = "0x" + vkey.address.hex()

    def members(height: int) -> set[str]:
        answer = rpc(url, "ivc_validators", hex(height))
        return {v["address"] for v in answer["validators"]}

    assert offender in members(leaves_at - 1)
    assert offender not in members(leaves_at)
    stake: dict[str, Any] = rpc(url, "ivc_getStake", "0x" + reward.address.hex())
    (bond,) = stake["validators"]
    cut = 10 * 10**18 * 50_000 // 1_000_000  # 5 % of power 10 x power unit
    assert bond["status"] == "tombstoned" and bond["slashed"] == hex(cut)
    assert bond["stake"] == hex(10 * 10**18 - cut) and bond["votingPower"] == "0x0"
    # Three honest validators of the four go on, on one chain.
    top = leaves_at + 4
    for i in HONEST:
        cluster.wait_height(i, top, 90)
    hashes = {rpc(cluster.url(i), "eth_getBlockByNumber", hex(top), False)["hash"] for i in HONEST}
    assert len(hashes) == 1
