"""The --prover settings: the prover account's key file decides the address; else an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import REWARD_KEY, make_genesis, validator_key

from execution.chain import Chain
from genesis.keys import AccountKey, write_key_file
from node.config import NodeConfig, NodeConfigError, load_config
from node.prover.role import PROVER_KEY_FILE, ProverSettings, prover_settings


def test_prover_settings(tmp_path: Path) -> None:
    chain = Chain.open(tmp_path / "chain", make_genesis())
    try:
        validator = validator_key()[0].address
        assert prover_settings(NodeConfig(tmp_path), chain, validator) == ProverSettings()
        on = NodeConfig(tmp_path, prover=True, prover_workers=3)
        # Without the prover account's key nothing can sign proofs: an error, validator or not.
        with pytest.raises(NodeConfigError, match=r"prover_key\.json"):
            prover_settings(on, chain, validator)
        write_key_file(tmp_path / PROVER_KEY_FILE, REWARD_KEY.to_json())
        assert prover_settings(on, chain, validator) == ProverSettings(
            REWARD_KEY.address, 3, "", REWARD_KEY
        )
        explicit = NodeConfig(tmp_path, prover=True, prover_address="0x" + REWARD_KEY.address.hex())
        assert prover_settings(explicit, chain, None).address == REWARD_KEY.address
        other = NodeConfig(tmp_path, prover=True, prover_address="0x" + "ab" * 20)
        with pytest.raises(NodeConfigError, match="not the address of the key"):
            prover_settings(other, chain, None)
        for bad in ("0x12", "zz" * 20):
            with pytest.raises(NodeConfigError, match="20-byte"):
                prover_settings(NodeConfig(tmp_path, prover=True, prover_address=bad), chain, None)
        with pytest.raises(NodeConfigError, match="fault"):
            prover_settings(
                NodeConfig(tmp_path, prover=True, prover_fault="nope"), chain, validator
            )
        (tmp_path / PROVER_KEY_FILE).write_text("{}")
        with pytest.raises(NodeConfigError, match=r"prover_key\.json"):
            prover_settings(on, chain, None)
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


def test_prover_set_from_genesis_or_from_claims(tmp_path: Path) -> None:
    import time
    from dataclasses import replace

    from node.proof_pool import ProofPool
    from node.prover import ProofExchange, ProverService, sign_claim
    from node.prover.service import PRESENCE_BLOCKS

    key = AccountKey((0x01).to_bytes(32, "big"))
    other_key = AccountKey((0x02).to_bytes(32, "big"))
    me, other, listed = key.address, other_key.address, b"\x03" * 20
    open_chain = Chain.open(tmp_path / "open", make_genesis())
    listed_chain = Chain.open(tmp_path / "listed", replace(make_genesis(), provers=(listed, me)))
    try:
        pool = ProofPool.open(tmp_path / "proofs")
        # the set logic never touches the network: no host is needed to exercise it
        service = ProverService(open_chain, ProofExchange(open_chain, pool, None), key)  # type: ignore[arg-type]
        assert service.provers() == (me,)
        # a beacon signed by its prover (claims are signed: node.prover.claims)
        beacon = sign_claim(other_key, open_chain.genesis_hash, 0, int(time.time() * 1000), ())
        service._on_claim(beacon, "peer")
        assert service.provers() == tuple(sorted((me, other)))
        for i in range(PRESENCE_BLOCKS + 1):  # silent for longer than PRESENCE_BLOCKS: forgotten
            block = open_chain.build_block([], validator_key()[0].address, 2_000 + i)
            open_chain.commit_block(block)
        assert service.provers() == (me,)
        fixed = ProverService(listed_chain, ProofExchange(listed_chain, pool, None), key)  # type: ignore[arg-type]
        fixed._on_claim(
            sign_claim(other_key, listed_chain.genesis_hash, 0, int(time.time() * 1000), ()),
            "peer",
        )
        assert fixed.provers() == (listed, me)  # a genesis list is the set, whatever is heard
    finally:
        open_chain.close()
        listed_chain.close()
