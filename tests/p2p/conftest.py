from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from p2p import DialConfig, P2PConfig, P2PService, open_p2p_service

# Short dial timings so failure paths finish quickly; same code paths as production.
FAST_DIAL = DialConfig(
    attempts=3,
    backoff_initial_s=0.05,
    backoff_max_s=0.5,
    connect_timeout_s=3.0,
    reconnect_check_s=0.1,
)


ConfigFactory = Callable[..., P2PConfig]


@pytest.fixture
def make_config(tmp_path: Path) -> ConfigFactory:
    def make(name: str, **kwargs: Any) -> P2PConfig:
        kwargs.setdefault("dial", FAST_DIAL)
        return P2PConfig(home=tmp_path / name, **kwargs)

    return make


@asynccontextmanager
async def open_nodes(configs: list[P2PConfig]) -> AsyncIterator[list[P2PService]]:
    async with AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(open_p2p_service(c)) for c in configs]
        yield nodes


async def connect_all(nodes: list[P2PService]) -> None:
    """Full mesh: every node dials every later node."""
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            await a.connect(b.listen_addrs[0])
