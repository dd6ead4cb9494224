"""Staking across real node processes on 127.0.0.1 (tests/node/node_cluster.py).

Four genesis validators commit; a fifth node that holds only the genesis file, one peer address
and a BLS key of its own syncs as a full node, bonds over RPC, enters the set at
validator_set_delay blocks after its bond and signs commits, while one genesis validator is down
(it comes back and syncs across the change); then a genesis validator unbonds and leaves the
set. Blocks commit throughout and every node agrees on every state root.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from node_cluster import STARTUP_TIMEOUT, Cluster, free_ports, rpc, try_rpc, wait_for

from consensus import Commit
from execution.chain import Chain
from execution.staking import build_bond_tx, build_unbond_tx
from execution.types.transaction import Transaction
from genesis import AccountKey, Genesis, ValidatorKey, read_key_file
from genesis.keys import write_key_file
from genesis.params import ETHER
from node.devnet import DevnetNode
from node.validator_sets import ValidatorSets

pytestmark = pytest.mark.xdist_group("node-processes")


def _members(url: str) -> dict[str, dict[str, Any]]:
    answer = try_rpc(url, "ivc_validators")
    return {v["address"].lower(): v for v in answer["validators"]} if answer else {}


def _send(url: str, tx: Transaction) -> dict[str, Any]:
    tx_hash = rpc(url, "eth_sendRawTransaction", "0x" + tx.raw.hex())
    receipt: dict[str, Any] = wait_for(
        lambda: try_rpc(url, "eth_getTransactionReceipt", tx_hash), 90, f"receipt of {tx_hash}"
    )
    assert receipt["status"] == "0x1"
    return receipt


def _nonce(url: str, address: bytes) -> int:
    return int(rpc(url, "eth_getTransactionCount", "0x" + address.hex(), "pending"), 16)


@pytest.mark.slow
def test_a_full_node_bonds_and_signs_and_a_genesis_validator_unbonds(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path / "net", 4)
    try:
        cluster.start_all()
        cluster.wait_height(0, 2, STARTUP_TIMEOUT)
        url = cluster.url(0)
        chain_id = int(rpc(url, "eth_chainId"), 16)
        delay = Genesis.load(tmp_path / "net" / "genesis.json").params.validator_set_delay

        # The fifth node: the genesis file, its own BLS key, one peer.
        home = tmp_path / "fifth"
        (home / "config").mkdir(parents=True)
        shutil.copy(tmp_path / "net" / "genesis.json", home / "genesis.json")
        vkey = ValidatorKey.generate()
        write_key_file(home / "config" / "validator_key.json", vkey.to_json())
        rpc_port, p2p_port = free_ports(2)
        fifth = DevnetNode(4, home, rpc_port, p2p_port, "")
        cluster.extra.append(
            cluster._spawn(cluster.command(fifth, [cluster.nodes[0].peer_addr]), home)
        )
        wait_for(
            lambda: (try_rpc(fifth.rpc_url, "eth_blockNumber") or "0x0") != "0x0",
            STARTUP_TIMEOUT,
            "the fifth node syncing",
        )

        # Validator 2 is down while the set changes: 30 of 40 powers are up before, 40 of 50 after.
        cluster.kill(2)

        # It bonds 10 (as much as each genesis validator) over its own RPC.
        owner = AccountKey(bytes.fromhex(cluster.account_keys[0][2:]))
        bond = build_bond_tx(
            owner.private_key,
            chain_id=chain_id,
            nonce=_nonce(fifth.rpc_url, owner.address),
            amount=10 * ETHER,
            validator_secret_key=vkey.secret_key,
        )
        bonded_at = int(_send(fifth.rpc_url, bond)["blockNumber"], 16)
        new = "0x" + vkey.address.hex()
        entered = wait_for(lambda: new in _members(url), 90, "the bond taking effect")
        assert entered
        member = _members(url)[new]
        assert member["votingPower"] == "0xa" and member["stake"] == hex(10 * ETHER)
        assert member["owner"] == "0x" + owner.address.hex()
        stake = rpc(url, "ivc_getStake", "0x" + owner.address.hex())
        assert stake["bonded"] == hex(10 * ETHER)
        assert stake["validators"][0]["status"] == "bonded"
        in_set_from = bonded_at + delay
        cluster.wait_height(0, in_set_from + 6, 120)
        # Validator 2 comes back and block-syncs across the change, verifying each commit with
        # the set it computes for that height.
        cluster.start(2)
        cluster.wait_height(2, in_set_from + 6, STARTUP_TIMEOUT)

        # Genesis validator 3 unbonds everything (its reward account owns it; gas money first).
        reward = read_key_file(tmp_path / "net" / "node3" / "config" / "reward_key.json")
        leaving_key = read_key_file(tmp_path / "net" / "node3" / "config" / "validator_key.json")
        assert isinstance(reward, AccountKey) and isinstance(leaving_key, ValidatorKey)
        payer = AccountKey(bytes.fromhex(cluster.account_keys[1][2:]))
        gas = Transaction(
            chain_id,
            _nonce(url, payer.address),
            10**9,
            2 * 10**9,
            21_000,
            reward.address,
            ETHER,
            b"",
        ).sign(payer.private_key)
        _send(url, gas)
        unbond = build_unbond_tx(
            reward.private_key,
            chain_id=chain_id,
            nonce=_nonce(url, reward.address),
            bls_public_key=leaving_key.public_key,
        )
        unbonded_at = int(_send(url, unbond)["blockNumber"], 16)
        leaving = "0x" + leaving_key.address.hex()
        wait_for(lambda: leaving not in _members(url), 90, "the unbonded validator leaving")
        assert set(_members(url)) >= {new}
        unbonding = rpc(url, "ivc_getStake", "0x" + reward.address.hex())["unbonding"]
        period = Genesis.load(tmp_path / "net" / "genesis.json").params.unbonding_period_blocks
        assert unbonding == [
            {"amount": hex(10 * ETHER), "releaseBlockNumber": hex(unbonded_at + period)}
        ]
        left_from = unbonded_at + delay
        end = left_from + 5
        for i in (0, 1, 2):
            cluster.wait_height(i, end, 120)
        wait_for(
            lambda: int(try_rpc(fifth.rpc_url, "eth_blockNumber") or "0x0", 16) >= end,
            120,
            "the fifth node following",
        )
        # One chain: every node has the same state root at every height.
        urls = [cluster.url(i) for i in range(4)] + [fifth.rpc_url]
        for h in range(1, end + 1):
            roots = {rpc(u, "eth_getBlockByNumber", hex(h), False)["stateRoot"] for u in urls}
            assert len(roots) == 1, h
    finally:
        cluster.stop_all()

    # The commits of node 0's chain: the newcomer's bit from its first height in the set on,
    # and the leaver's index gone after it left.
    chain = Chain.open(
        tmp_path / "net" / "node0" / "data" / "chain", Genesis.load(home / "genesis.json")
    )
    try:
        sets = ValidatorSets(chain)
        signed = 0
        for h in range(1, end + 1):
            commit = Commit.decode(chain.commit_at(h) or b"")
            vset = sets.at(h)
            index = vset.index_of(vkey.public_key)
            assert (index is not None) == (h >= in_set_from), h
            assert (vset.index_of(leaving_key.public_key) is None) == (h >= left_from), h
            if index is not None and index in commit.signer_indices():
                signed += 1
        assert signed >= 3, f"the new validator signed {signed} commits"
    finally:
        chain.close()
