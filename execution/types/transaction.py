"""EIP-1559 typed transactions (type 0x02), signed with secp256k1 as Ethereum does.

The envelope is byte-for-byte Ethereum's, so `eth-account` and wallets sign it unchanged:
    0x02 || rlp([chain_id, nonce, max_priority_fee_per_gas, max_fee_per_gas, gas_limit,
                 to, value, data, access_list, y_parity, r, s])
What a transaction does follows from `to`:
- empty `to`: deploy a program; `data` is the ELF file;
- `to` = TASK_SYSTEM_ADDRESS: submit a compute task; `data` is rlp(TaskRequest);
- `to` = STAKING_SYSTEM_ADDRESS: a staking operation; `data` is rlp(StakingOp)
  (execution/types/staking.py), `value` the amount staked by a bond or prover registration;
- any other address: a transfer of `value`, with empty `data`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

import coincurve
import rlp
import rusty_rlp
from rlp.sedes import Binary, List, big_endian_int, binary

from execution.types import rlp_fast
from execution.types.errors import DecodingError, InvalidTransaction
from execution.types.hashing import Hash32, keccak256
from execution.types.staking import STAKING_SYSTEM_ADDRESS, StakingOp
from genesis.keys import SECP256K1_N

Address = bytes  # 20 bytes

TX_TYPE_EIP1559 = 0x02
TASK_SYSTEM_ADDRESS: Address = bytes.fromhex("0000000000000000000000000000000000007a5c")

# Largest raw transaction accepted from anywhere: bounds memory per mempool entry and the
# size of a deployed ELF (programs are the largest transactions).
MAX_TX_BYTES = 1 << 20


hash32_sedes = Binary.fixed_length(32)


class TxKind(IntEnum):
    TRANSFER = 0
    DEPLOY = 1
    TASK = 2
    STAKE = 3


# Senders recovered in this process, keyed by (signing hash, signature): the sender is a
# function of those bytes, and a node recovers each transaction's sender when the mempool
# admits it and again when a block executes it (~60 us each). Bounded; cleared when full.
_RECOVERED: dict[bytes, Address] = {}
_RECOVERED_LIMIT = 1 << 16


@dataclass(frozen=True)
class TaskRequest:
    """The payload of a task submission: which program, on what input, within what budget."""

    image_id: bytes
    input: bytes
    max_cycles: int
    fee_per_cycle: int

    _SEDES = List([hash32_sedes, binary, big_endian_int, big_endian_int], strict=True)

    def encode(self) -> bytes:
        return rlp.encode(
            [self.image_id, self.input, self.max_cycles, self.fee_per_cycle], sedes=self._SEDES
        )

    @classmethod
    def decode(cls, data: bytes) -> TaskRequest:
        try:
            rlp_fast.check_canonical(data, "task request")
            image_id, inp, max_cycles, fee = rlp.decode(data, sedes=cls._SEDES, strict=True)
        except (DecodingError, rlp.DecodingError, rlp.DeserializationError) as exc:
            raise InvalidTransaction("malformed_data", f"task request: {exc}") from exc
        return cls(image_id=image_id, input=inp, max_cycles=max_cycles, fee_per_cycle=fee)


@dataclass(frozen=True)
class Transaction:
    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas_limit: int
    to: Address
    value: int
    data: bytes
    y_parity: int = 0
    r: int = 0
    s: int = 0

    # -- encoding ---------------------------------------------------------------------------
    def _unsigned_fields(self) -> list[object]:
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas_limit,
            self.to,
            self.value,
            self.data,
            [],
        ]

    def signing_hash(self) -> Hash32:
        cached: Hash32 | None = self.__dict__.get("_signing_hash")
        if cached is None:
            payload = rlp_fast.encode(self._unsigned_fields())  # type: ignore[arg-type]
            cached = self.__dict__["_signing_hash"] = keccak256(bytes([TX_TYPE_EIP1559]) + payload)
        return cached

    def encode(self) -> bytes:
        fields = [*self._unsigned_fields(), self.y_parity, self.r, self.s]
        return bytes([TX_TYPE_EIP1559]) + rlp_fast.encode(fields)  # type: ignore[arg-type]

    @cached_property
    def raw(self) -> bytes:
        return self.encode()

    @cached_property
    def hash(self) -> Hash32:
        return keccak256(self.raw)

    @classmethod
    def decode(cls, raw: bytes) -> Transaction:
        """Decode a raw typed transaction; any malformation raises DecodingError.

        Fields are checked by hand on the undecoded RLP list: pyrlp's sedes layer costs about
        70 us per transaction, which is a third of the budget of applying one.
        """
        if not isinstance(raw, bytes | bytearray):
            raise DecodingError("transaction must be bytes")
        raw = bytes(raw)
        if len(raw) > MAX_TX_BYTES:
            raise DecodingError(f"transaction of {len(raw)} bytes exceeds {MAX_TX_BYTES}")
        if not raw or raw[0] != TX_TYPE_EIP1559:
            raise DecodingError("only EIP-1559 typed transactions (type 0x02) are accepted")
        try:
            items = rlp.decode(raw[1:], strict=True)
        except rlp.DecodingError as exc:
            raise DecodingError(f"malformed transaction: {exc}") from exc
        if not isinstance(items, list) or len(items) != 12:
            raise DecodingError("a transaction is a list of 12 fields")
        (chain_id, nonce, tip, fee_cap, gas, to, value, data, access_list, v, r, s) = items
        if not isinstance(to, bytes) or len(to) not in (0, 20):
            raise DecodingError("to must be empty or 20 bytes")
        if not isinstance(data, bytes):
            raise DecodingError("data must be a byte string")
        if access_list != []:
            raise DecodingError("access lists are not supported (there is no contract storage)")
        tx = cls(
            _uint(chain_id, "chain_id", 8),
            _uint(nonce, "nonce", 8),
            _uint(tip, "max_priority_fee_per_gas", 32),
            _uint(fee_cap, "max_fee_per_gas", 32),
            _uint(gas, "gas_limit", 8),
            to,
            _uint(value, "value", 32),
            data,
            _uint(v, "y_parity", 1),
            _uint(r, "r", 32),
            _uint(s, "s", 32),
        )
        # Re-encoding must give the same bytes: the hash of a transaction must be unique.
        if rlp_fast.encode(items) != raw[1:]:
            raise DecodingError("non-canonical transaction encoding")
        tx.__dict__["raw"] = raw
        # The signed payload is the first nine items as they arrived: no int re-encoding.
        tx.__dict__["_signing_hash"] = keccak256(
            bytes([TX_TYPE_EIP1559]) + bytes(rusty_rlp.encode_raw(items[:9]))
        )
        return tx

    # -- meaning ----------------------------------------------------------------------------
    @property
    def kind(self) -> TxKind:
        if self.to == b"":
            return TxKind.DEPLOY
        if self.to == TASK_SYSTEM_ADDRESS:
            return TxKind.TASK
        if self.to == STAKING_SYSTEM_ADDRESS:
            return TxKind.STAKE
        return TxKind.TRANSFER

    @cached_property
    def task_request(self) -> TaskRequest:
        """The decoded payload of a task submission (decoded once however often asked);
        InvalidTransaction("malformed_data") if it does not decode."""
        return TaskRequest.decode(self.data)

    @cached_property
    def staking_op(self) -> StakingOp:
        """The decoded payload of a staking transaction (decoded once however often asked);
        InvalidTransaction("malformed_data") if it does not decode."""
        return StakingOp.decode(self.data)

    @cached_property
    def sender(self) -> Address:
        """Recover the signer's address; raises InvalidTransaction("bad_signature")."""
        if self.y_parity not in (0, 1):
            raise InvalidTransaction("bad_signature", "y_parity must be 0 or 1")
        if not (0 < self.r < SECP256K1_N and 0 < self.s <= SECP256K1_N // 2):
            # EIP-2: a high-s signature is the malleable twin of a low-s one.
            raise InvalidTransaction("bad_signature", "r or s out of range (EIP-2 low-s)")
        sig = self.r.to_bytes(32, "big") + self.s.to_bytes(32, "big") + bytes([self.y_parity])
        key = self.signing_hash() + sig
        known = _RECOVERED.get(key)
        if known is not None:
            return known
        try:
            pub = coincurve.PublicKey.from_signature_and_message(
                sig, self.signing_hash(), hasher=None
            )
        except Exception as exc:  # coincurve raises plain Exception on bad signatures
            raise InvalidTransaction("bad_signature", str(exc)) from exc
        sender = keccak256(pub.format(compressed=False)[1:])[12:]
        if len(_RECOVERED) >= _RECOVERED_LIMIT:
            _RECOVERED.clear()
        _RECOVERED[key] = sender
        return sender

    def sign(self, private_key: bytes) -> Transaction:
        """A copy of this transaction signed with a 32-byte secp256k1 key."""
        key = coincurve.PrivateKey(private_key)
        sig = key.sign_recoverable(self.signing_hash(), hasher=None)
        r = int.from_bytes(sig[:32], "big")
        s = int.from_bytes(sig[32:64], "big")
        v = sig[64]
        if s > SECP256K1_N // 2:  # coincurve already normalizes; keep the rule explicit
            s = SECP256K1_N - s
            v ^= 1
        return Transaction(
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas_limit,
            self.to,
            self.value,
            self.data,
            v,
            r,
            s,
        )


def address_of_public_key(public_key: coincurve.PublicKey) -> Address:
    return keccak256(public_key.format(compressed=False)[1:])[12:]


def address_of_private_key(private_key: bytes) -> Address:
    return address_of_public_key(coincurve.PrivateKey(private_key).public_key)


def _uint(item: object, name: str, max_bytes: int) -> int:
    """An RLP scalar: a byte string of at most max_bytes with no leading zero byte."""
    if not isinstance(item, bytes):
        raise DecodingError(f"{name} must be a scalar, not a list")
    if len(item) > max_bytes:
        raise DecodingError(f"{name} exceeds {max_bytes * 8} bits")
    if item[:1] == b"\x00":
        raise DecodingError(f"{name} has a leading zero byte")
    return int.from_bytes(item, "big")
