"""Per-peer behaviour score: penalties for bad messages, a ban below a threshold.

The score decays toward zero (half-life `half_life_s`), so an honest peer that
once relayed something odd recovers, while a peer that keeps sending garbage
crosses `ban_threshold` and is disconnected and ignored for `ban_s` seconds.
GossipSub's own scorer is left at its permissive defaults; this one is the
node's policy (docs/p2p.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class Offence(Enum):
    OVERSIZED = "oversized"
    MALFORMED = "malformed"  # undecodable at the p2p layer (framing, RLP, protobuf)
    INVALID = "invalid"  # decodes, but the consumer rejected it (bad signature, ...)
    UNKNOWN_TOPIC = "unknown_topic"
    PROTOCOL = "protocol"  # request/response framing violation
    FLOOD = "flood"  # kept sending transaction gossip past its rate bound (p2p/ratebound.py)


@dataclass(frozen=True)
class ScoreConfig:
    penalties: dict[Offence, float] = field(
        default_factory=lambda: {
            Offence.OVERSIZED: 10.0,
            Offence.MALFORMED: 10.0,
            Offence.INVALID: 20.0,
            Offence.UNKNOWN_TOPIC: 5.0,
            Offence.PROTOCOL: 10.0,
            Offence.FLOOD: 10.0,
        }
    )
    good_message_reward: float = 0.05
    max_score: float = 20.0
    ban_threshold: float = -50.0
    ban_s: float = 60.0
    half_life_s: float = 120.0


@dataclass
class PeerRecord:
    score: float = 0.0
    updated_at: float = 0.0
    banned_until: float = 0.0
    offences: dict[str, int] = field(default_factory=dict)
    good_messages: int = 0


class PeerScores:
    """Score book keyed by peer id string. Not thread-safe; used from one trio loop."""

    def __init__(
        self, config: ScoreConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or ScoreConfig()
        self._clock = clock
        self._peers: dict[str, PeerRecord] = {}
        # Peers cut off by an operator or a test (partitions), until unblocked.
        self._blocked: set[str] = set()

    def _record(self, peer: str) -> PeerRecord:
        now = self._clock()
        rec = self._peers.get(peer)
        if rec is None:
            rec = PeerRecord(updated_at=now)
            self._peers[peer] = rec
        elif now > rec.updated_at:
            decay = math.pow(0.5, (now - rec.updated_at) / self.config.half_life_s)
            rec.score *= decay
            rec.updated_at = now
        return rec

    def score(self, peer: str) -> float:
        return self._record(peer).score

    def penalize(self, peer: str, offence: Offence, weight: float = 1.0) -> bool:
        """Lower the peer's score; return True if this call newly banned it."""
        rec = self._record(peer)
        rec.offences[offence.value] = rec.offences.get(offence.value, 0) + 1
        rec.score -= self.config.penalties[offence] * max(weight, 0.0)
        now = self._clock()
        if rec.score <= self.config.ban_threshold and rec.banned_until <= now:
            rec.banned_until = now + self.config.ban_s
            return True
        return False

    def reward(self, peer: str) -> None:
        rec = self._record(peer)
        rec.good_messages += 1
        rec.score = min(self.config.max_score, rec.score + self.config.good_message_reward)

    def block(self, peer: str) -> None:
        self._blocked.add(peer)

    def unblock(self, peer: str) -> None:
        self._blocked.discard(peer)

    def blocked(self) -> list[str]:
        return sorted(self._blocked)

    def is_banned(self, peer: str) -> bool:
        """True while the peer is banned by its score or blocked by hand."""
        if peer in self._blocked:
            return True
        rec = self._peers.get(peer)
        if rec is None or rec.banned_until == 0.0:
            return False
        if rec.banned_until > self._clock():
            return True
        # The ban has run out: start again from a neutral score, not the ban level.
        rec.banned_until = 0.0
        rec.score = 0.0
        rec.updated_at = self._clock()
        return False

    def snapshot(self, peer: str) -> PeerRecord:
        rec = self._record(peer)
        return PeerRecord(
            score=rec.score,
            updated_at=rec.updated_at,
            banned_until=rec.banned_until,
            offences=dict(rec.offences),
            good_messages=rec.good_messages,
        )

    def known_peers(self) -> list[str]:
        return list(self._peers)
