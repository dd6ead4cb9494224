"""`ivcnet task` / `ivcnet program`: one-line errors, and a real round trip against a node."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from node_cluster import free_ports, rpc, wait_for

from node.cli.main import main
from node.rpc import ProgramInfo, RpcConfig, RpcEndpoint, serve_rpc

FIB_ELF = Path(__file__).parents[2] / "execution/zkvm/guests/fibonacci.elf"
KEY = "0x" + "01" * 32


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    assert main(argv) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert words in lines[0], lines[0]


def _closed_url() -> str:
    (port,) = free_ports(1)
    return f"http://127.0.0.1:{port}"


def _submit(url: str, *extra: str) -> list[str]:
    return ["task", "submit", "--rpc", url, *extra]


def test_argument_errors_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = _closed_url()
    image = ["--image-id", "0x" + "00" * 32]
    _one_line_error(capsys, _submit(url, "--private-key", "0x12", *image, "--input-hex", ""), "32")
    bad_id = ["--image-id", "0xzz"]
    _one_line_error(
        capsys, _submit(url, "--private-key", KEY, *bad_id, "--input-hex", ""), "not hex"
    )
    _one_line_error(
        capsys, _submit(url, "--private-key", KEY, *image, "--input-hex", "0x1"), "--input-hex"
    )
    missing = str(tmp_path / "none.bin")
    _one_line_error(
        capsys, _submit(url, "--private-key", KEY, *image, "--input-file", missing), "cannot read"
    )
    _one_line_error(
        capsys,
        _submit(url, "--key-file", missing, *image, "--input-hex", ""),
        "no such key file",
    )
    _one_line_error(
        capsys,
        _submit(url, "--private-key", KEY, *image, "--input-hex", "", "--max-cycles", "-1"),
        "--max-cycles",
    )
    not_elf = tmp_path / "bad.elf"
    not_elf.write_bytes(b"\x7fELF" + bytes(10))
    _one_line_error(
        capsys, _submit(url, "--private-key", KEY, "--elf", str(not_elf), "--input-hex", ""), "elf"
    )
    _one_line_error(
        capsys, _submit(url, "--private-key", KEY, *image, "--input-hex", ""), "cannot reach"
    )
    _one_line_error(capsys, ["task", "status", "--rpc", url, "0x1234"], "TASK_ID")
    _one_line_error(capsys, ["task", "status", "--rpc", url, "0x" + "00" * 32], "cannot reach")


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def test_deploy_submit_status_on_a_real_node(
    cluster_factory: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cluster = cluster_factory(validators=1)
    cluster.start_all()
    cluster.wait_height(0, 1, timeout=120)
    url = cluster.url(0)
    key = cluster.account_keys[0]
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps({"type": "secp256k1", "private_key": key}))

    # A task for a program the chain does not hold is refused here, with the deploy command.
    elf_task = ["--elf", str(FIB_ELF), "--input-hex", "05000000"]
    _one_line_error(
        capsys, _submit(url, "--key-file", str(key_file), *elf_task), "ivcnet program deploy"
    )

    deploy = ["program", "deploy", "--rpc", url, "--key-file", str(key_file), "--elf", str(FIB_ELF)]
    out = _run(capsys, deploy)
    deploy_tx = out.split("transaction: ")[1].split()[0]
    wait_for(lambda: rpc(url, "eth_getTransactionReceipt", deploy_tx), 60, "deploy committed")
    _one_line_error(capsys, deploy, "already deployed")

    out = _run(
        capsys,
        _submit(
            url,
            "--private-key",
            key,
            "--elf",
            str(FIB_ELF),
            "--input-hex",
            "05000000",
            "--max-cycles",
            "100000",
            "--fee-per-cycle",
            "2",
        ),
    )
    task_id = out.strip()
    assert len(task_id) == 66
    task = wait_for(lambda: rpc(url, "ivc_getTask", task_id), 60, "task committed")
    assert task["status"] == "pending"
    assert task["input"] == "0x05000000"
    assert task["escrow"] == hex(200_000)

    status = json.loads(_run(capsys, ["task", "status", "--rpc", url, "--json", task_id]))
    assert status["taskId"] == task_id
    assert status["status"] == "pending"
    assert "exitCode" not in status
    text = _run(capsys, ["task", "status", "--rpc", url, task_id])
    assert "status: pending" in text

    _one_line_error(capsys, ["task", "status", "--rpc", url, "0x" + "00" * 32], "unknown task")


async def test_status_of_a_proven_task_over_the_fake_chain(
    nursery: trio.Nursery, capsys: pytest.CaptureFixture[str]
) -> None:
    # The devnet has no prover yet: the proven shape is checked against the RPC tests' chain.
    from rpc.conftest import KEYS, FakeChain

    chain = FakeChain()
    image_id = bytes(range(32))
    chain.programs[image_id] = ProgramInfo(
        image_id, b"\x01" * 20, b"\x02" * 32, 10, b"\x03" * 20, 0
    )
    config = RpcConfig(host="127.0.0.1", port=0, client_version="ivcnet/test")
    endpoint: RpcEndpoint = await nursery.start(serve_rpc, config, chain)

    def cli(*argv: str) -> int:
        return main(list(argv))

    submit = _submit(endpoint.url, "--private-key", "0x" + KEYS[0].hex())
    submit += ["--image-id", "0x" + image_id.hex(), "--input-hex", "0x2a"]
    assert await trio.to_thread.run_sync(lambda: cli(*submit)) == 0
    task_id = capsys.readouterr().out.strip()

    status = ["task", "status", "--rpc", endpoint.url, "--json", task_id]
    assert await trio.to_thread.run_sync(lambda: cli(*status)) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "submitted (not yet in a block)"

    chain.commit_block()
    chain.prove_task(bytes.fromhex(task_id[2:]), 0, b"42\n", 99)
    assert await trio.to_thread.run_sync(lambda: cli(*status)) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "proven"
    assert shown["input"] == "0x2a"
    assert shown["outputText"] == "42\n"
    assert shown["cycles"] == hex(99)
    assert shown["exitCode"] == "0x0"
