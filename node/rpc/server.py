"""Serving the JSON-RPC app with hypercorn on trio, inside the node's nursery.

    endpoint = await nursery.start(serve_rpc, RpcConfig(port=8545), view)
    print(endpoint.url)

or, where a scope is more convenient (tests, tools):

    async with open_rpc_server(RpcConfig(port=0), view) as endpoint:
        ...

Port 0 binds a free port; the endpoint reports the one bound.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import metadata
from platform import python_version
from typing import TYPE_CHECKING

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from node.rpc import hypercorn_tcp
from node.rpc.app import RpcApp
from node.rpc.block_tags import BUILTIN_TAGS
from node.rpc.chain_view import ChainView
from node.rpc.context import Handler, RpcContext, TagResolver
from node.rpc.dispatch import Dispatcher
from node.rpc.methods_eth import ETH_METHODS
from node.rpc.methods_ivc import IVC_METHODS
from node.rpc.methods_net import NET_METHODS

if TYPE_CHECKING:
    # The installed trio-stubs hide trio.TaskStatus from mypy; they export it from here.
    from trio_typing import TaskStatus

logger = logging.getLogger("node.rpc")


class RpcBindError(OSError):
    """The server could not listen on the configured address (in use, not permitted, bad host)."""


def default_client_version() -> str:
    try:
        version = metadata.version("ivcnet")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"ivcnet/v{version}/python{python_version()}"


def default_methods() -> dict[str, Handler]:
    return {**ETH_METHODS, **NET_METHODS, **IVC_METHODS}


@dataclass(frozen=True)
class RpcConfig:
    """Where and how to serve. Limits follow geth's defaults in spirit (5 MiB bodies, batches
    of 1,000); `cors_origins` ("*" or exact origins such as "http://localhost:3000") is what
    browser wallets need. `extra_methods` and `extra_block_tags` are how later parts of the node
    add their `ivc_` methods and the "proven" tag."""

    host: str = "127.0.0.1"
    port: int = 8545
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch: int = 1000
    max_batch_response_bytes: int = 25 * 1024 * 1024
    cors_origins: tuple[str, ...] = ("*",)
    client_version: str = field(default_factory=default_client_version)
    keep_alive_timeout: float = 30.0
    # A client that stops sending mid-request is dropped after this long (slowloris).
    read_timeout: int = 60
    extra_methods: Mapping[str, Handler] = field(default_factory=dict)
    extra_block_tags: Mapping[str, TagResolver] = field(default_factory=dict)
    # hypercorn's connection handler without its per-request idle-timer task and with one
    # send per response (node/rpc/hypercorn_tcp.py). Off by default: with it, the request after
    # a 413 on a keep-alive connection found the connection closed without a response in 1 of 6
    # runs of test_body_too_large_by_content_length (hypercorn's own handler: 0 of 12).
    lean_connections: bool = False


@dataclass(frozen=True)
class RpcEndpoint:
    """Where the server listens once bound."""

    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def build_app(config: RpcConfig, view: ChainView) -> RpcApp:
    clash = set(config.extra_block_tags) & set(BUILTIN_TAGS)
    if clash:
        raise ValueError(f"block tags {sorted(clash)} are built in")
    methods = {**default_methods(), **config.extra_methods}
    ctx = RpcContext(view, config.client_version, dict(config.extra_block_tags))
    dispatcher = Dispatcher(ctx, methods, config.max_batch, config.max_batch_response_bytes)
    return RpcApp(dispatcher, config.max_body_bytes, config.cors_origins)


def _hypercorn_config(config: RpcConfig) -> HypercornConfig:
    hc = HypercornConfig()
    host = f"[{config.host}]" if ":" in config.host else config.host
    hc.bind = [f"{host}:{config.port}"]
    hc.accesslog = None
    hc.errorlog = logging.getLogger("node.rpc.http")
    hc.keep_alive_timeout = config.keep_alive_timeout
    hc.read_timeout = config.read_timeout
    # Hypercorn closes a keep-alive connection after 1,000 requests by default; a wallet
    # polling for receipts should not pay a reconnect for that.
    hc.keep_alive_max_requests = 1_000_000
    hc.include_server_header = False
    return hc


async def serve_rpc(
    config: RpcConfig,
    view: ChainView,
    *,
    task_status: TaskStatus[RpcEndpoint] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled. With `nursery.start`, returns the bound endpoint once listening."""
    app = build_app(config, view)

    class _Relay:
        """Turns hypercorn's list of bound URLs into our endpoint for the caller."""

        bound = False

        def started(self, binds: list[str] | None = None) -> None:
            endpoint = _endpoint_from_binds(binds or [])
            logger.info("JSON-RPC listening on %s", endpoint.url)
            self.bound = True
            task_status.started(endpoint)

    relay = _Relay()
    hypercorn_tcp.use(config.lean_connections)
    try:
        await serve(app, _hypercorn_config(config), task_status=relay, mode="asgi")  # type: ignore[arg-type]
    except BaseException as exc:
        bind_error = None if relay.bound else _first_os_error(exc)
        if bind_error is None:
            raise
        # Binding failed (hypercorn wraps it in nursery exception groups): say where, in one
        # line the CLI can print.
        message = bind_error.strerror or str(bind_error)
        raise RpcBindError(
            bind_error.errno, f"cannot listen on {config.host}:{config.port}: {message}"
        ) from exc


def _first_os_error(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_os_error(inner)
            if found is not None:
                return found
    return None


def _endpoint_from_binds(binds: list[str]) -> RpcEndpoint:
    if not binds:
        raise RuntimeError("hypercorn bound no socket")
    address = binds[0].split("://", 1)[1]
    host, _, port = address.rpartition(":")
    return RpcEndpoint(host.strip("[]"), int(port))


@asynccontextmanager
async def open_rpc_server(config: RpcConfig, view: ChainView) -> AsyncIterator[RpcEndpoint]:
    """Serve for the duration of the block; the server stops when the block exits."""
    async with trio.open_nursery() as nursery:
        endpoint: RpcEndpoint = await nursery.start(serve_rpc, config, view)
        try:
            yield endpoint
        finally:
            nursery.cancel_scope.cancel()
