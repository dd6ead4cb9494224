"""Staking transaction payloads: ordinary signed transactions to STAKING_SYSTEM_ADDRESS.

`data` is the RLP list `[op, ...fields]`; `value` is the amount where the operation moves funds
into a stake (bond, prover registration) and must be 0 otherwise:

| op | name | fields | value |
|---|---|---|---|
| 1 | bond | bls_public_key (48), owner_signature (96) | stake added |
| 2 | unbond | bls_public_key (48), amount (0 = all) | 0 |
| 3 | register prover | (none) | stake added |
| 4 | unregister prover | (none) | 0 |

The owner signature (execution.staking.bond_signature: the key signs the chain id and the sender,
and so proves possession of the key) is checked on a key's first bond only (a top-up ignores
the field).
The sender of a bond owns the stake: it alone can unbond it, and it receives the tips of the
blocks the validator proposes. A prover is the sending account itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import rlp
from rlp.sedes import Binary, big_endian_int

from execution.types import rlp_fast
from execution.types.errors import DecodingError, InvalidTransaction

STAKING_SYSTEM_ADDRESS = bytes.fromhex("00000000000000000000000000000000000057a6")

BLS_PUBKEY_LEN = 48
BLS_SIGNATURE_LEN = 96

_pubkey = Binary.fixed_length(BLS_PUBKEY_LEN)
_signature = Binary.fixed_length(BLS_SIGNATURE_LEN)


class StakingOpKind(IntEnum):
    BOND = 1
    UNBOND = 2
    REGISTER_PROVER = 3
    UNREGISTER_PROVER = 4


# Which operations carry `value` (the amount staked); the others must carry none.
FUNDED_OPS = frozenset({StakingOpKind.BOND, StakingOpKind.REGISTER_PROVER})


@dataclass(frozen=True)
class StakingOp:
    """One decoded staking payload. `bls_public_key` / `owner_signature` are empty for the
    prover operations; `amount` is used by unbond only (0 = everything bonded)."""

    kind: StakingOpKind
    bls_public_key: bytes = b""
    owner_signature: bytes = b""
    amount: int = 0

    def encode(self) -> bytes:
        if self.kind is StakingOpKind.BOND:
            fields: list[object] = [int(self.kind), self.bls_public_key, self.owner_signature]
        elif self.kind is StakingOpKind.UNBOND:
            fields = [int(self.kind), self.bls_public_key, self.amount]
        else:
            fields = [int(self.kind)]
        return bytes(rlp.encode(fields))

    @classmethod
    def decode(cls, data: bytes) -> StakingOp:
        """InvalidTransaction("malformed_data") unless `data` is one canonical payload."""
        try:
            rlp_fast.check_canonical(data, "staking payload")
            items = rlp.decode(data, strict=True)
        except (DecodingError, rlp.DecodingError) as exc:
            raise InvalidTransaction("malformed_data", f"staking payload: {exc}") from exc
        if not isinstance(items, list) or not items or not isinstance(items[0], bytes):
            raise InvalidTransaction("malformed_data", "staking payload: not [op, ...]")
        try:
            op = StakingOpKind(big_endian_int.deserialize(items[0]))
        except (ValueError, rlp.DeserializationError) as exc:
            raise InvalidTransaction("malformed_data", "staking payload: unknown op") from exc
        expected = {StakingOpKind.BOND: 3, StakingOpKind.UNBOND: 3}.get(op, 1)
        if len(items) != expected or not all(isinstance(i, bytes) for i in items):
            raise InvalidTransaction(
                "malformed_data", f"staking payload: wrong fields for {op.name}"
            )
        try:
            if op is StakingOpKind.BOND:
                return cls(op, _pubkey.deserialize(items[1]), _signature.deserialize(items[2]))
            if op is StakingOpKind.UNBOND:
                amount = big_endian_int.deserialize(items[2])
                if amount >= 1 << 256:
                    raise InvalidTransaction("malformed_data", "staking payload: amount too large")
                return cls(op, _pubkey.deserialize(items[1]), amount=amount)
        except rlp.DeserializationError as exc:
            raise InvalidTransaction("malformed_data", f"staking payload: {exc}") from exc
        return cls(op)
