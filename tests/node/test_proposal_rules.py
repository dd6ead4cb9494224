"""What a validator accepts as a proposal, by attack on each rule, on a real node home."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import make_genesis, validator_key

from consensus import Vote, VoteType, build_commit, sign
from consensus.commit import Commit
from execution.types.block import Block, evidence_root
from genesis.keys import write_key_file
from node.config import NodeConfig
from node.node import Node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    key, _ = validator_key()
    make_genesis(2).write(tmp_path / "genesis.json")
    write_key_file(tmp_path / "config" / "validator_key.json", key.to_json())
    n = Node.open(NodeConfig(home=tmp_path))
    try:
        yield n
    finally:
        n.close()


def _commit(chain_id: int, height: int, block_hash: bytes) -> Commit:
    key, _ = validator_key()
    vote = Vote(chain_id, height, 0, VoteType.PRECOMMIT, block_hash, 0)
    return build_commit([vote.with_signature(sign(key.secret_key, vote.sign_bytes()))], 1)


def _build(node: Node, **kw: object) -> Block:
    key, _ = validator_key()
    args: dict[str, object] = {
        "transactions": [],
        "proposer": key.address,
        "time_ms": max(int(time.time() * 1000), node.chain.head.header.time_ms + 1),
        "last_commit": b"",
        "evidence": (),
    }
    args.update(kw)
    return node.chain.build_block(**args)  # type: ignore[arg-type]


def _with_header(block: Block, **changes: object) -> Block:
    h = block.header
    header = type(h)(**{**{f: getattr(h, f) for f in h.__dataclass_fields__}, **changes})
    return Block(
        header, block.transactions, block.last_commit, block.evidence, block.universal_proofs
    )


def test_each_rule_refuses_its_violation(node: Node) -> None:
    first = _build(node)
    assert node._invalid_reason(first) is None
    # Rule: nothing but an empty last commit at height 1.
    assert node._invalid_reason(_build(node, last_commit=b"\x01")) is not None
    commit = _commit(node.chain_id, 1, first.hash)
    assert node.apply_block(first, commit, "test")
    good = _build(node, last_commit=commit.encode())
    assert node._invalid_reason(good) is None
    bad = {
        "missing last commit": _build(node),
        "commit of another block": _build(
            node, last_commit=_commit(node.chain_id, 1, bytes(32)).encode()
        ),
        "commit of another height": _build(
            node, last_commit=_commit(node.chain_id, 2, first.hash).encode()
        ),
        "garbage last commit": _build(node, last_commit=b"\xc1\x80"),
        "far future time": _build(
            node, time_ms=int(time.time() * 1000) + 60_000, last_commit=commit.encode()
        ),
    }
    # The chain refuses to build with undecodable evidence (it reads the offender to slash
    # it), so forge that body by hand, with a header that commits to it.
    bad["garbage evidence"] = _with_header(
        Block(good.header, good.transactions, good.last_commit, (b"\x01\x02",)),
        evidence_root=evidence_root([b"\x01\x02"]),
    )
    # The chain itself refuses to build for a stranger, so forge that header by hand.
    bad["proposer not a validator"] = _with_header(good, proposer=b"\x11" * 20)
    for name, block in bad.items():
        assert node._invalid_reason(block) is not None, name
    # Rule: the chain's own checks (here a wrong state root) still apply.
    assert node._invalid_reason(_with_header(good, state_root=bytes(32))) is not None
    # Undecodable values are never valid and never crash the hash function.
    assert node._is_valid(b"\x00garbage") is False
    assert len(node._value_hash(b"\x00garbage")) == 32
