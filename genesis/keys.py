"""Account keys (secp256k1, Ethereum addresses) and validator keys (BLS12-381).

Validator keys sign votes with Ethereum's proof-of-possession ciphersuite; the proof of
possession (a signature of the public key under the PoP domain) stops rogue-key attacks on
aggregate signatures, so a genesis validator without a valid one is refused.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coincurve
import sha3

from genesis import bls_native
from genesis.errors import GenesisError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _keccak(data: bytes) -> bytes:
    return sha3.keccak_256(data).digest()


def validator_address(bls_public_key: bytes) -> bytes:
    """The 20-byte name of a validator in headers (as proposer) and in RPC answers."""
    return _keccak(bls_public_key)[12:]


BLS_CURVE_ORDER = bls_native.CURVE_ORDER


def _random_scalar(order: int) -> bytes:
    """32 random bytes encoding an integer in [1, order)."""
    while True:
        candidate = secrets.token_bytes(32)
        if 0 < int.from_bytes(candidate, "big") < order:
            return candidate


@dataclass(frozen=True)
class AccountKey:
    private_key: bytes

    @classmethod
    def generate(cls) -> AccountKey:
        return cls(_random_scalar(SECP256K1_N))

    @property
    def address(self) -> bytes:
        pub = coincurve.PrivateKey(self.private_key).public_key.format(compressed=False)
        return _keccak(pub[1:])[12:]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "secp256k1",
            "address": to_checksum_address(self.address),
            "private_key": "0x" + self.private_key.hex(),
        }

    @classmethod
    def from_json(cls, obj: Any, where: str = "key") -> AccountKey:
        if not isinstance(obj, dict) or obj.get("type") != "secp256k1":
            raise GenesisError(f"{where}: not a secp256k1 account key file")
        key = parse_hex(obj.get("private_key"), f"{where}.private_key", 32)
        if not 0 < int.from_bytes(key, "big") < SECP256K1_N:
            raise GenesisError(f"{where}.private_key: not a valid secp256k1 scalar")
        return cls(key)


@dataclass(frozen=True)
class ValidatorKey:
    secret_key: bytes

    @classmethod
    def generate(cls) -> ValidatorKey:
        return cls(_random_scalar(BLS_CURVE_ORDER))

    @property
    def public_key(self) -> bytes:
        return bls_native.secret_to_public(self.secret_key)

    @property
    def address(self) -> bytes:
        return validator_address(self.public_key)

    def proof_of_possession(self) -> bytes:
        return bls_native.pop_prove(self.secret_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "bls12-381",
            "address": to_checksum_address(self.address),
            "public_key": "0x" + self.public_key.hex(),
            "proof_of_possession": "0x" + self.proof_of_possession().hex(),
            "secret_key": "0x" + self.secret_key.hex(),
        }

    @classmethod
    def from_json(cls, obj: Any, where: str = "key") -> ValidatorKey:
        if not isinstance(obj, dict) or obj.get("type") != "bls12-381":
            raise GenesisError(f"{where}: not a bls12-381 validator key file")
        key = parse_hex(obj.get("secret_key"), f"{where}.secret_key", 32)
        if not 0 < int.from_bytes(key, "big") < BLS_CURVE_ORDER:
            raise GenesisError(f"{where}.secret_key: not a valid BLS12-381 scalar")
        return cls(key)


def verify_proof_of_possession(public_key: bytes, proof: bytes) -> bool:
    """PopVerify (native, a few ms): KeyValidate(public_key), the proof in the G2 subgroup,
    and the proof signs the key under the POP tag. False for any malformed input."""
    return bls_native.pop_verify(public_key, proof)


def parse_hex(value: Any, where: str, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise GenesisError(f"{where}: must be a 0x-prefixed hex string")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError:
        raise GenesisError(f"{where}: is not valid hex") from None
    if length is not None and len(raw) != length:
        raise GenesisError(f"{where}: must be {length} bytes, got {len(raw)}")
    return raw


def to_checksum_address(address: bytes) -> str:
    """EIP-55 mixed-case hex address."""
    hex_addr = address.hex()
    digest = _keccak(hex_addr.encode()).hex()
    return "0x" + "".join(
        c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_addr)
    )


def write_key_file(path: Path, obj: dict[str, Any]) -> None:
    """Write a secret key file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_key_file(path: Path) -> AccountKey | ValidatorKey:
    try:
        obj = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise GenesisError(f"{path}: no such key file") from None
    except (OSError, ValueError) as exc:
        raise GenesisError(f"{path}: not a readable JSON key file ({exc})") from None
    kind = obj.get("type") if isinstance(obj, dict) else None
    if kind == "secp256k1":
        return AccountKey.from_json(obj, str(path))
    if kind == "bls12-381":
        return ValidatorKey.from_json(obj, str(path))
    raise GenesisError(f"{path}.type: must be 'secp256k1' or 'bls12-381'")
