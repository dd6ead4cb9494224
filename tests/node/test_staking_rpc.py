"""ivc_getStake, ivc_validators and ivc_provers over a real RPC server on a real chain."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from chain_helpers import CHAIN_ID, REWARD_KEY, account_keys, make_genesis

from execution.chain import Chain
from execution.staking import (
    build_bond_tx,
    build_register_prover_tx,
    build_unbond_tx,
    validators_at,
)
from genesis import ProtocolParams, ValidatorKey
from genesis.params import ETHER
from node.chain_view import NodeChainView
from node.rpc import RpcConfig, open_rpc_server
from node.rpc.methods_staking import staking_methods
from node.rpc.methods_universal import universal_methods
from node.universal_index import NodeUniversalView
from node.validator_sets import ValidatorSets

ALICE, _, CAROL = account_keys(3)
NEW_VAL = ValidatorKey((11).to_bytes(32, "big"))


def _commit(chain: Chain, *raws: bytes) -> None:
    proposer = validators_at(chain.state(), chain.height + 1)[0].address
    chain.commit_block(chain.build_block(list(raws), proposer, chain.head.header.time_ms + 1000))


async def test_stake_validators_and_provers_over_rpc(tmp_path: Path) -> None:
    params = ProtocolParams(validator_set_delay=1, unbonding_period_blocks=50)
    chain = Chain.open(tmp_path / "c", make_genesis(params=params))
    try:
        bond = build_bond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=0,
            amount=5 * ETHER,
            validator_secret_key=NEW_VAL.secret_key,
        )
        register = build_register_prover_tx(
            CAROL.private_key, chain_id=CHAIN_ID, nonce=0, amount=ETHER
        )
        _commit(chain, bond.raw, register.raw)  # height 1
        unbond = build_unbond_tx(
            ALICE.private_key,
            chain_id=CHAIN_ID,
            nonce=1,
            bls_public_key=NEW_VAL.public_key,
            amount=2 * ETHER,
        )
        _commit(chain, unbond.raw)  # height 2
        sets = ValidatorSets(chain)
        holder = SimpleNamespace(
            chain=chain,
            p2p=None,
            config=SimpleNamespace(moniker="t"),
            validator_address=None,
            sync=SimpleNamespace(highest_seen=chain.height, starting_height=0),
            validator_members=sets.members_at,
        )
        view = NodeChainView(holder)  # type: ignore[arg-type]
        config = RpcConfig(
            port=0,
            extra_methods={
                **universal_methods(NodeUniversalView(holder)),  # type: ignore[arg-type]
                **staking_methods(view),
            },
        )
        async with open_rpc_server(config, view) as endpoint, httpx.AsyncClient() as http:

            async def call(method: str, *args: Any) -> Any:
                body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(args)}
                answer = (await http.post(endpoint.url, json=body)).json()
                assert "error" not in answer, answer
                return answer["result"]

            stake = await call("ivc_getStake", "0x" + ALICE.address.hex())
            assert stake["bonded"] == hex(3 * ETHER)
            assert stake["unbonding"] == [
                {"amount": hex(2 * ETHER), "releaseBlockNumber": hex(2 + 50)}
            ]
            (bond_info,) = stake["validators"]
            assert bond_info["status"] == "bonded" and bond_info["votingPower"] == "0x3"
            assert stake["prover"] is None
            carol = await call("ivc_getStake", "0x" + CAROL.address.hex())
            assert carol["prover"] == {
                "stake": hex(ETHER),
                "registered": True,
                "slashed": "0x0",
                "misses": "0x0",
            }
            # The set of block 2 (bond at 1 + delay 1) has the newcomer at power 5, and the
            # genesis validator owned by its reward address.
            at2 = {v["address"]: v for v in (await call("ivc_validators", "0x2"))["validators"]}
            new = at2["0x" + NEW_VAL.address.hex()]
            assert new["votingPower"] == "0x5" and new["owner"] == "0x" + ALICE.address.hex()
            assert new["stake"] == hex(3 * ETHER)  # the head's stake record
            assert {v["owner"] for v in at2.values()} == {
                "0x" + ALICE.address.hex(),
                "0x" + REWARD_KEY.address.hex(),
            }
            provers = (await call("ivc_provers"))["provers"]
            assert [(p["address"], p["registered"], p["stake"]) for p in provers] == [
                ("0x" + CAROL.address.hex(), True, hex(ETHER))
            ]
    finally:
        chain.close()
