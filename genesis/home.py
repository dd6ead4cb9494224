"""Create the folders of a local chain: one genesis, funded accounts, one home per validator.

NETWORK/genesis.json             the chain's genesis document
NETWORK/accounts.json            private keys of the funded accounts (a devnet's secrets)
NETWORK/node<i>/genesis.json     a copy: each node home is self-contained
NETWORK/node<i>/config/validator_key.json
NETWORK/node<i>/config/reward_key.json    the account credited with its proposer tips
NETWORK/node<i>/data/            created by the node (LevelDB, WAL, logs)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from genesis.document import Genesis, GenesisAccount, GenesisValidator, default_eth_chain_id
from genesis.errors import GenesisError
from genesis.keys import AccountKey, ValidatorKey, to_checksum_address, write_key_file
from genesis.params import ETHER, ProtocolParams

GENESIS_FILE = "genesis.json"
ACCOUNTS_FILE = "accounts.json"
VALIDATOR_KEY_FILE = Path("config") / "validator_key.json"
REWARD_KEY_FILE = Path("config") / "reward_key.json"  # the account that receives its tips
DEFAULT_BALANCE = 1_000_000 * ETHER


@dataclass(frozen=True)
class LocalChain:
    root: Path
    genesis: Genesis
    validator_keys: tuple[ValidatorKey, ...]
    account_keys: tuple[AccountKey, ...]

    def node_home(self, index: int) -> Path:
        return self.root / f"node{index}"


def init_local_chain(
    root: Path,
    chain_id: str,
    validators: int,
    accounts: int,
    balance: int = DEFAULT_BALANCE,
    params: ProtocolParams | None = None,
    genesis_time_ms: int | None = None,
    eth_chain_id: int | None = None,
) -> LocalChain:
    """Write a new chain into `root`, which must not already hold a genesis file."""
    if validators < 1:
        raise GenesisError("validators: at least one validator is needed")
    if accounts < 0:
        raise GenesisError("accounts: cannot be negative")
    if (root / GENESIS_FILE).exists():
        raise GenesisError(f"{root / GENESIS_FILE} already exists; refusing to overwrite a chain")
    vkeys = tuple(ValidatorKey.generate() for _ in range(validators))
    rkeys = tuple(AccountKey.generate() for _ in range(validators))
    akeys = tuple(AccountKey.generate() for _ in range(accounts))
    genesis = Genesis(
        chain_id=chain_id,
        eth_chain_id=eth_chain_id if eth_chain_id is not None else default_eth_chain_id(chain_id),
        genesis_time_ms=genesis_time_ms if genesis_time_ms is not None else int(time.time() * 1000),
        validators=tuple(
            GenesisValidator(f"node{i}", k.public_key, k.proof_of_possession(), 10, r.address)
            for i, (k, r) in enumerate(zip(vkeys, rkeys, strict=True))
        ),
        accounts=tuple(GenesisAccount(k.address, balance) for k in akeys),
        params=params or ProtocolParams(),
    )
    # Round-trip through the validating loader before anything is written.
    Genesis.from_json(json.loads(json.dumps(genesis.to_json())), verify_keys=False)
    root.mkdir(parents=True, exist_ok=True)
    genesis.write(root / GENESIS_FILE)
    write_key_file(root / ACCOUNTS_FILE, {"accounts": [k.to_json() for k in akeys]})  # type: ignore[dict-item]
    for i, key in enumerate(vkeys):
        home = root / f"node{i}"
        genesis.write(home / GENESIS_FILE)
        write_key_file(home / VALIDATOR_KEY_FILE, key.to_json())
        write_key_file(home / REWARD_KEY_FILE, rkeys[i].to_json())
    return LocalChain(root, genesis, vkeys, akeys)


def read_account_keys(root: Path) -> list[AccountKey]:
    path = root / ACCOUNTS_FILE
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise GenesisError(f"{path}: no such file") from None
    except (OSError, ValueError) as exc:
        raise GenesisError(f"{path}: unreadable ({exc})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("accounts"), list):
        raise GenesisError(f"{path}.accounts: must be a list")
    return [AccountKey.from_json(a, f"{path}.accounts[{i}]") for i, a in enumerate(obj["accounts"])]


def describe_account(key: AccountKey) -> str:
    return f"{to_checksum_address(key.address)}  0x{key.private_key.hex()}"
