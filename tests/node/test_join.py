"""`ivcnet join`: the home it writes, and the inputs it refuses before writing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execution.staking import STAKING_SYSTEM_ADDRESS, StakingOp, StakingOpKind, bond_verify
from genesis import (
    AccountKey,
    ProtocolParams,
    ValidatorKey,
    init_local_chain,
    read_key_file,
    to_checksum_address,
)
from node.cli.main import main
from node.config import NodeConfigError, load_config
from node.devnet import node_peer_id


@pytest.fixture
def network(tmp_path: Path) -> tuple[Path, str]:
    """A chain's genesis file and the address of its node 0."""
    chain = init_local_chain(tmp_path / "net", "ivc-join", 2, 1)
    peer = f"/ip4/127.0.0.1/tcp/26656/p2p/{node_peer_id(chain.node_home(0))}"
    return tmp_path / "net" / "genesis.json", peer


def test_join_writes_a_home_a_node_can_load(
    network: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    genesis, peer = network
    home = tmp_path / "joined"
    argv = ["join", "--genesis", str(genesis), "--peer", peer, "--home", str(home)]
    owner = "0x" + "ab" * 20
    argv += ["--validator", "--prover", "--external-address", "10.1.2.3", "--owner", owner]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (home / "genesis.json").read_bytes() == genesis.read_bytes()
    vkey = read_key_file(home / "config" / "validator_key.json")
    pkey = read_key_file(home / "config" / "prover_key.json")
    assert isinstance(vkey, ValidatorKey) and isinstance(pkey, AccountKey)
    # The printed staking transactions are this node's: a bond of its key (signed by the key
    # for --owner on this chain) and a registration to send from the new prover account.
    calls = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    assert [c["to"].lower() for c in calls] == ["0x" + STAKING_SYSTEM_ADDRESS.hex()] * 2
    bond = StakingOp.decode(bytes.fromhex(calls[0]["data"][2:]))
    assert bond.kind is StakingOpKind.BOND and bond.bls_public_key == vkey.public_key
    chain_id = json.loads(genesis.read_text())["eth_chain_id"]
    owner_bytes = bytes.fromhex(owner[2:])
    assert bond_verify(vkey.public_key, chain_id, owner_bytes, bond.owner_signature)
    assert not bond_verify(vkey.public_key, chain_id, b"\xcd" * 20, bond.owner_signature)
    assert to_checksum_address(owner_bytes) in out
    assert int(calls[0]["value"]) == ProtocolParams().min_validator_stake
    reg = StakingOp.decode(bytes.fromhex(calls[1]["data"][2:]))
    assert reg.kind is StakingOpKind.REGISTER_PROVER
    assert to_checksum_address(pkey.address) in out
    assert f"ivcnet node start --home {home}" in out
    assert node_peer_id(home) in out
    config = load_config(home)
    assert config.peers == (peer,)
    assert config.p2p_host == "0.0.0.0" and config.external_address == "10.1.2.3"
    assert config.timeouts.propose == 6.0  # the testnet preset
    assert config.prover and config.prover_address.lower() == "0x" + pkey.address.hex()


def test_full_node_join_with_local_preset(network: tuple[Path, str], tmp_path: Path) -> None:
    genesis, peer = network
    home = tmp_path / "empty"
    home.mkdir()  # an empty folder is accepted
    argv = ["join", "--genesis", str(genesis), "--peer", peer, "--home", str(home)]
    assert main([*argv, "--preset", "local", "--p2p-port", "4001", "--rpc-port", "4002"]) == 0
    assert not (home / "config" / "validator_key.json").exists()
    settings = json.loads((home / "config" / "node.json").read_text())
    assert settings == {"peers": [peer], "p2p_port": 4001, "rpc_port": 4002}


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def test_bad_inputs_are_refused_and_nothing_is_written(
    network: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    genesis, peer = network
    home = tmp_path / "h"
    base = ["join", "--peer", peer, "--home", str(home)]
    assert "no such file" in _fails([*base, "--genesis", str(tmp_path / "none.json")], capsys)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert "not a valid genesis" in _fails([*base, "--genesis", str(garbage)], capsys)
    # A validator whose proof of possession was swapped for another's: refused at join time
    # (a node would only find out at its first start).
    doc = json.loads(genesis.read_text())
    pops = [v["proof_of_possession"] for v in doc["validators"]]
    doc["validators"][0]["proof_of_possession"] = pops[1]
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    err = _fails([*base, "--genesis", str(forged)], capsys)
    assert "not a valid genesis" in err and "possession" in err
    ok = [*base, "--genesis", str(genesis)]
    assert "bad peer address" in _fails(
        ["join", "--genesis", str(genesis), "--peer", "/ip4/1.2.3.4/tcp/1", "--home", str(home)],
        capsys,
    )
    assert "external address" in _fails([*ok, "--external-address", "0.0.0.0"], capsys)
    assert "--p2p-port" in _fails([*ok, "--p2p-port", "70000"], capsys)
    assert "--from-key" in _fails([*ok, "--validator", "--stake", "10"], capsys)
    staking = [*ok, "--from-key", "0x" + "11" * 32, "--rpc", "http://127.0.0.1:1"]
    assert "--validator or --prover" in _fails([*staking, "--stake", "10"], capsys)
    for amount in ("-1", "0", "ten", "1e-19"):
        assert "--stake" in _fails([*staking, "--validator", "--stake", amount], capsys)
    bad_key = [*ok, "--validator", "--stake", "1", "--rpc", "http://127.0.0.1:1"]
    assert "secp256k1" in _fails([*bad_key, "--from-key", "0x" + "00" * 32], capsys)
    assert "no such key file" in _fails([*bad_key, "--from-key", str(tmp_path / "k")], capsys)
    assert "--owner" in _fails([*ok, "--validator", "--owner", "0x1234"], capsys)
    assert "--owner goes with --validator" in _fails([*ok, "--owner", "0x" + "ab" * 20], capsys)
    mismatch = [*staking, "--validator", "--stake", "1", "--owner", "0x" + "ab" * 20]
    assert "differs from the --from-key" in _fails(mismatch, capsys)
    # An unreachable --rpc is found before anything is written.
    assert "cannot reach" in _fails([*staking, "--validator", "--stake", "1"], capsys)
    assert not home.exists()


def test_an_existing_home_is_never_touched(
    network: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    genesis, peer = network
    home = tmp_path / "h"
    argv = ["join", "--genesis", str(genesis), "--peer", peer, "--home", str(home), "--validator"]
    assert main(argv) == 0
    # Without an owner the bond cannot be signed: not printed, and the flag that is needed named.
    out = capsys.readouterr().out
    assert "--owner ADDRESS" in out and '"data"' not in out and "full node" not in out
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    err = _fails(argv, capsys)
    assert "already exists" in err and "ivcnet node start" in err
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before


def test_init_testnet_preset_gives_each_host_its_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "tn"
    hosts = "10.9.0.1,10.9.0.2,10.9.0.3,10.9.0.3"
    argv = ["init", "--home", str(root), "--validators", "4", "--accounts", "1"]
    assert main([*argv, "--preset", "testnet", "--hosts", hosts]) == 0
    out = capsys.readouterr().out
    configs = [load_config(root / f"node{i}") for i in range(4)]
    addrs = [
        f"/ip4/{h}/tcp/{c.p2p_port}/p2p/{node_peer_id(root / f'node{i}')}"
        for i, (h, c) in enumerate(zip(hosts.split(","), configs, strict=True))
    ]
    assert [c.p2p_port for c in configs] == [26656, 26656, 26656, 26657]
    assert [c.rpc_port for c in configs] == [8545, 8545, 8545, 8546]
    for i, c in enumerate(configs):
        assert c.p2p_host == "0.0.0.0" and c.external_address == hosts.split(",")[i]
        assert set(c.peers) == set(addrs) - {addrs[i]}
        assert c.timeouts.propose == 6.0 and c.rpc_host == "127.0.0.1"
    assert f"--peer {addrs[0]}" in out  # how a newcomer joins
    # The local preset (the default) writes no settings file.
    assert main(["init", "--home", str(tmp_path / "loc"), "--validators", "1"]) == 0
    assert not (tmp_path / "loc" / "node0" / "config" / "node.json").exists()
    bad = ["init", "--home", str(tmp_path / "bad"), "--validators", "2", "--preset", "testnet"]
    assert "2 validators" in _fails([*bad, "--hosts", "10.0.0.1,10.0.0.2,10.0.0.3"], capsys)
    assert "--hosts" in _fails([*bad, "--hosts", "10.0.0.1,0.0.0.0"], capsys)
    assert not (tmp_path / "bad").exists()


def test_seeds_and_external_address_in_the_node_config(
    network: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, peer = network
    home = tmp_path / "cfg"
    (home / "config").mkdir(parents=True)
    settings = {"seeds": [peer], "peers": [], "external_address": "203.0.113.9:4000"}
    (home / "config" / "node.json").write_text(json.dumps(settings))
    config = load_config(home)
    assert config.seeds == (peer,) and config.peers == ()
    assert config.external_address == "203.0.113.9:4000"
    (home / "config" / "node.json").write_text(json.dumps({"seeds": peer}))
    with pytest.raises(NodeConfigError, match="seeds must be a list"):
        load_config(home)
    # `node start` refuses a bad seed or external address before opening anything.
    (home / "config" / "node.json").unlink()
    (home / "genesis.json").write_bytes(network[0].read_bytes())
    start = ["node", "start", "--home", str(home)]
    assert "bad peer address" in _fails([*start, "--seed", "/ip4/1.2.3.4/tcp/1"], capsys)
    assert "external address" in _fails([*start, "--external-address", "0.0.0.0"], capsys)
    assert not (home / "data").exists()
