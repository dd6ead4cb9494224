"""Quieter py-libp2p logging for a node's log files.

py-libp2p logs an ERROR for every failed dial attempt (four per `connect` attempt
while a peer is down) and for every stream whose protocol the peer does not serve;
the p2p service already turns both into typed errors and its own log lines. A
library must not configure logging on import, so the node calls this at start.
"""

from __future__ import annotations

import logging

NOISY = (
    "libp2p.transport.tcp.tcp",  # "Failed to open TCP stream" per dial attempt
    "libp2p.host.basic_host",  # "Failed to open stream" for UnknownProtocol
    "libp2p.network.swarm",  # dial failures, add_conn races at shutdown
    "libp2p.network.auto_connector",  # sets itself to INFO; stopped by the service
)


def quiet_libp2p_logs(level: int = logging.WARNING) -> None:
    """Log libp2p at `level` and its known-noisy modules only when CRITICAL."""
    logging.getLogger("libp2p").setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.CRITICAL)
