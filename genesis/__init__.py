"""Genesis: the genesis document, protocol parameters, keys, and local chain folders."""

from genesis.document import Genesis, GenesisAccount, GenesisValidator, default_eth_chain_id
from genesis.errors import GenesisError
from genesis.home import LocalChain, init_local_chain, read_account_keys
from genesis.keys import (
    AccountKey,
    ValidatorKey,
    read_key_file,
    to_checksum_address,
    validator_address,
    verify_proof_of_possession,
)
from genesis.params import ETHER, GWEI, ProofParams, ProtocolParams

__all__ = [
    "ETHER",
    "GWEI",
    "AccountKey",
    "Genesis",
    "GenesisAccount",
    "GenesisError",
    "GenesisValidator",
    "LocalChain",
    "ProofParams",
    "ProtocolParams",
    "ValidatorKey",
    "default_eth_chain_id",
    "init_local_chain",
    "read_account_keys",
    "read_key_file",
    "to_checksum_address",
    "validator_address",
    "verify_proof_of_possession",
]
