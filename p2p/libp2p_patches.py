"""Every module-level patch of py-libp2p 0.8.1 that ivcnet needs, in one place.

Each patch changes a default that the package offers no constructor argument
for and that silently loses or delays messages (measured in the team's
py-libp2p notes). `apply()` is idempotent and runs before any host is built.
Everything else is configured through constructor arguments or the subclasses
in `p2p.gossip`.
"""

from __future__ import annotations

import libp2p.network.swarm as _swarm
import libp2p.pubsub.pubsub as _pubsub
from libp2p.pubsub.rpc_queue import RpcQueue

# Outbound per-peer RPC queue depth and subscription channel depth. The default
# 32 dropped 168 of a 200-message burst; the outbound queue drops silently.
QUEUE_DEPTH = 4096
# Largest pubsub RPC sent. The default 1 MiB silently drops larger outbound RPCs
# (the inbound limit is a `Pubsub` constructor argument and set there).
MAX_RPC_SIZE = 8 * 1024 * 1024

_applied = False


class _DeepRpcQueue(RpcQueue):
    """`Pubsub._handle_new_peer` builds `RpcQueue()` with no arguments, and the
    default depth and size are bound at definition time, so the only way to change
    them is to swap the class that module name refers to."""

    def __init__(self, max_size: int = QUEUE_DEPTH, max_message_size: int = MAX_RPC_SIZE) -> None:
        super().__init__(max_size=max_size, max_message_size=max_message_size)


def apply() -> None:
    global _applied
    if _applied:
        return
    # Every dial waited 250 ms after success for a second transport we never run
    # (TCP only); 0 makes a loopback connect take ~10 ms instead of ~260 ms.
    _swarm._HAPPY_EYEBALLS_DELAY = 0.0
    # Read at call time by `Pubsub.subscribe`; ivcnet delivers through its own
    # channels (`p2p.gossip`), but a full libp2p channel would still log and drop.
    _pubsub.SUBSCRIPTION_CHANNEL_SIZE = QUEUE_DEPTH
    # `setattr`: the module does not re-export the name for type checkers.
    setattr(_pubsub, "RpcQueue", _DeepRpcQueue)  # noqa: B010
    _applied = True
