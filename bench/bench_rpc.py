"""eth_getBalance requests per second from one client process, and where the time goes.

    .venv/bin/python bench/bench_rpc.py [--requests 3000] [--servers app,trivial,node]
        [--clients single_http.client,threads4_http.client] [--rounds 2]

Servers (`bench_rpc_servers.py`, each in its own process): `app` is the real JSON-RPC app on
hypercorn/trio over an in-memory chain view; `trivial` is hypercorn/trio answering a constant
from a minimal ASGI app (the stack's floor); `node` is a real one-validator node (LevelDB
state, consensus on the same trio loop).

Clients, all in this one process, all over keep-alive connections:
- `httpx`, `http.client`, `web3`: one request at a time over one connection, with httpx (the
  figure before this bench was extended), the standard library's http.client (what requests,
  and so web3.py's HTTPProvider, run on), and web3.py's `w3.eth.get_balance` itself;
- `threads`: `--threads` threads, each one http.client connection, requests one at a time;
- `pipelined`: `--depth` requests written back to back on one connection before the answers
  are read (HTTP/1.1 pipelining; h11 serializes and parses);
- `batch`: JSON-RPC batches of `--batch` calls over http.client; `web3-batch`: the same through
  web3.py's `batch_requests`.

Each line is JSON: requests/s (wall clock), and the server's and this process's CPU time per
request (psutil), which say where the time goes and, unlike wall-clock rates, are not halved
when other processes share the two cores. The server's idle CPU (a node runs consensus), measured
for 3 s before the clients start, is subtracted. `--compare-asyncio` adds the server CPU of the same
app on hypercorn's asyncio worker.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import h11
import httpx
import psutil
import trio
from bench_rpc_servers import BalanceOnlyView, Server, in_process_server, node_server

from node.rpc import ChainView, RpcConfig, build_app

HEADERS = {"content-type": "application/json"}


def _body(address: str, request_id: int = 1) -> bytes:
    call = {"jsonrpc": "2.0", "id": request_id, "method": "eth_getBalance"}
    return json.dumps({**call, "params": [address, "latest"]}).encode()


def _connection(url: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)


def _check(status: int, data: bytes) -> None:
    if status != 200 or b'"result"' not in data:
        raise RuntimeError(f"bad answer: {status} {data[:200]!r}")


def sequential_httpx(server: Server, requests: int) -> int:
    with httpx.Client(headers=HEADERS) as client:
        for i in range(requests):
            response = client.post(server.url, content=_body(server.address, i))
            _check(response.status_code, response.content)
    return requests


def sequential_http_client(server: Server, requests: int) -> int:
    connection = _connection(server.url)
    body = _body(server.address)
    try:
        for _ in range(requests):
            connection.request("POST", "/", body, HEADERS)
            response = connection.getresponse()
            _check(response.status, response.read())
    finally:
        connection.close()
    return requests


def sequential_web3(server: Server, requests: int) -> int:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(server.url))
    address = Web3.to_checksum_address(server.address)
    for _ in range(requests):
        if w3.eth.get_balance(address) <= 0:
            raise RuntimeError("zero balance")
    return requests


def threaded(threads: int) -> Callable[[Server, int], int]:
    def run(server: Server, requests: int) -> int:
        each = requests // threads
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                sequential_http_client(server, each)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=worker) for _ in range(threads)]
        for worker_thread in workers:
            worker_thread.start()
        for worker_thread in workers:
            worker_thread.join()
        if errors:
            raise errors[0]
        return each * threads

    return run


def _serialized_request(server: Server, body: bytes) -> bytes:
    writer = h11.Connection(h11.CLIENT)
    host = urlsplit(server.url).netloc
    headers = [("host", host), ("content-type", "application/json")]
    headers.append(("content-length", str(len(body))))
    data = writer.send(h11.Request(method="POST", target="/", headers=headers))
    return (data or b"") + (writer.send(h11.Data(data=body)) or b"")


def pipelined(depth: int) -> Callable[[Server, int], int]:
    """`depth` requests written at once, then their answers read, on one connection."""

    def run(server: Server, requests: int) -> int:
        import socket

        parts = urlsplit(server.url)
        wire = _serialized_request(server, _body(server.address))
        request = h11.Request(method="POST", target="/", headers=[("host", parts.netloc)])
        done = 0
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = h11.Connection(h11.CLIENT)
            while done < requests:
                burst = min(depth, requests - done)
                sock.sendall(wire * burst)
                for _ in range(burst):
                    # h11 tracks one request/response cycle at a time; the bytes were sent.
                    reader.send(request)
                    reader.send(h11.EndOfMessage())
                    _read_response(reader, sock)
                    reader.start_next_cycle()
                done += burst
        return done

    return run


def _read_response(reader: h11.Connection, sock: Any) -> None:
    status = 0
    chunks: list[bytes] = []
    while True:
        event = reader.next_event()
        if event is h11.NEED_DATA:
            reader.receive_data(sock.recv(1 << 16))
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            _check(status, b"".join(chunks))
            return
        elif isinstance(event, h11.ConnectionClosed):
            raise RuntimeError("server closed the connection")


def batched(size: int) -> Callable[[Server, int], int]:
    def run(server: Server, requests: int) -> int:
        batches = max(1, requests // size)
        calls = [json.loads(_body(server.address, i)) for i in range(size)]
        body = json.dumps(calls).encode()
        connection = _connection(server.url)
        try:
            for _ in range(batches):
                connection.request("POST", "/", body, HEADERS)
                response = connection.getresponse()
                answers = json.loads(response.read())
                if len(answers) != size or any("result" not in a for a in answers):
                    raise RuntimeError("bad batch answer")
        finally:
            connection.close()
        return batches * size

    return run


def web3_batched(size: int) -> Callable[[Server, int], int]:
    def run(server: Server, requests: int) -> int:
        from web3 import Web3

        w3 = Web3(Web3.HTTPProvider(server.url))
        address = Web3.to_checksum_address(server.address)
        batches = max(1, requests // size)
        for _ in range(batches):
            with w3.batch_requests() as batch:
                for _ in range(size):
                    batch.add(w3.eth.get_balance(address))
                answers = batch.execute()
            if len(answers) != size:
                raise RuntimeError("bad batch answer")
        return batches * size

    return run


def measure(server: Server, name: str, client: Callable[[Server, int], int], requests: int) -> None:
    me = psutil.Process()
    client(server, min(300, requests))  # warm-up: imports, connections, caches
    server_before, client_before = server.cpu_seconds(), _cpu(me)
    start = time.perf_counter()
    done = client(server, requests)
    elapsed = time.perf_counter() - start
    # A node also runs consensus (blocks every second): its idle CPU is not the request's.
    server_busy = server.cpu_seconds() - server_before - server.idle_cpu * elapsed
    server_us = max(0.0, server_busy) / done * 1e6
    client_us = (_cpu(me) - client_before) / done * 1e6
    line = {
        "name": f"rpc_eth_getBalance_{name}",
        "value": round(done / elapsed),
        "unit": "requests/s",
        "server_cpu_us": round(server_us),
        "client_cpu_us": round(client_us),
        "requests": done,
        "load_average_1min": round(psutil.getloadavg()[0], 2),
    }
    print(json.dumps(line), flush=True)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def app_only_us(requests: int) -> float:
    """Microseconds per request spent in the ASGI app itself (JSON-RPC parsing, dispatch,
    validation, encoding), called in-process without HTTP: the part node/rpc controls."""
    app = build_app(RpcConfig(), cast(ChainView, BalanceOnlyView()))
    body = _body("0x" + "ab" * 20)
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
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--servers", default="app,trivial,node")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--depth", type=int, default=8, help="pipelined requests per burst")
    parser.add_argument("--batch", type=int, default=100, help="calls per JSON-RPC batch")
    parser.add_argument("--compare-asyncio", action="store_true")
    parser.add_argument("--clients", default="", help="comma-separated client names (all)")
    parser.add_argument("--rounds", type=int, default=1, help="times through the servers")
    args = parser.parse_args(argv)
    n = args.requests

    clients: list[tuple[str, Callable[[Server, int], int], int]] = [
        ("single_http.client", sequential_http_client, n),
        ("single_httpx", sequential_httpx, n // 3),
        ("single_web3", sequential_web3, n // 3),
        (f"threads{args.threads}_http.client", threaded(args.threads), n),
        (f"pipelined{args.depth}", pipelined(args.depth), n),
        (f"batch{args.batch}_http.client", batched(args.batch), 10 * n),
        (f"batch{args.batch}_web3", web3_batched(args.batch), n),
    ]
    if args.clients:
        wanted = set(args.clients.split(","))
        clients = [c for c in clients if c[0] in wanted]
    # Alternating the servers round by round lets each see the same background load.
    for kind in args.servers.split(",") * args.rounds:
        if kind == "node":
            context = node_server()
        elif kind in ("app", "trivial", "app-hypercorn", "trivial-hypercorn"):
            context = in_process_server(kind)
        else:
            parser.error(f"unknown server {kind!r}")
        with context as server:
            server.measure_idle_cpu(3.0)
            print(
                json.dumps({"server": kind, "idle_cpu_share": round(server.idle_cpu, 3)}),
                flush=True,
            )
            for name, client, requests in clients:
                if kind.startswith("trivial") and ("batch" in name or "web3" in name):
                    continue  # one constant answer: not a batch, and web3 checks the id
                measure(server, name, client, requests)
    line = {"name": "rpc_eth_getBalance_app_only", "value": round(app_only_us(n)), "unit": "us"}
    print(json.dumps(line), flush=True)
    if args.compare_asyncio:
        # Alternate the two servers so that both see the same background load.
        for _ in range(2):
            for kind in ("app", "asyncio"):
                with in_process_server(kind) as server:
                    print(json.dumps({"server": kind}), flush=True)
                    measure(server, "single_http.client", sequential_http_client, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
