"""Per-peer rate bound on transaction gossip: token buckets of bytes and messages.

Transaction batches are the one gossip topic anybody may fill at will (a vote or a proposal
needs a validator's key), and every batch that passes costs each node an RLP decode, a relay
to its mesh and then a mempool check per transaction. Junk batches at ~100 KB/s, relayed by
the validators before their mempools refused them, stalled a 4-validator network on a loaded
machine (docs/proving.md). So each directly connected peer gets two token buckets for the
transaction topic, checked before anything decodes the message: one of bytes, one of
messages. A message that finds either bucket short is dropped (neither relayed nor delivered;
it is not marked seen, so an honest copy may still arrive from another peer). An honest peer
that overshoots for a moment loses a few batches; a peer whose excess persists is scored
down (`Offence.FLOOD`) once per `drops_per_offence` dropped messages, and banned in the end.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateBound:
    """Token-bucket parameters of one peer's transaction gossip.

    Honest load: a node publishes at most one batch per `tx_batch_interval` (0.05 s) and
    relays its other peers' batches, so one peer sends at most ~20 batches/s per node of the
    network; the bytes are the whole network's transaction stream at most (1,000 transfers/s
    are ~115 KB/s). The defaults leave 3-4x headroom on both.
    """

    bytes_per_s: float = 512 * 1024
    # At least the topic's size limit (1 MiB), so that one maximal batch can ever pass.
    burst_bytes: float = 2 * 1024 * 1024
    messages_per_s: float = 200.0
    burst_messages: float = 400.0
    # Dropped messages per offence: a short overshoot costs nothing, a flood a ban.
    drops_per_offence: int = 64


# Buckets kept, least recently charged dropped first: peer ids cost an attacker nothing, and
# a bucket idle for a few seconds is full again anyway.
MAX_TRACKED_PEERS = 4096


@dataclass
class _Bucket:
    byte_tokens: float
    message_tokens: float
    updated_at: float
    dropped: int = 0  # since the last offence


@dataclass
class RateVerdict:
    admitted: bool
    offence: bool = False  # this drop completes `drops_per_offence`: score the peer down


class PeerRateBound:
    """The buckets of every peer. Not thread-safe; used from one trio loop."""

    def __init__(
        self, bound: RateBound | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bound = bound or RateBound()
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.admitted = 0
        self.dropped = 0

    def charge(self, peer: str, size: int) -> RateVerdict:
        """Take one message of `size` bytes from `peer`'s buckets, or drop it."""
        b = self.bound
        now = self._clock()
        bucket = self._buckets.get(peer)
        if bucket is None:
            bucket = self._buckets[peer] = _Bucket(b.burst_bytes, b.burst_messages, now)
            while len(self._buckets) > MAX_TRACKED_PEERS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(peer)
        if now > bucket.updated_at:
            elapsed = now - bucket.updated_at
            bucket.byte_tokens = min(b.burst_bytes, bucket.byte_tokens + elapsed * b.bytes_per_s)
            bucket.message_tokens = min(
                b.burst_messages, bucket.message_tokens + elapsed * b.messages_per_s
            )
            bucket.updated_at = now
        if bucket.byte_tokens >= size and bucket.message_tokens >= 1.0:
            bucket.byte_tokens -= size
            bucket.message_tokens -= 1.0
            self.admitted += 1
            return RateVerdict(admitted=True)
        self.dropped += 1
        bucket.dropped += 1
        if bucket.dropped >= b.drops_per_offence:
            bucket.dropped = 0
            return RateVerdict(admitted=False, offence=True)
        return RateVerdict(admitted=False)

    def tracked_peers(self) -> int:
        return len(self._buckets)
