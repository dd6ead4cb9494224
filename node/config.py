"""A node's configuration: where its home is, its ports, peers and consensus timings.

Values come from defaults, then `HOME/config/node.json` (optional, same field names), then the
command line. Timings are seconds; tests shrink them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from consensus import TimeoutConfig

CONFIG_FILE = Path("config") / "node.json"


class NodeConfigError(Exception):
    """The node's home or configuration is unusable (a user's mistake: one line, exit 1)."""


@dataclass(frozen=True)
class NodeConfig:
    home: Path
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 8545
    p2p_host: str = "127.0.0.1"
    p2p_port: int = 26656
    # Persistent peers (redialed whenever they drop) and seeds (dialed once at start).
    peers: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    # Announced to peers instead of the listen address (p2p/announce.py): HOST[:PORT].
    external_address: str = ""
    moniker: str = ""
    # Minimum time between consecutive blocks (empty ones too): the commit wait.
    block_interval: float = 1.0
    timeouts: TimeoutConfig = field(default_factory=TimeoutConfig)
    # Transactions gossiped together: wait at most this long to fill a batch.
    tx_batch_interval: float = 0.05
    # Bounds the time to build and check a proposal (well under the propose timeout).
    max_block_txs: int = 2000
    # How often own consensus messages of a stuck height are gossiped again.
    regossip_interval: float = 1.0
    # How often peers are asked for their head (block sync).
    sync_interval: float = 1.0
    log_level: str = "INFO"
    # Serve ivc_adminBlockPeer / ivc_adminUnblockPeer (tests and operators on loopback only).
    admin_rpc: bool = False
    # The prover role (node/prover, docs/proving.md): --prover, --prover-address,
    # --prover-workers (0: one per core), --prover-fault (test only).
    prover: bool = False
    prover_address: str = ""
    prover_workers: int = 0
    prover_fault: str = ""

    @property
    def genesis_path(self) -> Path:
        return self.home / "genesis.json"

    @property
    def validator_key_path(self) -> Path:
        return self.home / "config" / "validator_key.json"

    @property
    def p2p_home(self) -> Path:
        return self.home / "config"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def signer_dir(self) -> Path:
        return self.data_dir / "signer"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "node.log"


_TIMEOUT_FIELDS = {f.name for f in fields(TimeoutConfig)}


def load_config(home: Path, **overrides: Any) -> NodeConfig:
    """Defaults, then HOME/config/node.json, then `overrides` (None values are ignored)."""
    config = NodeConfig(home=home)
    path = home / CONFIG_FILE
    if path.exists():
        try:
            obj = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise NodeConfigError(f"{path}: unreadable ({exc})") from None
        if not isinstance(obj, dict):
            raise NodeConfigError(f"{path}: must be a JSON object")
        config = _apply(config, obj, str(path))
    return _apply(config, {k: v for k, v in overrides.items() if v is not None}, "command line")


def _apply(config: NodeConfig, values: dict[str, Any], where: str) -> NodeConfig:
    known = {f.name for f in fields(NodeConfig)} - {"home", "timeouts"}
    changes: dict[str, Any] = {}
    timeouts: dict[str, float] = {}
    for name, value in values.items():
        if name.startswith("timeout_") and name[8:] in _TIMEOUT_FIELDS:
            timeouts[name[8:]] = _number(value, name, where)
        elif name in ("peers", "seeds"):
            if not isinstance(value, list | tuple) or not all(isinstance(p, str) for p in value):
                raise NodeConfigError(f"{where}: {name} must be a list of multiaddrs")
            changes[name] = tuple(value)
        elif name in ("rpc_port", "p2p_port", "max_block_txs"):
            if not isinstance(value, int) or (not 0 <= value <= 65535 and name != "max_block_txs"):
                raise NodeConfigError(f"{where}: {name} must be a port number")
            changes[name] = value
        elif name in ("block_interval", "tx_batch_interval", "regossip_interval", "sync_interval"):
            changes[name] = _number(value, name, where)
        elif name in ("admin_rpc", "prover"):
            if not isinstance(value, bool):
                raise NodeConfigError(f"{where}: {name} must be true or false")
            changes[name] = value
        elif name == "prover_workers":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1024:
                raise NodeConfigError(f"{where}: prover_workers must be an integer in [0, 1024]")
            changes[name] = value
        elif name in (
            "rpc_host",
            "p2p_host",
            "external_address",
            "moniker",
            "log_level",
            "prover_address",
            "prover_fault",
        ):
            if not isinstance(value, str):
                raise NodeConfigError(f"{where}: {name} must be a string")
            changes[name] = value
        elif name not in known:
            raise NodeConfigError(f"{where}: unknown setting {name!r}")
    out = replace(config, **changes)
    if timeouts:
        out = replace(out, timeouts=replace(out.timeouts, **timeouts))
    return out


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
        raise NodeConfigError(f"{where}: {name} must be a number of seconds in [0, 3600]")
    return float(value)


# Settings written to HOME/config/node.json by `ivcnet init --preset` and `ivcnet join --preset`.
# "local": every node on this machine (the defaults). "testnet": nodes on separate hosts, with
# wide-area latencies and slower machines in mind: longer consensus timeouts (a proposal of
# 2,000 transactions must reach and be checked by +2/3 within the propose timeout), p2p on every
# interface, RPC on loopback only (operators open it deliberately).
PRESETS: dict[str, dict[str, Any]] = {
    "local": {},
    "testnet": {
        "p2p_host": "0.0.0.0",
        "rpc_host": "127.0.0.1",
        "block_interval": 2.0,
        "timeout_propose": 6.0,
        "timeout_propose_delta": 1.0,
        "timeout_prevote": 2.0,
        "timeout_prevote_delta": 1.0,
        "timeout_precommit": 2.0,
        "timeout_precommit_delta": 1.0,
        "regossip_interval": 2.0,
        "sync_interval": 1.0,
    },
}


def preset_settings(name: str) -> dict[str, Any]:
    """A copy of a preset's settings; NodeConfigError for an unknown name."""
    if name not in PRESETS:
        raise NodeConfigError(f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    return dict(PRESETS[name])


def write_config_file(home: Path, settings: dict[str, Any]) -> Path:
    """Check `settings` as load_config would, then write HOME/config/node.json (new file)."""
    _apply(NodeConfig(home=home), settings, "settings")
    path = home / CONFIG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x") as fh:
        fh.write(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return path
