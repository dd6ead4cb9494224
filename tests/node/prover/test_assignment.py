"""Assignment: the same order on every node, spread over the provers, fallback by timeout."""

from __future__ import annotations

import random

import pytest

from execution.types.hashing import keccak256
from genesis import GenesisError
from genesis.document import Genesis
from node.prover.assignment import my_start_height, rank_provers, start_height

PROVERS = [bytes([i]) * 20 for i in range(1, 4)]


def test_order_is_deterministic_and_independent_of_listing_order() -> None:
    rng = random.Random(7)
    block_hash, task_id = b"\xaa" * 32, b"\x01" * 32
    order = rank_provers(block_hash, task_id, PROVERS)
    for _ in range(10):
        shuffled = PROVERS[:]
        rng.shuffle(shuffled)
        assert rank_provers(block_hash, task_id, shuffled + shuffled[:1]) == order
    expected = sorted(PROVERS, key=lambda p: keccak256(block_hash + task_id + p))
    assert order == expected


def test_work_is_spread_and_depends_on_the_block_hash() -> None:
    firsts = [rank_provers(b"\xbb" * 32, i.to_bytes(32, "big"), PROVERS)[0] for i in range(300)]
    counts = [firsts.count(p) for p in PROVERS]
    assert min(counts) > 60, counts  # 100 each expected
    other_block = [
        rank_provers(b"\xcc" * 32, i.to_bytes(32, "big"), PROVERS)[0] for i in range(300)
    ]
    assert other_block != firsts


def test_fallback_heights_follow_the_rank() -> None:
    block_hash, task_id = b"\xaa" * 32, b"\x02" * 32
    order = rank_provers(block_hash, task_id, PROVERS)
    starts = [my_start_height(block_hash, task_id, 5, PROVERS, p, 3) for p in order]
    assert starts == [5, 8, 11]
    assert start_height(5, 2, 3) == 11
    assert my_start_height(block_hash, task_id, 5, PROVERS, b"\x09" * 20, 3) is None
    assert my_start_height(block_hash, task_id, 5, [b"\x09" * 20], b"\x09" * 20, 3) == 5


def _genesis_json(**extra: object) -> dict[str, object]:
    from chain_helpers import make_genesis

    obj = make_genesis().to_json()
    obj.update(extra)
    return obj


def test_genesis_prover_set_is_validated_and_keeps_old_hashes() -> None:
    plain = Genesis.from_json(_genesis_json(), verify_keys=False)
    assert plain.provers == ()
    assert "provers" not in plain.to_json()
    assert "prover_timeout_blocks" not in plain.to_json()["params"]
    addrs = ["0x" + p.hex() for p in PROVERS]
    with_provers = Genesis.from_json(_genesis_json(provers=addrs), verify_keys=False)
    assert with_provers.provers == tuple(PROVERS)
    assert Genesis.from_json(with_provers.to_json(), verify_keys=False) == with_provers
    for bad in ("0x12", [addrs[0], addrs[0]], ["zz" * 20], [1]):
        with pytest.raises(GenesisError, match="provers"):
            Genesis.from_json(_genesis_json(provers=bad), verify_keys=False)
    params = _genesis_json()["params"]
    assert isinstance(params, dict)
    with pytest.raises(GenesisError, match="prover_timeout_blocks"):
        Genesis.from_json(
            _genesis_json(params={**params, "prover_timeout_blocks": 0}), verify_keys=False
        )
