"""Shared by chain-core tests: deterministic keys and a small genesis (tests/ is on sys.path)."""

from __future__ import annotations

from genesis import (
    AccountKey,
    Genesis,
    GenesisAccount,
    GenesisValidator,
    ProtocolParams,
    ValidatorKey,
)
from genesis.params import ETHER

CHAIN_ID = 31337


def account_keys(n: int) -> list[AccountKey]:
    return [AccountKey((i + 1).to_bytes(32, "big")) for i in range(n)]


_VALIDATOR = ValidatorKey((7).to_bytes(32, "big"))
REWARD_KEY = AccountKey((999).to_bytes(32, "big"))  # receives the validator's proposer tips


def validator_key() -> tuple[ValidatorKey, bytes]:
    """The test chain's one validator and its proof of possession."""
    return _VALIDATOR, _VALIDATOR.proof_of_possession()


def make_genesis(n_accounts: int = 4, params: ProtocolParams | None = None) -> Genesis:
    vk, pop = validator_key()
    return Genesis(
        chain_id="ivc-test",
        eth_chain_id=CHAIN_ID,
        genesis_time_ms=1_000,
        validators=(GenesisValidator("v0", vk.public_key, pop, 10, REWARD_KEY.address),),
        accounts=tuple(GenesisAccount(k.address, 1000 * ETHER) for k in account_keys(n_accounts)),
        params=params or ProtocolParams(),
    )
