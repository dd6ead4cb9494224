"""Protocol parameters: fixed at genesis, identical on every node."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from genesis.errors import GenesisError

PROVER_TIMEOUT_BLOCKS = 10
PROOF_EVIDENCE_MAX_AGE = 100  # default of proof_evidence_max_age_blocks
# Universal Proof versions: 0 (a tree of task proofs, verified leaf by leaf) and 1 (one recursion
# proof, execution/universal/proof_v1.py). v0 stays the default until provers build v1 trees.
UNIVERSAL_PROOF_V0 = 0
UNIVERSAL_PROOF_V1 = 1
# Bounds on the genesis allow-list of v1 lift shapes (a shape: one log height per table of a task
# proof). Every allowed shape costs a validator one lift program (~630k instructions for a zkVM
# proof: tens of seconds and GBs to record and key), so the list is short by design, and no longer
# than a validator's cache of lift programs (execution/recursion/lift.py LIFT_CACHE_SIZE): with
# more allowed shapes than cached ones, a Byzantine proposer could send one-leaf roots of shapes
# in turn and make every validator rebuild a lift key inside each proposal check.
MAX_LIFT_SHAPES = 4
MAX_SHAPE_TABLES = 64
MAX_SHAPE_LOG_HEIGHT = 30
GWEI = 10**9
ETHER = 10**18


@dataclass(frozen=True)
class ProofParams:
    """FRI parameters every task proof of the chain must name (see docs/stark.md)."""

    profile: str = "conjectured"
    log_blowup: int = 2
    num_queries: int = 43
    grinding_bits: int = 16

    def validate(self, where: str) -> None:
        if self.profile not in ("conjectured", "proven"):
            raise GenesisError(f"{where}.profile: must be 'conjectured' or 'proven'")
        _check_range(f"{where}.log_blowup", self.log_blowup, 1, 6)
        _check_range(f"{where}.num_queries", self.num_queries, 1, 512)
        _check_range(f"{where}.grinding_bits", self.grinding_bits, 0, 32)


@dataclass(frozen=True)
class ProtocolParams:
    base_fee_per_gas: int = GWEI
    block_gas_limit: int = 60_000_000
    tx_base_gas: int = 21_000
    data_zero_byte_gas: int = 4
    data_nonzero_byte_gas: int = 16
    program_byte_gas: int = 200
    max_program_bytes: int = 256 << 10  # its deploy gas must fit in a block (checked)
    max_task_input_bytes: int = 1 << 16
    max_task_cycles: int = 1 << 20
    min_fee_per_cycle: int = 1
    task_deadline_blocks: int = 100
    # Blocks the prover ranked k-th for a task waits after the task's block, times k, before it
    # starts proving when no proof has reached its pool; consensus charges a miss to a prover
    # whose window passed before a later prover's proof was accepted (docs/staking.md).
    prover_timeout_blocks: int = PROVER_TIMEOUT_BLOCKS
    block_interval_ms: int = 1000
    # Staking (docs/staking.md). The set of height h follows the state at h - delay.
    validator_set_delay: int = 2
    unbonding_period_blocks: int = 200
    max_validators: int = 100
    power_unit: int = ETHER  # voting power = stake // power_unit
    min_validator_stake: int = ETHER
    min_prover_stake: int = ETHER // 10
    double_sign_slash_ppm: int = 50_000  # 5 % of the bonded stake, and a tombstone
    prover_miss_slash_ppm: int = 10_000  # 1 % of the prover stake per missed task
    prover_max_misses: int = 3  # then the prover is unregistered (its stake unbonds)
    # A signed proof that fails verification (execution.staking.proof_evidence): 10 % of the
    # prover stake, burned, and the prover is unregistered.
    invalid_proof_slash_ppm: int = 100_000
    # Duplicate-vote evidence older than this many blocks is refused (node.evidence_pool, the
    # proposal rules); unbonding_period_blocks must cover it (validate).
    evidence_max_age_blocks: int = 100
    # Invalid-proof evidence (execution.staking.proof_evidence) is refused more than this many
    # blocks past its task's deadline; unbonding_period_blocks must cover both (validate).
    proof_evidence_max_age_blocks: int = PROOF_EVIDENCE_MAX_AGE
    proof: ProofParams = field(default_factory=ProofParams)
    # Which Universal Proof format blocks must bring (fixed at genesis, like the proof profile).
    universal_proof_version: int = UNIVERSAL_PROOF_V0
    # Version 1 only: the task-proof shapes (log height per table) a v1 proof's leaves may have.
    # Checked before a validator records any program, so a crafted proof cannot make it build
    # lift programs for arbitrary shapes (docs/recursion.md, review finding).
    universal_proof_lift_shapes: tuple[tuple[int, ...], ...] = ()

    def validate(self) -> None:
        for name in (
            "base_fee_per_gas",
            "tx_base_gas",
            "data_zero_byte_gas",
            "data_nonzero_byte_gas",
            "program_byte_gas",
        ):
            _check_range(f"params.{name}", getattr(self, name), 0, 1 << 64)
        _check_range("params.block_gas_limit", self.block_gas_limit, 21_000, 1 << 63)
        _check_range("params.max_program_bytes", self.max_program_bytes, 64, 16 << 20)
        _check_range("params.max_task_input_bytes", self.max_task_input_bytes, 0, 16 << 20)
        _check_range("params.max_task_cycles", self.max_task_cycles, 1, 1 << 32)
        _check_range("params.min_fee_per_cycle", self.min_fee_per_cycle, 0, 1 << 64)
        _check_range("params.task_deadline_blocks", self.task_deadline_blocks, 1, 1 << 32)
        _check_range("params.prover_timeout_blocks", self.prover_timeout_blocks, 1, 1 << 32)
        _check_range("params.block_interval_ms", self.block_interval_ms, 1, 3_600_000)
        _check_range("params.validator_set_delay", self.validator_set_delay, 1, 1000)
        _check_range("params.unbonding_period_blocks", self.unbonding_period_blocks, 1, 1 << 32)
        _check_range("params.max_validators", self.max_validators, 1, 10_000)
        _check_range("params.power_unit", self.power_unit, 1, 1 << 128)
        _check_range(
            "params.min_validator_stake", self.min_validator_stake, self.power_unit, 1 << 200
        )
        _check_range("params.min_prover_stake", self.min_prover_stake, 0, 1 << 200)
        _check_range("params.double_sign_slash_ppm", self.double_sign_slash_ppm, 0, 1_000_000)
        _check_range("params.prover_miss_slash_ppm", self.prover_miss_slash_ppm, 0, 1_000_000)
        _check_range("params.prover_max_misses", self.prover_max_misses, 1, 1 << 32)
        _check_range("params.invalid_proof_slash_ppm", self.invalid_proof_slash_ppm, 0, 1_000_000)
        _check_range("params.evidence_max_age_blocks", self.evidence_max_age_blocks, 1, 1 << 32)
        # Funds unbonded in block u still count in the sets up to u + delay - 1, and evidence of
        # an infraction there may land evidence_max_age_blocks later: they must still be locked
        # then, or unbonding right after an equivocation dodges the slash.
        needed = self.evidence_max_age_blocks + self.validator_set_delay
        if self.unbonding_period_blocks < needed:
            raise GenesisError(
                f"params.unbonding_period_blocks: {self.unbonding_period_blocks} is below "
                f"evidence_max_age_blocks + validator_set_delay ({needed}): funds unbonded after "
                "an equivocation would be released before its evidence can land"
            )
        _check_range(
            "params.proof_evidence_max_age_blocks", self.proof_evidence_max_age_blocks, 1, 1 << 32
        )
        # A prover may unregister in the block of a task assigned to it and sign a bad proof of
        # it as late as the deadline; evidence of it may land proof_evidence_max_age_blocks
        # after that. Its prover funds must still be locked then (they are slashed before the
        # block releases them), or the bad proof costs it nothing.
        needed = self.task_deadline_blocks + self.proof_evidence_max_age_blocks
        if self.unbonding_period_blocks < needed:
            raise GenesisError(
                f"params.unbonding_period_blocks: {self.unbonding_period_blocks} is below "
                f"task_deadline_blocks + proof_evidence_max_age_blocks ({needed}): a prover "
                "could take its stake back before evidence of its invalid proof can land"
            )
        self.proof.validate("params.proof")
        _check_range(
            "params.universal_proof_version",
            self.universal_proof_version,
            UNIVERSAL_PROOF_V0,
            UNIVERSAL_PROOF_V1,
        )
        self._validate_lift_shapes()
        largest_deploy = self.tx_base_gas + self.max_program_bytes * (
            self.program_byte_gas + self.data_nonzero_byte_gas
        )
        if largest_deploy > self.block_gas_limit:
            raise GenesisError(
                f"params.max_program_bytes: a deploy of {self.max_program_bytes} bytes needs "
                f"{largest_deploy} gas, more than block_gas_limit {self.block_gas_limit}"
            )

    def _validate_lift_shapes(self) -> None:
        where = "params.universal_proof_lift_shapes"
        shapes = self.universal_proof_lift_shapes
        if not isinstance(shapes, tuple) or len(shapes) > MAX_LIFT_SHAPES:
            raise GenesisError(f"{where}: at most {MAX_LIFT_SHAPES} shapes")
        for i, shape in enumerate(shapes):
            if not isinstance(shape, tuple) or not 1 <= len(shape) <= MAX_SHAPE_TABLES:
                raise GenesisError(f"{where}[{i}]: 1 to {MAX_SHAPE_TABLES} table log heights")
            for log_n in shape:
                _check_range(f"{where}[{i}]", log_n, 1, MAX_SHAPE_LOG_HEIGHT)
        if len(set(shapes)) != len(shapes):
            raise GenesisError(f"{where}: a shape is listed twice")
        if self.universal_proof_version == UNIVERSAL_PROOF_V1 and not shapes:
            raise GenesisError(f"{where}: a version 1 chain lists the lift shapes it accepts")
        if self.universal_proof_version != UNIVERSAL_PROOF_V1 and shapes:
            raise GenesisError(f"{where}: only a version 1 chain has lift shapes")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        # Added after chains were made: left out at their defaults so their genesis hash holds.
        defaults = ProtocolParams.__dataclass_fields__
        out["universal_proof_lift_shapes"] = [list(s) for s in self.universal_proof_lift_shapes]
        for name in _ADDED_LATER:
            if name == "universal_proof_lift_shapes":
                if not out[name]:
                    del out[name]
            elif out[name] == defaults[name].default:
                del out[name]
        return out

    @classmethod
    def from_json(cls, obj: Any) -> ProtocolParams:
        if not isinstance(obj, dict):
            raise GenesisError("params: must be an object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(obj) - known
        if unknown:
            raise GenesisError(f"params.{sorted(unknown)[0]}: unknown parameter")
        values: dict[str, Any] = {}
        for name, value in obj.items():
            if name == "proof":
                values[name] = _proof_from_json(value)
            elif name == "universal_proof_lift_shapes":
                values[name] = _shapes_from_json(value)
            else:
                values[name] = _int_field(f"params.{name}", value)
        params = cls(**values)
        params.validate()
        return params


_ADDED_LATER = (
    "prover_timeout_blocks",
    "validator_set_delay",
    "unbonding_period_blocks",
    "max_validators",
    "power_unit",
    "min_validator_stake",
    "min_prover_stake",
    "double_sign_slash_ppm",
    "prover_miss_slash_ppm",
    "prover_max_misses",
    "invalid_proof_slash_ppm",
    "evidence_max_age_blocks",
    "proof_evidence_max_age_blocks",
    "universal_proof_version",
    "universal_proof_lift_shapes",
)


def _shapes_from_json(obj: Any) -> tuple[tuple[int, ...], ...]:
    where = "params.universal_proof_lift_shapes"
    if not isinstance(obj, list) or any(not isinstance(s, list) for s in obj):
        raise GenesisError(f"{where}: must be a list of lists of log heights")
    return tuple(
        tuple(_int_field(f"{where}[{i}]", v) for v in shape) for i, shape in enumerate(obj)
    )


def _proof_from_json(obj: Any) -> ProofParams:
    if not isinstance(obj, dict):
        raise GenesisError("params.proof: must be an object")
    unknown = set(obj) - set(ProofParams.__dataclass_fields__)
    if unknown:
        raise GenesisError(f"params.proof.{sorted(unknown)[0]}: unknown parameter")
    values: dict[str, Any] = {}
    for name, value in obj.items():
        if name == "profile":
            if not isinstance(value, str):
                raise GenesisError("params.proof.profile: must be a string")
            values[name] = value
        else:
            values[name] = _int_field(f"params.proof.{name}", value)
    return ProofParams(**values)


def _int_field(where: str, value: Any) -> int:
    # JSON numbers above 2^53 lose precision in many tools, so large values may be strings.
    if isinstance(value, bool):
        raise GenesisError(f"{where}: must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            pass
    raise GenesisError(f"{where}: must be an integer")


def _check_range(where: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise GenesisError(f"{where}: must be an integer")
    if not low <= value <= high:
        raise GenesisError(f"{where}: {value} is outside [{low}, {high}]")
