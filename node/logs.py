"""Structured logs: one JSON object per line in HOME/data/node.log.

Every record has `ts` (unix seconds), `level`, `logger` and `msg`; the node passes event
fields through `extra={"fields": {...}}`, which are merged into the object, so a log line is
greppable (`"event": "commit"`) and machine-readable.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from p2p.logs import quiet_libp2p_logs


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            obj.update(fields)
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, default=str)


def setup_logging(path: Path, level: str = "INFO") -> None:
    """Send every log record to `path` as JSON lines, and warnings to stderr."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    file_handler = logging.FileHandler(path)
    file_handler.setFormatter(JsonFormatter())
    root.addHandler(file_handler)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(console)
    root.setLevel(level.upper())
    # libp2p logs every failed dial of a peer that is not up yet at ERROR.
    quiet_libp2p_logs()


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one structured event: `msg` is the event name, the fields are merged."""
    logger.log(level, name, extra={"fields": {"event": name, **fields}})
