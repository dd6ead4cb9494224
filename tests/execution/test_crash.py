"""kill -9 a process that commits blocks, many times: nothing committed may be lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chain_helpers import account_keys, make_genesis

from execution.chain import Chain

WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).parents[2]


def _run_until_killed(db: Path, seed: int, delay: float) -> list[tuple[int, str]]:
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'tests'}")
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), str(db), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    committed: list[tuple[int, str]] = []
    first = proc.stdout.readline()
    if not first.startswith("open "):
        proc.kill()
        raise AssertionError(
            f"worker failed to open: {first!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    deadline = time.monotonic() + delay
    os.set_blocking(proc.stdout.fileno(), False)
    buf = ""
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    os.set_blocking(proc.stdout.fileno(), True)
    buf = proc.stdout.read()
    for line in buf.splitlines():
        # A line cut by the kill is not a report; every complete one was printed after fsync.
        parts = line.split()
        if len(parts) == 3 and parts[0] == "committed" and len(parts[2]) == 64:
            committed.append((int(parts[1]), parts[2]))
    if proc.stderr is not None:
        proc.stderr.close()
    proc.stdout.close()
    return committed


def _check(db: Path, reported: dict[int, str]) -> int:
    genesis = make_genesis(16)
    chain = Chain.open(db, genesis)
    try:
        assert chain.height >= max(reported, default=0)
        for height, block_hash in reported.items():
            block = chain.block_at(height)
            assert block is not None and block.hash.hex() == block_hash, height
        # The head's state root node is on disk under its hash (Chain.open checks it), and every
        # account below is read through the trie from it.
        state = chain.state()
        # Conservation: balances + burned base fees + tips equal the genesis supply.
        keys = account_keys(16)
        total = sum(state.account(k.address).balance for k in keys)
        from chain_helpers import REWARD_KEY

        total += state.account(REWARD_KEY.address).balance
        burned = 0
        for h in range(1, chain.height + 1):
            block = chain.block_at(h)
            assert block is not None
            burned += block.header.gas_used * genesis.params.base_fee_per_gas
        assert total + burned == sum(a.balance for a in genesis.accounts)
        return chain.height
    finally:
        chain.close()


@pytest.mark.parametrize(
    "kills",
    [pytest.param(3, id="3-kills"), pytest.param(20, id="20-kills", marks=pytest.mark.slow)],
)
def test_kill_9_loses_nothing_committed(tmp_path: Path, kills: int) -> None:
    rnd = random.Random(kills)
    db = tmp_path / "chain"
    reported: dict[int, str] = {}
    heights = []
    for i in range(kills):
        for height, block_hash in _run_until_killed(db, seed=i, delay=rnd.uniform(1.0, 3.0)):
            reported[height] = block_hash
        heights.append(_check(db, reported))
    assert heights[-1] > 0, "the worker never committed a block"
