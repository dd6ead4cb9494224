"""eth_getBalance requests per second from one client process over one keep-alive connection.

The server runs in its own process (hypercorn on trio, the real JSON-RPC app) over a small
in-memory chain view, so the figure is the RPC layer's cost: HTTP parsing, JSON-RPC dispatch,
parameter validation and encoding, plus the client's own cost, not LevelDB's.

    .venv/bin/python bench/bench_rpc.py [--requests 10000] [--batch 100]

Prints one JSON line per figure: requests per second sent one at a time over one keep-alive
connection (the figure with the 3,000/s target), the same in batches, and the CPU time per
request of the server process and of the client process (psutil), which says where the time
goes and, unlike wall-clock rates, is not halved when other processes share the two cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from collections.abc import Sequence
from typing import Any, cast

import httpx
import psutil
import trio

from node.rpc import ChainView, RpcConfig, build_app, serve_rpc

ADDRESS = "0x" + "ab" * 20


class BalanceOnlyView:
    """Just what eth_getBalance touches: a head height and one balance per address."""

    async def chain_id(self) -> int:
        return 1337

    async def head_height(self) -> int:
        return 100

    async def balance(self, address: bytes, height: int | None) -> int:
        return 10**21 + len(address)


def _serve(port_queue: multiprocessing.Queue[int]) -> None:
    async def main() -> None:
        async with trio.open_nursery() as nursery:
            endpoint = await nursery.start(serve_rpc, RpcConfig(port=0), BalanceOnlyView())
            port_queue.put(endpoint.port)

    trio.run(main)


def _serve_asyncio(port_queue: multiprocessing.Queue[int]) -> None:
    """The same app and hypercorn settings on asyncio, for the comparison figure only: the node
    runs on trio (DESIGN.md), and this shows what that choice costs per request."""
    import asyncio
    import socket

    from hypercorn.asyncio import serve

    from node.rpc.server import _hypercorn_config

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    app = build_app(RpcConfig(), cast(ChainView, BalanceOnlyView()))

    async def main() -> None:
        task = asyncio.ensure_future(serve(app, _hypercorn_config(RpcConfig(port=port))))  # type: ignore[arg-type]
        await asyncio.sleep(0.5)
        port_queue.put(port)
        await task

    asyncio.run(main())


def _server_cpu_us(target: Any, requests: int) -> float:
    """Server CPU per sequential eth_getBalance request, for a server started by `target`."""
    ctx = multiprocessing.get_context("spawn")
    port_queue: multiprocessing.Queue[int] = ctx.Queue()
    server = ctx.Process(target=target, args=(port_queue,), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{port_queue.get(timeout=60)}/"
        server_proc = psutil.Process(server.pid)
        with httpx.Client(headers={"content-type": "application/json"}) as client:
            for i in range(300):
                client.post(url, content=json.dumps(_request(i)))
            before = _cpu(server_proc)
            for i in range(requests):
                client.post(url, content=json.dumps(_request(i))).raise_for_status()
            return (_cpu(server_proc) - before) / requests * 1e6
    finally:
        server.terminate()
        server.join(5)


def _request(request_id: int) -> dict[str, object]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "eth_getBalance",
        "params": [ADDRESS, "latest"],
    }


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _emit(
    name: str, value: float, unit: str, parameters: dict[str, object], **extra: object
) -> None:
    print(
        json.dumps(
            {"name": name, "value": round(value), "unit": unit, "parameters": parameters, **extra}
        )
    )


def _app_only_us(requests: int) -> float:
    """Microseconds per request spent in the ASGI app itself (JSON-RPC parsing, dispatch,
    validation, encoding), called in-process without HTTP: the part this package controls."""
    app = build_app(RpcConfig(), cast(ChainView, BalanceOnlyView()))
    body = json.dumps(_request(1)).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: object) -> None:
        pass

    async def run() -> float:
        start = time.process_time()
        for _ in range(requests):
            await app(scope, receive, send)
        return (time.process_time() - start) / requests * 1e6

    return trio.run(run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100, help="requests per batch (last figure)")
    parser.add_argument(
        "--compare-asyncio",
        action="store_true",
        help="also measure the server CPU per request of the same app on hypercorn's asyncio worker",
    )
    args = parser.parse_args(argv)

    ctx = multiprocessing.get_context("spawn")
    port_queue: multiprocessing.Queue[int] = ctx.Queue()
    server = ctx.Process(target=_serve, args=(port_queue,), daemon=True)
    server.start()
    try:
        port = port_queue.get(timeout=60)
        url = f"http://127.0.0.1:{port}/"
        server_proc = psutil.Process(server.pid)
        client_proc = psutil.Process()
        with httpx.Client(headers={"content-type": "application/json"}) as client:
            for i in range(500):  # warm-up: imports, connection, caches
                client.post(url, content=json.dumps(_request(i)))
            parameters: dict[str, object] = {
                "requests": args.requests,
                "connection": "one keep-alive httpx.Client, sequential",
                "load_average_1min_before": round(psutil.getloadavg()[0], 2),
                "cpus": psutil.cpu_count(),
            }
            server_cpu, client_cpu = _cpu(server_proc), _cpu(client_proc)
            start = time.perf_counter()
            for i in range(args.requests):
                response = client.post(url, content=json.dumps(_request(i)))
                if response.status_code != 200 or "result" not in response.json():
                    print(f"bad response: {response.status_code} {response.text}", file=sys.stderr)
                    return 1
            elapsed = time.perf_counter() - start
            server_us = (_cpu(server_proc) - server_cpu) / args.requests * 1e6
            client_us = (_cpu(client_proc) - client_cpu) / args.requests * 1e6
            _emit(
                "rpc_eth_getBalance_single",
                args.requests / elapsed,
                "requests/s",
                parameters,
                target=3000,
            )
            _emit("rpc_eth_getBalance_server_cpu", server_us, "us/request", parameters)
            _emit("rpc_eth_getBalance_client_cpu", client_us, "us/request", parameters)

            batches = max(1, args.requests // args.batch)
            body = json.dumps([_request(i) for i in range(args.batch)])
            start = time.perf_counter()
            for _ in range(batches):
                response = client.post(url, content=body)
                if response.status_code != 200 or len(response.json()) != args.batch:
                    print(f"bad batch response: {response.status_code}", file=sys.stderr)
                    return 1
            elapsed = time.perf_counter() - start
            batch_parameters = {"requests": batches * args.batch, "batch": args.batch}
            _emit(
                "rpc_eth_getBalance_batched",
                batches * args.batch / elapsed,
                "requests/s",
                batch_parameters,
            )
        _emit(
            "rpc_eth_getBalance_app_only_cpu",
            _app_only_us(args.requests),
            "us/request",
            {"requests": args.requests, "transport": "none (ASGI app called in-process)"},
        )
    finally:
        server.terminate()
        server.join(5)
    if args.compare_asyncio:
        # Alternate the two servers so that both see the same background load.
        trio_us, asyncio_us = [], []
        for _ in range(2):
            trio_us.append(_server_cpu_us(_serve, args.requests // 4))
            asyncio_us.append(_server_cpu_us(_serve_asyncio, args.requests // 4))
        comparison = {"requests": 2 * (args.requests // 4), "runs": "alternated trio/asyncio"}
        _emit("rpc_server_cpu_trio", sum(trio_us) / 2, "us/request", comparison)
        _emit(
            "rpc_server_cpu_asyncio",
            sum(asyncio_us) / 2,
            "us/request",
            comparison,
            ratio_trio_over_asyncio=round(sum(trio_us) / sum(asyncio_us), 2),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
