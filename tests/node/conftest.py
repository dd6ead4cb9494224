"""Fixtures of the node tests: real multi-process chains (see node_cluster.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Test modules here import the helpers as `node_cluster` (importlib mode has no package).
sys.path.insert(0, str(Path(__file__).parent))

from node_cluster import Cluster


@pytest.fixture
def cluster_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Cluster] = []

    def make(validators: int = 4, timings: list[str] | None = None, admin: bool = False) -> Cluster:
        c = Cluster(tmp_path / f"chain{len(made)}", validators, timings, admin)
        made.append(c)
        return c

    try:
        yield make
    finally:
        for c in made:
            c.stop_all()
