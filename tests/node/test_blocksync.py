"""Block sync's wire format and its check of each fetched block against its commit, by attack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chain_helpers import make_genesis, validator_key

from consensus import Validator, ValidatorSet, Vote, VoteType, build_commit, sign
from consensus.commit import Commit
from execution.chain import Chain
from execution.types.block import Block
from node.blocksync import (
    MAX_BLOCKS,
    SyncError,
    SyncRequest,
    SyncResponse,
    verify_synced_block,
)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    c = Chain.open(tmp_path / "db", make_genesis(2))
    try:
        yield c
    finally:
        c.close()


def _vset() -> ValidatorSet:
    key, _ = validator_key()
    return ValidatorSet([Validator(key.public_key, 10)], check_keys=False)


def _commit(chain_id: int, height: int, block_hash: bytes, round_: int = 0) -> Commit:
    key, _ = validator_key()
    vote = Vote(chain_id, height, round_, VoteType.PRECOMMIT, block_hash, 0)
    return build_commit([vote.with_signature(sign(key.secret_key, vote.sign_bytes()))], 1)


def _block(chain: Chain) -> Block:
    key, _ = validator_key()
    return chain.build_block([], key.address, chain.head.header.time_ms + 1000)


def test_wire_format_round_trips_and_rejects_garbage() -> None:
    req = SyncRequest(17, MAX_BLOCKS)
    assert SyncRequest.decode(req.encode()) == req
    resp = SyncResponse(40, ((b"block", b"commit"), (b"b2", b"c2")))
    assert SyncResponse.decode(resp.encode()) == resp
    for garbage in (b"", b"\xff" * 10, SyncRequest(1, MAX_BLOCKS + 1).encode(), resp.encode()[:-1]):
        with pytest.raises(SyncError):
            SyncRequest.decode(garbage)
    with pytest.raises(SyncError):
        SyncResponse.decode(b"\xc3\x01\x02\x03")


def test_a_block_with_its_commit_verifies_and_commits(chain: Chain) -> None:
    block = _block(chain)
    commit = _commit(chain.chain_id, 1, block.hash)
    got, c = verify_synced_block(block.encode(), commit.encode(), 1, _vset(), chain.chain_id)
    assert got.hash == block.hash and c == commit
    chain.commit_block(got, c.encode())
    assert chain.height == 1 and chain.commit_at(1) == commit.encode()


def test_forged_or_mismatched_commits_are_refused(chain: Chain) -> None:
    block = _block(chain)
    cid = chain.chain_id
    good = _commit(cid, 1, block.hash)
    other_hash = bytes(32)
    forged_sig = bytearray(good.signature)
    forged_sig[10] ^= 1
    cases = {
        "other block": _commit(cid, 1, other_hash).encode(),
        "other height": _commit(cid, 2, block.hash).encode(),
        "other chain": _commit(cid + 1, 1, block.hash).encode(),
        "tampered signature": Commit(1, 0, block.hash, good.signers, bytes(forged_sig)).encode(),
        "tampered round": Commit(1, 1, block.hash, good.signers, good.signature).encode(),
        "no signers": Commit(1, 0, block.hash, b"\x00", good.signature).encode(),
        "garbage": b"\x01\x02",
    }
    for name, raw_commit in cases.items():
        with pytest.raises(SyncError):
            verify_synced_block(block.encode(), raw_commit, 1, _vset(), cid)
            pytest.fail(name)
    # A block that is not the one asked for, or not a block at all.
    with pytest.raises(SyncError):
        verify_synced_block(block.encode(), good.encode(), 2, _vset(), cid)
    with pytest.raises(SyncError):
        verify_synced_block(block.encode()[:-3], good.encode(), 1, _vset(), cid)
