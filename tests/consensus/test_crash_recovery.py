"""Double-sign safety across SIGKILL: a real process signs in a loop and is killed at random
moments; everything it ever emitted is checked for conflicting signatures."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import consensus
from consensus import Proposal, Vote, keygen, secret_to_public

SCRIPT = Path(__file__).with_name("crash_signer_node.py")
ROOT = Path(consensus.__file__).resolve().parent.parent
KILLS = 12


def run_once(home: Path, kill_after: float) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    started = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert started.wait(60), "the node never started"
        time.sleep(kill_after)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
        reader.join(10)
    assert proc.returncode == -signal.SIGKILL
    return lines


def test_no_conflicting_signatures_across_sigkill(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    emitted: list[str] = []
    resumed_mid_height = 0
    for _ in range(KILLS):
        lines = run_once(tmp_path, rng.uniform(0.0, 0.4))
        first = lines[0].split()
        assert first[0] == "R"
        resumed_mid_height += int(first[2]) > 0
        emitted += lines[1:]

    votes: dict[tuple[int, int, int], set[bytes]] = defaultdict(set)
    proposals: dict[tuple[int, int], set[bytes]] = defaultdict(set)
    decisions: dict[int, set[str]] = defaultdict(set)
    signed: list[Vote | Proposal] = []
    for line in emitted:
        if not line.endswith("\n"):
            continue  # a line cut by the kill: never fully sent
        kind, *rest = line.split()
        if kind == "V":
            v = Vote.decode(bytes.fromhex(rest[0]))
            votes[(v.height, v.round, v.vote_type)].add(v.block_hash)
            signed.append(v)
        elif kind == "P":
            p = Proposal.decode(bytes.fromhex(rest[0]))
            proposals[(p.height, p.round)].add(p.block_hash)
            signed.append(p)
        elif kind == "D":
            decisions[int(rest[0])].add(rest[1])

    conflicts = {k: v for k, v in votes.items() if len(v) > 1}
    assert not conflicts, f"conflicting votes signed: {conflicts}"
    assert not {k: v for k, v in proposals.items() if len(v) > 1}
    assert all(len(v) == 1 for v in decisions.values())
    # The runs made progress and the kills landed inside heights, not only between them.
    assert len(decisions) >= 5, len(decisions)
    assert resumed_mid_height >= 2, resumed_mid_height
    # What was emitted was really signed by the node's key (a sample: each check costs ms).
    pk = secret_to_public(keygen(b"\x11" * 32))
    for msg in random.Random(1).sample(signed, min(25, len(signed))):
        assert msg.verify(pk)
    # The chain file agrees with the decisions that were announced.
    for line in (tmp_path / "chain").read_text().splitlines():
        h, block_hash = line.split()
        assert decisions[int(h)] in ({block_hash}, set())
