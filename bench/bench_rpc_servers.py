"""The servers `bench_rpc.py` measures, each in its own process.

- `app`: the real JSON-RPC app on hypercorn/trio (`serve_rpc`) over a small in-memory chain
  view: the RPC layer's cost without LevelDB or a busy node loop. `app-hypercorn` is the same
  with hypercorn's own connection handler instead of the lean one (node/rpc/hypercorn_tcp.py);
  `trivial-hypercorn` likewise.
- `trivial`: hypercorn/trio with the same settings serving a constant answer from a minimal
  ASGI app: the floor any JSON-RPC app on this stack pays per request.
- `asyncio`: the real app on hypercorn's asyncio worker, for the trio-versus-asyncio figure.
- `node`: a real one-validator `ivcnet node start` process on a fresh chain (LevelDB state,
  the node's chain view, consensus sharing the trio loop, default 1 s blocks).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import psutil
import trio

from node.rpc import ChainView, RpcConfig, build_app, hypercorn_tcp, serve_rpc
from node.rpc.server import _hypercorn_config

# The eth_getBalance answer of the in-memory view, as the trivial server returns it verbatim.
BALANCE = 10**21 + 20
TRIVIAL_BODY = b'{"jsonrpc":"2.0","id":1,"result":"%s"}' % hex(BALANCE).encode()


class BalanceOnlyView:
    """Just what eth_getBalance touches: a head height and one balance per address."""

    async def chain_id(self) -> int:
        return 1337

    async def head_height(self) -> int:
        return 100

    async def balance(self, address: bytes, height: int | None) -> int:
        return 10**21 + len(address)


@dataclass
class Server:
    url: str
    process: psutil.Process
    # An address eth_getBalance has a nonzero balance for.
    address: str

    # The server's CPU seconds per second with no client (consensus, timers).
    idle_cpu: float = 0.0

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def measure_idle_cpu(self, seconds: float) -> None:
        before = self.cpu_seconds()
        time.sleep(seconds)
        self.idle_cpu = (self.cpu_seconds() - before) / seconds


async def _trivial_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    await receive()
    headers = [
        (b"content-length", str(len(TRIVIAL_BODY)).encode()),
        (b"content-type", b"application/json"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": TRIVIAL_BODY})


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(kind: str, port_queue: multiprocessing.Queue[int]) -> None:
    if kind == "asyncio":
        _serve_asyncio(port_queue)
        return

    lean = not kind.endswith("-hypercorn")

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            if kind.startswith("app"):
                config = RpcConfig(port=0, lean_connections=lean)
                endpoint = await nursery.start(serve_rpc, config, BalanceOnlyView())
                port_queue.put(endpoint.port)
            else:
                from hypercorn.trio import serve

                hypercorn_tcp.use(lean)
                port = _free_port()
                config = _hypercorn_config(RpcConfig(port=port))
                nursery.start_soon(serve, _trivial_app, config)
                await trio.sleep(0.5)
                port_queue.put(port)

    trio.run(main)


def _serve_asyncio(port_queue: multiprocessing.Queue[int]) -> None:
    import asyncio

    from hypercorn.asyncio import serve

    port = _free_port()
    app = build_app(RpcConfig(), cast(ChainView, BalanceOnlyView()))

    async def main() -> None:
        task = asyncio.ensure_future(serve(app, _hypercorn_config(RpcConfig(port=port))))  # type: ignore[arg-type]
        await asyncio.sleep(0.5)
        port_queue.put(port)
        await task

    asyncio.run(main())


@contextlib.contextmanager
def in_process_server(kind: str) -> Iterator[Server]:
    """`app`, `trivial` (each also with `-hypercorn`) or `asyncio`, from a child process."""
    ctx = multiprocessing.get_context("spawn")
    port_queue: multiprocessing.Queue[int] = ctx.Queue()
    child = ctx.Process(target=_serve, args=(kind, port_queue), daemon=True)
    child.start()
    try:
        port = port_queue.get(timeout=60)
        assert child.pid is not None
        yield Server(f"http://127.0.0.1:{port}/", psutil.Process(child.pid), "0x" + "ab" * 20)
    finally:
        child.terminate()
        child.join(5)


@contextlib.contextmanager
def node_server() -> Iterator[Server]:
    """A fresh one-validator chain and its node process; yields once blocks are committed."""
    from genesis import init_local_chain

    with tempfile.TemporaryDirectory() as tmp:
        chain = init_local_chain(Path(tmp), "ivc-bench", 1, 1)
        home = chain.node_home(0)
        rpc_port, p2p_port = _free_port(), _free_port()
        argv = [sys.executable, "-m", "node.cli.main", "node", "start", "--home", str(home)]
        argv += ["--rpc-port", str(rpc_port), "--p2p-port", str(p2p_port)]
        with open(Path(tmp) / "node.out", "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{rpc_port}/"
        try:
            _wait_for_block(url, proc)
            address = "0x" + chain.account_keys[0].address.hex()
            yield Server(url, psutil.Process(proc.pid), address)
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def _wait_for_block(url: str, proc: subprocess.Popen[bytes]) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the node exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            if int(httpx.post(url, json=body, timeout=5).json()["result"], 16) >= 1:
                return
        time.sleep(0.3)
    raise RuntimeError("the node committed no block within 120 s")
