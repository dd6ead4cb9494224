from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from chain_helpers import make_genesis

from genesis import Genesis, GenesisError, ProtocolParams
from genesis.keys import ValidatorKey


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return make_genesis(3).to_json()


def test_roundtrip_and_hash_stable(doc: dict[str, Any]) -> None:
    g = Genesis.from_json(copy.deepcopy(doc))
    assert g.to_json() == doc
    assert Genesis.from_json(json.loads(json.dumps(doc))).hash == g.hash


def _set(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = obj
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("chain_id", "Bad Name!", "chain_id"),
        ("chain_id", _DELETE, "chain_id: missing"),
        ("eth_chain_id", 0, "eth_chain_id"),
        ("eth_chain_id", "x", "eth_chain_id"),
        ("genesis_time_ms", -1, "genesis_time_ms"),
        ("validators", [], "validators"),
        ("validators.0.bls_public_key", "0x1234", "validators[0].bls_public_key"),
        ("validators.0.bls_public_key", "zz", "validators[0].bls_public_key"),
        ("validators.0.power", 0, "validators[0].power"),
        ("validators.0.power", True, "validators[0].power"),
        ("validators.0.address", "0x" + "00" * 20, "validators[0].address"),
        ("validators.0.extra", 1, "validators[0].extra"),
        ("accounts.0.address", "0x12", "accounts[0].address"),
        ("accounts.0.balance", -5, "accounts[0].balance"),
        ("accounts.0.balance", "lots", "accounts[0].balance"),
        ("accounts.1.address", None, "accounts[1].address"),
        ("params.block_gas_limit", 5, "params.block_gas_limit"),
        ("params.proof.profile", "fast", "params.proof.profile"),
        ("params.proof.num_queries", 0, "params.proof.num_queries"),
        ("params.nonsense", 1, "params.nonsense"),
        ("surprise", 1, "surprise"),
    ],
)
def test_malformed_field_is_named(doc: dict[str, Any], path: str, value: Any, named: str) -> None:
    bad = copy.deepcopy(doc)
    _set(bad, path, value)
    with pytest.raises(GenesisError) as err:
        Genesis.from_json(bad, verify_keys=False)
    assert str(err.value).startswith(named), str(err.value)


def test_duplicate_account_and_validator_refused(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    bad["accounts"].append(dict(bad["accounts"][0]))
    with pytest.raises(GenesisError, match=r"accounts\[3\].address: duplicate"):
        Genesis.from_json(bad, verify_keys=False)
    bad = copy.deepcopy(doc)
    bad["validators"].append(dict(bad["validators"][0]))
    with pytest.raises(GenesisError, match=r"validators\[1\].bls_public_key: duplicate"):
        Genesis.from_json(bad, verify_keys=False)


def test_wrong_proof_of_possession_refused(doc: dict[str, Any]) -> None:
    bad = copy.deepcopy(doc)
    other = ValidatorKey((99).to_bytes(32, "big"))
    bad["validators"][0]["proof_of_possession"] = "0x" + other.proof_of_possession().hex()
    with pytest.raises(GenesisError, match=r"validators\[0\].proof_of_possession"):
        Genesis.from_json(bad)
    Genesis.from_json(copy.deepcopy(doc))  # the original verifies


def test_load_file_errors(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="no such genesis file"):
        Genesis.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GenesisError, match="not valid JSON"):
        Genesis.load(tmp_path / "bad.json")


def test_params_defaults_are_valid() -> None:
    ProtocolParams().validate()


def test_reward_address_round_trip_and_checks(doc: dict[str, Any]) -> None:
    good = copy.deepcopy(doc)
    good["validators"][0]["reward_address"] = "0x" + "ab" * 20
    assert Genesis.from_json(good, verify_keys=False).validators[0].reward_address == b"\xab" * 20
    bad = copy.deepcopy(doc)
    bad["validators"][0]["reward_address"] = "0x1234"
    with pytest.raises(GenesisError, match=r"validators\[0\].reward_address"):
        Genesis.from_json(bad, verify_keys=False)


def test_largest_program_must_fit_in_a_block() -> None:
    with pytest.raises(GenesisError, match=r"params\.max_program_bytes"):
        ProtocolParams(max_program_bytes=1 << 20).validate()


def test_the_unbonding_period_must_cover_the_evidence_age() -> None:
    # Below age + delay, funds unbonded right after an equivocation are released before the
    # evidence of it can land: such a genesis is refused.
    with pytest.raises(GenesisError, match=r"params\.unbonding_period_blocks: 101 is below"):
        ProtocolParams(
            unbonding_period_blocks=101, validator_set_delay=2, task_deadline_blocks=1
        ).validate()
    ProtocolParams(
        unbonding_period_blocks=102, validator_set_delay=2, task_deadline_blocks=2
    ).validate()
    ProtocolParams(
        unbonding_period_blocks=6,
        validator_set_delay=2,
        evidence_max_age_blocks=4,
        task_deadline_blocks=1,
        proof_evidence_max_age_blocks=5,
    ).validate()
    with pytest.raises(GenesisError, match="evidence_max_age_blocks"):
        ProtocolParams(evidence_max_age_blocks=0).validate()
    # At its default the new parameter stays out of the canonical form (genesis hashes hold).
    assert "evidence_max_age_blocks" not in ProtocolParams().to_json()
    assert (
        ProtocolParams(evidence_max_age_blocks=7, unbonding_period_blocks=300).to_json()[
            "evidence_max_age_blocks"
        ]
        == 7
    )


def test_the_unbonding_period_must_cover_the_proof_evidence_window(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    # A prover unregistering when a task is assigned to it gets its stake back after the
    # unbonding period; evidence of a bad proof it signs may land task_deadline_blocks +
    # proof_evidence_max_age_blocks after the task. A genesis file where the first is shorter
    # is refused, naming the parameters.
    bad = copy.deepcopy(doc)
    bad["params"].update(task_deadline_blocks=2_000)  # unbonding stays at its default, 200
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(GenesisError) as info:
        Genesis.load(path)
    message = str(info.value)
    assert message.startswith("params.unbonding_period_blocks: 200 is below")
    assert "task_deadline_blocks + proof_evidence_max_age_blocks (2100)" in message
    bad["params"].update(unbonding_period_blocks=2_099)
    path.write_text(json.dumps(bad))
    with pytest.raises(GenesisError, match=r"2099 is below .* \(2100\)"):
        Genesis.load(path)
    bad["params"].update(unbonding_period_blocks=2_100)
    path.write_text(json.dumps(bad))
    assert Genesis.load(path).params.unbonding_period_blocks == 2_100
    # A shorter age (a genesis parameter now) needs less; at its default it stays out of the
    # canonical form, so existing genesis hashes hold.
    ProtocolParams(task_deadline_blocks=150, proof_evidence_max_age_blocks=50).validate()
    with pytest.raises(GenesisError, match="proof_evidence_max_age_blocks"):
        ProtocolParams(proof_evidence_max_age_blocks=0).validate()
    assert "proof_evidence_max_age_blocks" not in ProtocolParams().to_json()
    assert Genesis.from_json(copy.deepcopy(doc)).to_json() == doc
