"""The multi-host tests import their helpers by module name (importlib mode has no package)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "node"))  # node_cluster: rpc, wait_for, FAST_TIMINGS
