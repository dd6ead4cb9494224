"""Building signed staking transactions (for wallets, the join CLI and tests).

    tx = build_bond_tx(owner_key, chain_id=..., nonce=..., amount=..., validator_secret_key=bls)
    node.submit(tx.raw)      # or eth_sendRawTransaction("0x" + tx.raw.hex())

Each builder returns a signed `Transaction`; `.raw` is what `eth_sendRawTransaction` takes.
"""

from __future__ import annotations

from execution.staking.bond_signature import bond_sign
from execution.types.staking import STAKING_SYSTEM_ADDRESS, StakingOp, StakingOpKind
from execution.types.transaction import Transaction
from genesis import bls_native
from genesis.keys import AccountKey
from genesis.params import GWEI

# Enough for any staking payload (21,000 + at most ~2,500 of data gas).
STAKING_GAS_LIMIT = 30_000
DEFAULT_MAX_FEE = 2 * GWEI
DEFAULT_TIP = GWEI


def build_staking_tx(
    secret_key: bytes,
    op: StakingOp,
    *,
    chain_id: int,
    nonce: int,
    value: int = 0,
    max_fee_per_gas: int = DEFAULT_MAX_FEE,
    max_priority_fee_per_gas: int = DEFAULT_TIP,
    gas_limit: int = STAKING_GAS_LIMIT,
) -> Transaction:
    """Sign `op` as a transaction of the account of secp256k1 `secret_key` (32 bytes)."""
    return Transaction(
        chain_id=chain_id,
        nonce=nonce,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
        max_fee_per_gas=max_fee_per_gas,
        gas_limit=gas_limit,
        to=STAKING_SYSTEM_ADDRESS,
        value=value,
        data=op.encode(),
    ).sign(secret_key)


def build_bond_tx(
    secret_key: bytes,
    *,
    chain_id: int,
    nonce: int,
    amount: int,
    validator_secret_key: bytes | None = None,
    bls_public_key: bytes | None = None,
    owner_signature: bytes | None = None,
    max_fee_per_gas: int = DEFAULT_MAX_FEE,
    max_priority_fee_per_gas: int = DEFAULT_TIP,
) -> Transaction:
    """Bond `amount` to a validator key; the sender becomes the stake's owner and the
    validator's reward address. The key signs the chain id and the sender (`bond_sign`), so
    nobody else can send this bond: give `validator_secret_key` (BLS) to sign here, or
    `bls_public_key` and the `owner_signature` its holder made for this sender elsewhere.
    A second bond of the same owner and key adds to the stake (its signature is not checked)."""
    if validator_secret_key is not None:
        if bls_public_key is not None or owner_signature is not None:
            raise ValueError("give validator_secret_key, or bls_public_key and owner_signature")
        owner = AccountKey(secret_key).address
        bls_public_key = bls_native.secret_to_public(validator_secret_key)
        owner_signature = bond_sign(validator_secret_key, chain_id, owner)
    elif bls_public_key is None or owner_signature is None:
        raise ValueError("give validator_secret_key, or bls_public_key and owner_signature")
    op = StakingOp(StakingOpKind.BOND, bls_public_key, owner_signature)
    return build_staking_tx(
        secret_key,
        op,
        chain_id=chain_id,
        nonce=nonce,
        value=amount,
        max_fee_per_gas=max_fee_per_gas,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
    )


def build_unbond_tx(
    secret_key: bytes,
    *,
    chain_id: int,
    nonce: int,
    bls_public_key: bytes,
    amount: int = 0,
    max_fee_per_gas: int = DEFAULT_MAX_FEE,
    max_priority_fee_per_gas: int = DEFAULT_TIP,
) -> Transaction:
    """Unbond `amount` (0: all) of the owner's stake on `bls_public_key`; the funds return to
    the owner automatically `unbonding_period_blocks` after the unbonding block."""
    op = StakingOp(StakingOpKind.UNBOND, bls_public_key, amount=amount)
    return build_staking_tx(
        secret_key,
        op,
        chain_id=chain_id,
        nonce=nonce,
        max_fee_per_gas=max_fee_per_gas,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
    )


def build_register_prover_tx(
    secret_key: bytes,
    *,
    chain_id: int,
    nonce: int,
    amount: int,
    max_fee_per_gas: int = DEFAULT_MAX_FEE,
    max_priority_fee_per_gas: int = DEFAULT_TIP,
) -> Transaction:
    """Register the sending account as a prover with `amount` of prover stake (or add to it)."""
    return build_staking_tx(
        secret_key,
        StakingOp(StakingOpKind.REGISTER_PROVER),
        chain_id=chain_id,
        nonce=nonce,
        value=amount,
        max_fee_per_gas=max_fee_per_gas,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
    )


def build_unregister_prover_tx(
    secret_key: bytes,
    *,
    chain_id: int,
    nonce: int,
    max_fee_per_gas: int = DEFAULT_MAX_FEE,
    max_priority_fee_per_gas: int = DEFAULT_TIP,
) -> Transaction:
    """Leave the prover set; the whole prover stake starts unbonding."""
    return build_staking_tx(
        secret_key,
        StakingOp(StakingOpKind.UNREGISTER_PROVER),
        chain_id=chain_id,
        nonce=nonce,
        max_fee_per_gas=max_fee_per_gas,
        max_priority_fee_per_gas=max_priority_fee_per_gas,
    )
