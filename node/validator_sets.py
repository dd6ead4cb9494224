"""The validator set of each height, with its proposer priorities, read from the chain state.

The members of height h are a pure function of the committed state at h - validator_set_delay
(execution.staking schedules every change at the height where it applies), so every node
switches at the same block and a syncing node can verify each commit with the set it computes.
The schedule (a short list of change heights, each with its member list) is read from the head
state and extended as blocks commit; it is final for every height up to head + delay.
Priorities follow CometBFT: the set of h is the set of h - 1 advanced once
(`ValidatorSet.next_height`), after `ValidatorSet.with_members` where the membership changes at
h. A few recent heights and every 256th are cached, so a late joiner verifying thousands of
commits walks at most 256 heights per call, never from height 1 again.

Given a directory, the latest checkpoint (every 256th height) at or below the head is also kept
in a file there, so that the first lookup after a restart walks from it, not from height 1
(~50 us per height: 50 s at height 10^6). Layout (big-endian):

    magic       8 bytes  b"IVCVSC01"
    height      u64      the checkpoint height h (block h is committed)
    block_hash  32 bytes the chain's block at h: a file left by another chain (a database
                         made again from another genesis) or a fork is ignored
    digest      32 bytes keccak256 of the set bytes: a damaged file is ignored
    set         ValidatorSet.encode() of h (members, powers, priorities)

Written to a temporary name, fsynced and renamed; any file that does not check is ignored and
replaced at the next checkpoint.
"""

from __future__ import annotations

import logging
import os
import struct
from bisect import bisect_right
from pathlib import Path

from consensus import ConsensusError, Validator, ValidatorSet
from execution.chain import Chain
from execution.staking import scheduled_validators, valset_heights
from execution.state import ValidatorRecord
from execution.types.hashing import keccak256

logger = logging.getLogger("node.validator_sets")

CHECKPOINT = 256
CHECKPOINT_FILE = "valset-checkpoint"
_MAGIC = b"IVCVSC01"
_HEAD = struct.Struct(">8sQ32s32s")


class ValidatorSets:
    def __init__(self, chain: Chain, directory: Path | None = None) -> None:
        self._chain = chain
        self._file = None if directory is None else directory / CHECKPOINT_FILE
        self._persisted = 0
        self._delay = chain.genesis.params.validator_set_delay
        self._heights: list[int] = []  # ascending heights where the membership changes
        self._members: dict[int, tuple[ValidatorRecord, ...]] = {}
        self._known_through = 0  # the schedule is final for heights up to this one
        self._cache: dict[int, ValidatorSet] = {}
        self._refresh()
        self._load_checkpoint()

    def _load_checkpoint(self) -> None:
        if self._file is None:
            return
        try:
            data = self._file.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            logger.warning("validator sets: %s unreadable: %s", self._file, exc)
            return
        if len(data) < _HEAD.size:
            return
        magic, height, block_hash, digest = _HEAD.unpack(data[: _HEAD.size])
        payload = data[_HEAD.size :]
        block = self._chain.block_at(height) if height <= self._chain.height else None
        # Rule: this chain's block at that height, and the bytes that were written.
        if magic != _MAGIC or block is None or block.hash != block_hash:
            logger.info("validator sets: ignoring a checkpoint of another chain")
            return
        if keccak256(payload) != digest or height % CHECKPOINT:
            logger.warning("validator sets: ignoring a damaged checkpoint")
            return
        try:
            vset = ValidatorSet.decode(payload, check_keys=False)
        except ConsensusError as exc:
            logger.warning("validator sets: ignoring a damaged checkpoint: %s", exc)
            return
        self._cache[height] = vset
        self._persisted = height

    def _save_checkpoint(self, height: int, vset: ValidatorSet) -> None:
        block = self._chain.block_at(height)
        if self._file is None or block is None or height <= self._persisted:
            return
        payload = vset.encode()
        data = _HEAD.pack(_MAGIC, height, block.hash, keccak256(payload)) + payload
        tmp = self._file.with_name(self._file.name + ".tmp")
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._file)
        except OSError as exc:  # only the next start's speed depends on it
            logger.warning("validator sets: cannot write %s: %s", self._file, exc)
            return
        self._persisted = height

    def _refresh(self) -> None:
        view = self._chain.head_view()
        heights = valset_heights(view)
        if not heights:  # a database from before staking: the genesis set for good
            genesis = tuple(
                ValidatorRecord(v.address, v.bls_public_key, v.power, v.reward_address)
                for v in self._chain.genesis.validators
            )
            heights, self._members = [1], {1: genesis}
        for h in heights:
            if h not in self._members:
                self._members[h] = tuple(scheduled_validators(view, h))
        self._heights = heights
        self._known_through = self._chain.height + self._delay
        if 1 not in self._cache:
            self._cache[1] = ValidatorSet(_validators(self._members[1]), check_keys=False)

    def members_at(self, height: int) -> tuple[ValidatorRecord, ...]:
        """The members (address, key, power, reward address) of `height`."""
        if height > self._known_through:
            self._refresh()
        i = bisect_right(self._heights, height)
        if i == 0:
            raise ValueError("no validator set below height 1")
        return self._members[self._heights[i - 1]]

    def addresses_at(self, height: int) -> frozenset[bytes]:
        return frozenset(v.address for v in self.members_at(height))

    def at(self, height: int) -> ValidatorSet:
        if height < 1:
            raise ValueError("no validator set below height 1")
        if height > self._known_through:
            self._refresh()
        cached = self._cache.get(height)
        if cached is not None:
            return cached
        start = max(h for h in self._cache if h <= height)
        vset = self._cache[start]
        changes = set(self._heights)
        for h in range(start + 1, height + 1):
            if h in changes:
                vset = vset.with_members(_validators(self._members[h]))
            vset = vset.next_height()
            # Heights beyond head + delay may still change: never cache a guess.
            if h <= self._known_through and (h % CHECKPOINT == 0 or h >= height - 2):
                self._cache[h] = vset
                if h % CHECKPOINT == 0 and h <= self._chain.height:
                    self._save_checkpoint(h, vset)
        for h in [h for h in self._cache if h % CHECKPOINT and h < height - 4 and h != 1]:
            del self._cache[h]
        return vset


def _validators(members: tuple[ValidatorRecord, ...]) -> list[Validator]:
    return [Validator(v.bls_public_key, v.power) for v in members]
