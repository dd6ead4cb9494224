"""The node: assembles chain, mempool, consensus, p2p, block sync and JSON-RPC; the devnet.

Importing this package imports nothing heavy; the names below load on first use, so that
`ivcnet` commands that do not run a node stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Node": "node.node",
    "run_node": "node.node",
    "NodeConfig": "node.config",
    "NodeConfigError": "node.config",
    "load_config": "node.config",
    "Mempool": "node.mempool",
    "MempoolConfig": "node.mempool",
    "MempoolRejected": "node.mempool",
    "NodeChainView": "node.chain_view",
    "BlockSyncer": "node.syncer",
    "SyncRequest": "node.blocksync",
    "SyncResponse": "node.blocksync",
    "SyncError": "node.blocksync",
    "verify_synced_block": "node.blocksync",
    "DevnetNode": "node.devnet",
    "DevnetError": "node.devnet",
    "prepare_devnet": "node.devnet",
    "run_devnet": "node.devnet",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'node' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
