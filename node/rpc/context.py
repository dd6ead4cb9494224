"""What every method handler receives, and the shape of a method table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from node.rpc.chain_view import ChainView
from node.rpc.params import Params

# A block tag resolver maps the view to a height (e.g. "proven" -> the highest proven block).
TagResolver = Callable[[ChainView], Awaitable[int]]


@dataclass(frozen=True)
class RpcContext:
    """The chain view plus server-wide settings the handlers need.

    `block_tags` holds the tags beyond Ethereum's built-ins (latest, earliest, pending, safe,
    finalized); the proving network adds "proven" here.
    """

    view: ChainView
    client_version: str
    block_tags: Mapping[str, TagResolver] = field(default_factory=dict)


Handler = Callable[[RpcContext, Params], Awaitable[Any]]
MethodTable = Mapping[str, Handler]
