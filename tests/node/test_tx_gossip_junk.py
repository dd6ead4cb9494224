"""A node process bans the author of invalid transaction gossip, not an honest publisher of
stale or known transactions (real node process, a libp2p host in this process)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import trio
from eth_account import Account
from node_cluster import rpc, wait_for

from p2p import TOPIC_TRANSACTIONS, P2PConfig, open_p2p_service


def _signed_transfer(key: str, chain_id: int, nonce: int) -> bytes:
    tx = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "maxFeePerGas": 2 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 21_000,
        "to": "0x" + "00" * 19 + "42",
        "value": 1,
        "data": b"",
    }
    return bytes(Account.sign_transaction(tx, key).raw_transaction)


@pytest.mark.slow
@pytest.mark.xdist_group("node-processes")
@pytest.mark.timeout(300)
def test_author_of_invalid_tx_gossip_is_banned_honest_one_is_not(
    cluster_factory: Any, tmp_path: Path
) -> None:
    cluster = cluster_factory(1)
    cluster.start_all()
    cluster.wait_height(0, 2)
    url = cluster.url(0)
    chain_id = int(rpc(url, "eth_chainId"), 16)
    key = cluster.account_keys[0]
    node_addr = cluster.nodes[0].peer_addr
    node_id = node_addr.rsplit("/", 1)[1]
    valid = _signed_transfer(key, chain_id, 0)
    rng = random.Random(11)

    async def publish(home: Path, batches: list[list[bytes]], wait: float = 5.0) -> bool:
        """Publish each batch from a fresh host; True if the node still has us connected
        `wait` seconds later."""
        async with open_p2p_service(P2PConfig(home=home)) as host:
            await host.connect(node_addr)
            await host.wait_for_topic_peers(TOPIC_TRANSACTIONS, 1, timeout=30)
            for batch in batches:
                await host.publish_transactions(batch)
                await trio.sleep(0.3)
            with trio.move_on_after(wait):
                while host.is_connected(node_id):
                    await trio.sleep(0.2)
            return host.is_connected(node_id)

    # An honest publisher: a valid transfer, then the same again (known), then a stale one
    # once it is committed: none is the author's fault.
    assert trio.run(publish, tmp_path / "honest", [[valid], [valid]])
    wait_for(
        lambda: (
            int(rpc(url, "eth_getTransactionCount", Account.from_key(key).address, "latest"), 16)
            >= 1
        ),
        60,
        "the gossiped transfer committed",
    )
    assert trio.run(publish, tmp_path / "honest", [[valid]])
    # Junk: well-formed batches of undecodable transactions, three batches are a ban.
    junk = [[rng.randbytes(120) for _ in range(5)] for _ in range(4)]
    assert not trio.run(publish, tmp_path / "junk", junk, 30.0)
    # The node is up and the honest publisher still welcome.
    assert int(rpc(url, "eth_blockNumber"), 16) >= 2
    assert trio.run(publish, tmp_path / "honest", [[_signed_transfer(key, chain_id, 1)]])
