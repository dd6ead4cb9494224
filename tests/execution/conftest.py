"""Fixtures for chain-core tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from chain_helpers import make_genesis

from execution.chain import Chain
from genesis import Genesis


@pytest.fixture
def genesis() -> Genesis:
    return make_genesis()


@pytest.fixture
def chain(tmp_path: Path, genesis: Genesis):  # type: ignore[no-untyped-def]
    c = Chain.open(tmp_path / "chain", genesis)
    yield c
    c.close()
