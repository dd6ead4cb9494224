"""The `ivcnet` console script, run as a user would: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from genesis import Genesis, read_account_keys, read_key_file
from genesis.keys import ValidatorKey


def ivcnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_init_creates_a_genesis_that_loads_back(tmp_path: Path) -> None:
    home = tmp_path / "x"
    out = ivcnet(
        "init",
        "--home",
        str(home),
        "--chain-id",
        "ivc-devnet",
        "--validators",
        "4",
        "--accounts",
        "10",
    )
    assert out.returncode == 0, out.stderr
    genesis = Genesis.load(home / "genesis.json")
    assert (
        genesis.chain_id == "ivc-devnet"
        and len(genesis.validators) == 4
        and len(genesis.accounts) == 10
    )
    keys = read_account_keys(home)
    assert [k.address for k in keys] == [a.address for a in genesis.accounts]
    for i, v in enumerate(genesis.validators):
        key = read_key_file(home / f"node{i}" / "config" / "validator_key.json")
        assert isinstance(key, ValidatorKey) and key.public_key == v.bls_public_key
        assert (
            Genesis.load(home / f"node{i}" / "genesis.json", verify_keys=False).hash == genesis.hash
        )
        reward = read_key_file(home / f"node{i}" / "config" / "reward_key.json")
        assert reward.address == v.reward_address  # tips go to an account someone can spend
    # Secrets are readable by their owner only.
    assert (home / "accounts.json").stat().st_mode & 0o077 == 0

    again = ivcnet("init", "--home", str(home))
    assert (
        again.returncode == 1
        and "already exists" in again.stderr
        and "Traceback" not in again.stderr
    )


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    out = ivcnet("init", "--home", str(tmp_path / "y"), "--validators", "0")
    assert (
        out.returncode == 1
        and out.stderr.strip().startswith("error:")
        and len(out.stderr.strip().splitlines()) == 1
    )
    out = ivcnet("init", "--home", str(tmp_path / "y"), "--chain-id", "Not Valid")
    assert out.returncode == 1 and "chain_id" in out.stderr and "Traceback" not in out.stderr
    out = ivcnet("keys", "show", str(tmp_path / "nothing.json"))
    assert out.returncode == 1 and "no such key file" in out.stderr


def test_keys_new_and_show(tmp_path: Path) -> None:
    out = ivcnet("keys", "new", "--type", "validator", "--out", str(tmp_path / "v.json"))
    assert out.returncode == 0, out.stderr
    shown = ivcnet("keys", "show", "--json", str(tmp_path / "v.json"))
    info = json.loads(shown.stdout)
    assert info["type"] == "bls12-381" and "secret_key" not in info
    assert (
        ivcnet("keys", "new", "--out", str(tmp_path / "v.json")).returncode == 1
    )  # never overwrite
