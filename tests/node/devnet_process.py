"""`ivcnet devnet` as a real OS process for tests: start it on free ports, read its output,
wait for the demo task it submits to become proven, and stop its whole process tree."""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
from node_cluster import free_port_range, try_rpc, wait_for

from node.devnet import DEMO_INPUT


def kill_tree(proc: subprocess.Popen[str]) -> None:
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for p in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


@contextlib.contextmanager
def devnet_process(
    home: Path, nodes: int, seed: int, options: list[str]
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`ivcnet devnet --home HOME OPTIONS` on `nodes` free RPC and P2P ports each; yields the
    process and the list its output lines are appended to; kills its tree on the way out."""
    rng = random.Random(seed)
    rpc_base = free_port_range(nodes, rng)
    p2p_base = free_port_range(nodes, rng)
    while abs(p2p_base - rpc_base) < nodes:
        p2p_base = free_port_range(nodes, rng)
    argv = [sys.executable, "-m", "node.cli.main", "devnet", "--home", str(home), *options]
    argv += ["--base-rpc-port", str(rpc_base), "--base-p2p-port", str(p2p_base)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        yield proc, lines
    finally:
        kill_tree(proc)


def demo_task(lines: list[str], timeout: float) -> tuple[str, str]:
    """The (RPC URL, task id) of the `ivcnet task status` line the devnet prints."""
    status_line = wait_for(
        lambda: next((ln for ln in lines if "ivcnet task status" in ln), None),
        timeout,
        "the demo task",
    )
    found = re.search(r"--rpc (\S+) (0x[0-9a-f]{64})", status_line)
    if found is None:
        raise AssertionError(f"no URL and task id in {status_line!r}")
    url, task_id = found.groups()
    return url, task_id


def proven_demo_result(url: str, task_id: str, timeout: float, interval: float) -> Any:
    """ivc_getTaskResult of the demo task once proven; its output is SHA-256 of DEMO_INPUT
    (the demo task is the SHA-256 guest on that input)."""
    result = wait_for(
        lambda: (r := try_rpc(url, "ivc_getTaskResult", task_id)) and r["status"] == "proven" and r,
        timeout,
        "the demo task proven",
        interval,
    )
    assert result["exitCode"] == "0x0"
    assert result["output"] == "0x" + hashlib.sha256(DEMO_INPUT).hexdigest()
    return result
