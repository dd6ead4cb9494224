"""Block sync: fetch committed blocks by height from peers and verify each against its commit.

Wire format on the request/response protocol `/ivcnet/blocks/1` (p2p/topics.py):
  request  = RLP [from_height, count]             count 0 asks only for the peer's head
  response = RLP [head_height, [[block, commit], ...]]
`block` is the encoded block at from_height + i, `commit` the consensus-encoded Commit
certificate that decided it (consensus/commit.py). A server answers at most `MAX_BLOCKS`
blocks and about `MAX_RESPONSE_BYTES`, so one answer always fits one frame.

A syncing node checks, for each block h in order: it decodes, its height is h, the commit is
for height h and this block's hash, and more than 2/3 of the validator set of h signed it
(one aggregate BLS verification). Only then does the chain apply it (which re-checks the
parent link, time, transactions and every root).
"""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from rlp.sedes import CountableList, List, big_endian_int, binary

from consensus import Commit, ConsensusError, ValidatorSet, verify_commit
from execution.types.block import Block
from execution.types.errors import DecodingError

MAX_BLOCKS = 64
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

_REQUEST = List([big_endian_int, big_endian_int], strict=True)
_ITEM = List([binary, binary], strict=True)
_RESPONSE = List([big_endian_int, CountableList(_ITEM)], strict=True)


class SyncError(Exception):
    """A peer's sync answer is malformed or does not verify."""


@dataclass(frozen=True, slots=True)
class SyncRequest:
    from_height: int
    count: int

    def encode(self) -> bytes:
        return bytes(rlp.encode([self.from_height, self.count], sedes=_REQUEST))

    @classmethod
    def decode(cls, data: bytes) -> SyncRequest:
        try:
            start, count = rlp.decode(data, sedes=_REQUEST, strict=True)
        except (rlp.exceptions.RLPException, ValueError, TypeError) as exc:
            raise SyncError(f"malformed sync request: {exc}") from None
        if start > 2**63 or count > MAX_BLOCKS:
            raise SyncError("sync request out of range")
        return cls(start, count)


@dataclass(frozen=True, slots=True)
class SyncResponse:
    head_height: int
    blocks: tuple[tuple[bytes, bytes], ...]

    def encode(self) -> bytes:
        items = [[b, c] for b, c in self.blocks]
        return bytes(rlp.encode([self.head_height, items], sedes=_RESPONSE))

    @classmethod
    def decode(cls, data: bytes) -> SyncResponse:
        try:
            head, items = rlp.decode(data, sedes=_RESPONSE, strict=True)
        except (rlp.exceptions.RLPException, ValueError, TypeError) as exc:
            raise SyncError(f"malformed sync response: {exc}") from None
        if len(items) > MAX_BLOCKS:
            raise SyncError("sync response holds too many blocks")
        return cls(head, tuple((bytes(b), bytes(c)) for b, c in items))


def verify_synced_block(
    raw_block: bytes, raw_commit: bytes, height: int, validators: ValidatorSet, chain_id: int
) -> tuple[Block, Commit]:
    """Decode a fetched block and check that its commit certifies it; raise SyncError."""
    try:
        block = Block.decode(raw_block)
    except DecodingError as exc:
        raise SyncError(f"block {height}: {exc}") from None
    if block.height != height:
        raise SyncError(f"asked for block {height}, got {block.height}")
    try:
        commit = Commit.decode(raw_commit)
        verify_commit(commit, validators, chain_id, height=height, block_hash=block.hash)
    except ConsensusError as exc:
        raise SyncError(f"block {height}: commit does not verify: {exc}") from None
    return block, commit
