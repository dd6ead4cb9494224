"""Staking: validator bonds, prover stakes, set changes at a delay, slashing (docs/staking.md)."""

from __future__ import annotations

from execution.staking.assignment import rank_provers
from execution.staking.bond_signature import BOND_DST, bond_message, bond_sign, bond_verify
from execution.staking.operations import (
    apply_staking,
    check_staking,
    genesis_staking,
    release_unbonded,
    unregister_prover,
)
from execution.staking.proof_envelope import (
    BadEnvelope,
    check_envelope,
    proof_message,
    proof_signer,
    sign_proof,
)
from execution.staking.proof_evidence import (
    InvalidProofEvidence,
    RejectedEvidence,
    check_evidence_cheap,
    check_proof_fails,
    is_proof_evidence,
    judge_proof_evidence,
    slash_invalid_proofs,
)
from execution.staking.records import (
    ProverStake,
    ProverStatus,
    StakeStatus,
    Unbonding,
    ValidatorStake,
    owned_keys,
    prover_set_heights,
    prover_stake,
    provers_at,
    scheduled_validators,
    stake_keys,
    unbondings,
    validator_stake,
    validators_at,
    valset_heights,
)
from execution.staking.slashing import charge_missed, evidence_offender, slash_double_signs
from execution.staking.txs import (
    STAKING_GAS_LIMIT,
    build_bond_tx,
    build_register_prover_tx,
    build_staking_tx,
    build_unbond_tx,
    build_unregister_prover_tx,
)
from execution.staking.validator_set import choose_members, reschedule
from execution.types.staking import STAKING_SYSTEM_ADDRESS, StakingOp, StakingOpKind

__all__ = [
    "BOND_DST",
    "STAKING_GAS_LIMIT",
    "STAKING_SYSTEM_ADDRESS",
    "BadEnvelope",
    "InvalidProofEvidence",
    "ProverStake",
    "ProverStatus",
    "RejectedEvidence",
    "StakeStatus",
    "StakingOp",
    "StakingOpKind",
    "Unbonding",
    "ValidatorStake",
    "apply_staking",
    "bond_message",
    "bond_sign",
    "bond_verify",
    "build_bond_tx",
    "build_register_prover_tx",
    "build_staking_tx",
    "build_unbond_tx",
    "build_unregister_prover_tx",
    "charge_missed",
    "check_envelope",
    "check_evidence_cheap",
    "check_proof_fails",
    "check_staking",
    "choose_members",
    "evidence_offender",
    "genesis_staking",
    "is_proof_evidence",
    "judge_proof_evidence",
    "owned_keys",
    "proof_message",
    "proof_signer",
    "prover_set_heights",
    "prover_stake",
    "provers_at",
    "rank_provers",
    "release_unbonded",
    "reschedule",
    "scheduled_validators",
    "sign_proof",
    "slash_double_signs",
    "slash_invalid_proofs",
    "stake_keys",
    "unbondings",
    "unregister_prover",
    "validator_stake",
    "validators_at",
    "valset_heights",
]
