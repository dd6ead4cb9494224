"""ethers v6 (JavaScript) against a real `ivcnet node start` process.

ethers is not a Python dependency: `make install` puts ethers 6 into `.venv/js` when npm exists.
The test loads it from `IVCNET_ETHERS_NODE_PATH` (a node_modules folder), else from
`.venv/js/node_modules`, else from Node's own paths, and is skipped when Node.js cannot load it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from node_cluster import rpc

SCRIPT = Path(__file__).parent / "rpc" / "ethers_check.cjs"
VENV_MODULES = Path(__file__).resolve().parents[2] / ".venv" / "js" / "node_modules"


def _node_env() -> dict[str, str] | None:
    if shutil.which("node") is None:
        return None
    env = dict(os.environ)
    extra = os.environ.get("IVCNET_ETHERS_NODE_PATH")
    if not extra and VENV_MODULES.is_dir():
        extra = str(VENV_MODULES)
    if extra:
        env["NODE_PATH"] = extra
    probe = subprocess.run(
        ["node", "-e", "require.resolve('ethers')"], env=env, capture_output=True, timeout=30
    )
    return env if probe.returncode == 0 else None


def test_ethers_wallet_flow_on_a_real_node(cluster_factory: Any) -> None:
    env = _node_env()
    if env is None:
        pytest.skip("Node.js with the ethers package is not available")
    cluster = cluster_factory(validators=1)
    cluster.start_all()
    cluster.wait_height(0, 1, timeout=120)
    url = cluster.url(0)
    chain_id = str(int(rpc(url, "eth_chainId"), 16))
    result = subprocess.run(
        ["node", str(SCRIPT), url, cluster.account_keys[0], chain_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == "OK"
