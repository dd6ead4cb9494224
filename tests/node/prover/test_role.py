"""The --prover settings: the reward address is explicit, or the validator's; else an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import REWARD_KEY, make_genesis, validator_key

from execution.chain import Chain
from node.config import NodeConfig, NodeConfigError, load_config
from node.prover.role import ProverSettings, prover_settings


def test_prover_settings(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "chain", make_genesis())
    try:
        validator = validator_key()[0].address
        assert prover_settings(NodeConfig(tmp_path), chain, validator) == ProverSettings()
        on = NodeConfig(tmp_path, prover=True, prover_workers=3)
        assert prover_settings(on, chain, validator) == ProverSettings(REWARD_KEY.address, 3)
        explicit = NodeConfig(tmp_path, prover=True, prover_address="0x" + "ab" * 20)
        assert prover_settings(explicit, chain, None).address == b"\xab" * 20
        with pytest.raises(NodeConfigError, match="--prover-address"):
            prover_settings(on, chain, None)  # a full node has no reward address of its own
        for bad in ("0x12", "zz" * 20):
            with pytest.raises(NodeConfigError, match="20-byte"):
                prover_settings(NodeConfig(tmp_path, prover=True, prover_address=bad), chain, None)
        with pytest.raises(NodeConfigError, match="fault"):
            prover_settings(
                NodeConfig(tmp_path, prover=True, prover_fault="nope"), chain, validator
            )
    finally:
        chain.close()


def test_prover_options_in_node_json(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "node.json").write_text(
        '{"prover": true, "prover_address": "0x' + "cd" * 20 + '", "prover_workers": 2}'
    )
    config = load_config(tmp_path, prover_workers=4)
    assert (config.prover, config.prover_address, config.prover_workers) == (
        True,
        "0x" + "cd" * 20,
        4,
    )
    (tmp_path / "config" / "node.json").write_text('{"prover_workers": -1}')
    with pytest.raises(NodeConfigError, match="prover_workers"):
        load_config(tmp_path)
