"""The genesis document: a JSON file that every node of a chain holds identically.

    {
      "chain_id": "ivc-devnet",            # the chain's name (CometBFT style)
      "eth_chain_id": 1729001,              # EIP-155 chain id that transactions sign over
      "genesis_time_ms": 1767225600000,
      "validators": [{"name", "address", "bls_public_key", "proof_of_possession", "power"}],
      "accounts": [{"address", "balance"}],
      "provers": ["0x..."],                 # optional: the addresses that may prove (see below)
      "params": {... ProtocolParams ...}
    }
`provers` is the prover set that assigns each task its provers in order (node/prover,
docs/proving.md); absent or empty, every node started with --prover proves, identified by its
reward address. It is omitted from the canonical form when empty, so older genesis files keep
their hash.
Loading checks every field and names the first bad one; nothing malformed gets past `load`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sha3

from genesis.errors import GenesisError
from genesis.keys import (
    parse_hex,
    to_checksum_address,
    validator_address,
    verify_proof_of_possession,
)
from genesis.params import ProtocolParams, _int_field

CHAIN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,47}$")
MAX_VALIDATORS = 150
MAX_PROVERS = 1024
MAX_GENESIS_BYTES = 64 << 20


def default_eth_chain_id(chain_id: str) -> int:
    """A stable EIP-155 id derived from the chain's name, so two devnets rarely collide."""
    return (
        1_000_000
        + int.from_bytes(sha3.keccak_256(chain_id.encode()).digest()[:4], "big") % 1_000_000_000
    )


@dataclass(frozen=True)
class GenesisValidator:
    """`reward_address` is the secp256k1 account that receives the tips of the blocks this
    validator proposes; without one, those tips are burned with the base fee (the validator's
    own address derives from its BLS key, and no one can sign for it)."""

    name: str
    bls_public_key: bytes
    proof_of_possession: bytes
    power: int
    reward_address: bytes = b""

    @property
    def address(self) -> bytes:
        return validator_address(self.bls_public_key)


