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


def test_v1_round_trips_and_other_versions_are_refused() -> None:
    obj = ProtocolParams().to_json()
    obj["universal_proof_version"] = UNIVERSAL_PROOF_V1
    params = ProtocolParams.from_json(obj)
    assert params.universal_proof_version == UNIVERSAL_PROOF_V1
    assert params.to_json()["universal_proof_version"] == UNIVERSAL_PROOF_V1
    for bad in (2, -1, "x"):
        obj["universal_proof_version"] = bad
        with pytest.raises(GenesisError, match="universal_proof_version"):
            ProtocolParams.from_json(obj)


def test_a_v1_chain_does_not_accept_v0_trees() -> None:
    from dataclasses import replace

    from execution.transition import accept_universal_proofs
    from execution.types.errors import InvalidBlock

    params = replace(ProtocolParams(), universal_proof_version=UNIVERSAL_PROOF_V1)
    with pytest.raises(InvalidBlock, match="version 1"):
        accept_universal_proofs(None, [b"\xc0"], 5, params, lambda _h: None)  # type: ignore[arg-type]
