"""The Universal Proof version is a genesis parameter: v0 by default (left out of the genesis
JSON, so existing chains keep their hash), v1 selectable, anything else refused."""

from __future__ import annotations

import pytest

from genesis.errors import GenesisError
from genesis.params import UNIVERSAL_PROOF_V0, UNIVERSAL_PROOF_V1, ProtocolParams


def test_default_is_v0_and_left_out_of_the_genesis_json() -> None:
    params = ProtocolParams()
    assert params.universal_proof_version == UNIVERSAL_PROOF_V0
    assert "universal_proof_version" not in params.to_json()
    assert ProtocolParams.from_json(params.to_json()) == params


SHAPE = [8, 5, 5, 16, 1, 1, 1, 1, 1, 1, 1, 5, 1, 1, 4]


def test_v1_round_trips_and_other_versions_are_refused() -> None:
    obj = ProtocolParams().to_json()
    obj["universal_proof_version"] = UNIVERSAL_PROOF_V1
    obj["universal_proof_lift_shapes"] = [SHAPE]
    params = ProtocolParams.from_json(obj)
    assert params.universal_proof_version == UNIVERSAL_PROOF_V1
    assert params.universal_proof_lift_shapes == (tuple(SHAPE),)
    assert params.to_json()["universal_proof_version"] == UNIVERSAL_PROOF_V1
    assert ProtocolParams.from_json(params.to_json()) == params
    for bad in (2, -1, "x"):
        obj["universal_proof_version"] = bad
        with pytest.raises(GenesisError, match="universal_proof_version"):
            ProtocolParams.from_json(obj)


def test_lift_shapes_are_an_allow_list_of_a_v1_chain() -> None:
    """A v1 chain names the few task-proof shapes it accepts (validators build one lift
    program per shape); the list is bounded and well-formed, and only a v1 chain has one."""
    base = ProtocolParams().to_json()
    v1 = {**base, "universal_proof_version": UNIVERSAL_PROOF_V1}
    for bad, why in (
        ({**v1}, "lists the lift shapes"),
        ({**v1, "universal_proof_lift_shapes": [SHAPE, SHAPE]}, "listed twice"),
        ({**v1, "universal_proof_lift_shapes": [[]]}, "1 to 64"),
        ({**v1, "universal_proof_lift_shapes": [[0, 3]]}, "outside"),
        ({**v1, "universal_proof_lift_shapes": [[31]]}, "outside"),
        ({**v1, "universal_proof_lift_shapes": [[k + 1] for k in range(5)]}, "at most 4"),
        ({**v1, "universal_proof_lift_shapes": [5]}, "list of lists"),
        ({**v1, "universal_proof_lift_shapes": [["x"]]}, "integer"),
        ({**base, "universal_proof_lift_shapes": [SHAPE]}, "only a version 1 chain"),
    ):
        with pytest.raises(GenesisError, match=why):
            ProtocolParams.from_json(bad)
    assert "universal_proof_lift_shapes" not in ProtocolParams().to_json()


def test_a_v1_chain_does_not_accept_v0_trees() -> None:
    from dataclasses import replace

    from execution.transition import accept_universal_proofs
    from execution.types.errors import InvalidBlock

    params = replace(
        ProtocolParams(),
        universal_proof_version=UNIVERSAL_PROOF_V1,
        universal_proof_lift_shapes=(tuple(SHAPE),),
    )
    with pytest.raises(InvalidBlock, match="version 1"):
        accept_universal_proofs(None, [b"\xc0"], 5, params, lambda _h: None)  # type: ignore[arg-type]


def test_the_allow_list_fits_a_validators_lift_cache() -> None:
    """Every allowed shape's lift program stays cached: a proposer cycling through allowed
    shapes cannot make validators rebuild lift keys inside proposal checks."""
    from execution.recursion.lift import LIFT_CACHE_SIZE
    from genesis.params import MAX_LIFT_SHAPES

    assert MAX_LIFT_SHAPES <= LIFT_CACHE_SIZE