@dataclass(frozen=True)
class GenesisAccount:
    address: bytes
    balance: int


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    eth_chain_id: int
    genesis_time_ms: int
    validators: tuple[GenesisValidator, ...]
    accounts: tuple[GenesisAccount, ...]
    params: ProtocolParams = field(default_factory=ProtocolParams)
    provers: tuple[bytes, ...] = ()

    # -- JSON -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "eth_chain_id": self.eth_chain_id,
            "genesis_time_ms": self.genesis_time_ms,
            "validators": [
                {
                    "name": v.name,
                    "address": to_checksum_address(v.address),
                    "bls_public_key": "0x" + v.bls_public_key.hex(),
                    "proof_of_possession": "0x" + v.proof_of_possession.hex(),
                    "power": v.power,
                    **(
                        {"reward_address": to_checksum_address(v.reward_address)}
                        if v.reward_address
                        else {}
                    ),
                }
                for v in self.validators
            ],
            "accounts": [
                {"address": to_checksum_address(a.address), "balance": str(a.balance)}
                for a in self.accounts
            ],
            "params": self.params.to_json(),
            **({"provers": [to_checksum_address(p) for p in self.provers]} if self.provers else {}),
        }

    def canonical_bytes(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    @property
    def hash(self) -> bytes:
        return sha3.keccak_256(self.canonical_bytes()).digest()

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def from_json(cls, obj: Any, verify_keys: bool = True) -> Genesis:
        if not isinstance(obj, dict):
            raise GenesisError("genesis: must be a JSON object")
        known = {
            "chain_id",
            "eth_chain_id",
            "genesis_time_ms",
            "validators",
            "accounts",
            "params",
            "provers",
        }
        for name in obj:
            if name not in known:
                raise GenesisError(f"{name}: unknown field")
        for name in ("chain_id", "genesis_time_ms", "validators", "accounts"):
            if name not in obj:
                raise GenesisError(f"{name}: missing")
        chain_id = obj["chain_id"]
        if not isinstance(chain_id, str) or not CHAIN_ID_PATTERN.match(chain_id):
            raise GenesisError(
                "chain_id: must be 1-48 characters of lowercase letters, digits, '.', '_', '-'"
            )
        eth_chain_id = _int_field(
            "eth_chain_id", obj.get("eth_chain_id", default_eth_chain_id(chain_id))
        )
        if not 1 <= eth_chain_id < 1 << 63:
            raise GenesisError("eth_chain_id: must be between 1 and 2^63 - 1")
        genesis_time_ms = _int_field("genesis_time_ms", obj["genesis_time_ms"])
        if not 0 <= genesis_time_ms < 1 << 63:
            raise GenesisError("genesis_time_ms: must be a non-negative millisecond timestamp")
        validators = _validators(obj["validators"], verify_keys)
        accounts = _accounts(obj["accounts"])
        params = ProtocolParams.from_json(obj.get("params", {}))
        provers = _provers(obj.get("provers", []))
        _check_staking(validators, params)
        return cls(chain_id, eth_chain_id, genesis_time_ms, validators, accounts, params, provers)

    @classmethod
    def load(cls, path: str | Path, verify_keys: bool = True) -> Genesis:
        """Read and validate a genesis file. `verify_keys=False` skips the proofs of
        possession (a pairing check each, ~7 ms natively), for a node whose database already
        records that this exact genesis was verified."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_GENESIS_BYTES:
                raise GenesisError(f"{path}: {size} bytes is larger than a genesis file may be")
            text = path.read_text()
        except FileNotFoundError:
            raise GenesisError(f"{path}: no such genesis file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise GenesisError(f"{path}: cannot read ({exc})") from None
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise GenesisError(f"{path}: not valid JSON ({exc})") from None
        return cls.from_json(obj, verify_keys=verify_keys)

    @property
    def total_power(self) -> int:
        return sum(v.power for v in self.validators)


def _validators(items: Any, verify_keys: bool) -> tuple[GenesisValidator, ...]:
    if not isinstance(items, list) or not items:
        raise GenesisError("validators: must be a non-empty list")
    if len(items) > MAX_VALIDATORS:
        raise GenesisError(f"validators: at most {MAX_VALIDATORS} validators")
    out: list[GenesisValidator] = []
    seen: set[bytes] = set()
    for i, item in enumerate(items):
        where = f"validators[{i}]"
        if not isinstance(item, dict):
            raise GenesisError(f"{where}: must be an object")
        for name in item:
            if name not in (
                "name",
                "address",
                "bls_public_key",
                "proof_of_possession",
                "power",
                "reward_address",
            ):
                raise GenesisError(f"{where}.{name}: unknown field")
        name = item.get("name", f"validator-{i}")
        if not isinstance(name, str) or len(name) > 64:
            raise GenesisError(f"{where}.name: must be a string of at most 64 characters")
        pub = parse_hex(item.get("bls_public_key"), f"{where}.bls_public_key", 48)
        pop = parse_hex(item.get("proof_of_possession"), f"{where}.proof_of_possession", 96)
        power = _int_field(f"{where}.power", item.get("power"))
        if not 1 <= power <= 1 << 40:
            raise GenesisError(f"{where}.power: must be between 1 and 2^40")
        if pub in seen:
            raise GenesisError(f"{where}.bls_public_key: duplicate validator key")
        seen.add(pub)
        reward = b""
        if "reward_address" in item:
            reward = parse_hex(item["reward_address"], f"{where}.reward_address", 20)
        validator = GenesisValidator(name, pub, pop, power, reward)
        if "address" in item:
            addr = parse_hex(item["address"], f"{where}.address", 20)
            if addr != validator.address:
                raise GenesisError(f"{where}.address: does not match bls_public_key")
        if verify_keys and not verify_proof_of_possession(pub, pop):
            raise GenesisError(f"{where}.proof_of_possession: does not verify for bls_public_key")
        out.append(validator)
    return tuple(out)


def _check_staking(validators: tuple[GenesisValidator, ...], params: ProtocolParams) -> None:
    """Genesis validators start bonded with power * power_unit (docs/staking.md): the first set
    the stakes give must be the genesis set, or it would change at the first staking block."""
    if len(validators) > params.max_validators:
        raise GenesisError(
            f"validators: {len(validators)} validators, more than params.max_validators "
            f"{params.max_validators}"
        )
    for i, v in enumerate(validators):
        if v.power * params.power_unit < params.min_validator_stake:
            raise GenesisError(
                f"validators[{i}].power: {v.power} x params.power_unit is below "
                "params.min_validator_stake"
            )


def _accounts(items: Any) -> tuple[GenesisAccount, ...]:
    if not isinstance(items, list):
        raise GenesisError("accounts: must be a list")
    out: list[GenesisAccount] = []
    seen: set[bytes] = set()
    for i, item in enumerate(items):
        where = f"accounts[{i}]"
        if not isinstance(item, dict):
            raise GenesisError(f"{where}: must be an object")
        for name in item:
            if name not in ("address", "balance"):
                raise GenesisError(f"{where}.{name}: unknown field")
        addr = parse_hex(item.get("address"), f"{where}.address", 20)
        balance = _int_field(f"{where}.balance", item.get("balance"))
        if not 0 <= balance < 1 << 256:
            raise GenesisError(f"{where}.balance: must be between 0 and 2^256 - 1")
        if addr in seen:
            raise GenesisError(f"{where}.address: duplicate account")
        seen.add(addr)
        out.append(GenesisAccount(addr, balance))
    return tuple(out)


def _provers(items: Any) -> tuple[bytes, ...]:
    if not isinstance(items, list):
        raise GenesisError("provers: must be a list of addresses")
    if len(items) > MAX_PROVERS:
        raise GenesisError(f"provers: at most {MAX_PROVERS} provers")
    out: list[bytes] = []
    for i, item in enumerate(items):
        addr = parse_hex(item, f"provers[{i}]", 20)
        if addr in out:
            raise GenesisError(f"provers[{i}]: duplicate prover")
        out.append(addr)
    return tuple(out)
