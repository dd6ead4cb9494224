"""Staking over JSON-RPC: `ivc_getStake(address)`, what an account has staked, unbonding and lost.

    methods = staking_methods(view)        # {"ivc_getStake": ...}
    RpcConfig(extra_methods=methods)

It reads through `StakingView`, a seam of its own (as the proving network's methods do); the
node implements it in node/chain_view.py over the head state. `ivc_validators` (stake, power,
owner of each member) and `ivc_provers` (stake, slashed, misses) carry the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from node.rpc.context import Handler, RpcContext
from node.rpc.hexcodec import encode_data, encode_quantity, parse_address
from node.rpc.params import Params


@dataclass(frozen=True, slots=True)
class BondInfo:
    """One validator key an account owns: its stake, status ("bonded", "unbonded",
    "tombstoned"), what slashing took, and its voting power in the set of the next block."""

    bls_public_key: bytes
    address: bytes
    stake: int
    status: str
    slashed: int
    voting_power: int


@dataclass(frozen=True, slots=True)
class ProverStakeInfo:
    stake: int
    registered: bool
    slashed: int
    misses: int


@dataclass(frozen=True, slots=True)
class StakeInfo:
    height: int
    bonds: tuple[BondInfo, ...]
    unbonding: tuple[tuple[int, int], ...]  # (amount, release height)
    prover: ProverStakeInfo | None


class StakingView(Protocol):
    async def stake(self, address: bytes) -> StakeInfo:
        """What `address` has bonded, unbonding and slashed, at the head state."""
        ...


def format_stake(address: bytes, info: StakeInfo) -> dict[str, Any]:
    prover = info.prover
    return {
        "address": encode_data(address),
        "blockNumber": encode_quantity(info.height),
        "bonded": encode_quantity(sum(b.stake for b in info.bonds if b.status == "bonded")),
        "unbondingTotal": encode_quantity(sum(a for a, _ in info.unbonding)),
        "slashed": encode_quantity(
            sum(b.slashed for b in info.bonds) + (prover.slashed if prover else 0)
        ),
        "validators": [
            {
                "blsPublicKey": encode_data(b.bls_public_key),
                "address": encode_data(b.address),
                "stake": encode_quantity(b.stake),
                "status": b.status,
                "slashed": encode_quantity(b.slashed),
                "votingPower": encode_quantity(b.voting_power),
            }
            for b in info.bonds
        ],
        "unbonding": [
            {"amount": encode_quantity(a), "releaseBlockNumber": encode_quantity(h)}
            for a, h in info.unbonding
        ],
        "prover": None
        if prover is None
        else {
            "stake": encode_quantity(prover.stake),
            "registered": prover.registered,
            "slashed": encode_quantity(prover.slashed),
            "misses": encode_quantity(prover.misses),
        },
    }


def staking_methods(view: StakingView) -> dict[str, Handler]:
    async def get_stake(ctx: RpcContext, params: Params) -> dict[str, Any]:
        """ivc_getStake(address): bonded (per validator key), unbonding (with release block),
        slashed, and the prover stake, at the head."""
        params.at_most(1)
        address = params.required(0, "address", parse_address)
        return format_stake(address, await view.stake(address))

    return {"ivc_getStake": get_stake}


__all__ = [
    "BondInfo",
    "ProverStakeInfo",
    "StakeInfo",
    "StakingView",
    "format_stake",
    "staking_methods",
]
