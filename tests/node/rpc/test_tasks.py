"""`ivc_getTask` / `ivc_getTaskResult` over the real server and the FakeChain's task records."""

from __future__ import annotations

from typing import Any

from eth_account import Account

from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
from genesis import to_checksum_address
from node.rpc import ProgramInfo

from .conftest import BASE_FEE, CHAIN_ID, KEYS, PROVER, TASK_DEADLINE_BLOCKS, TIP

IMAGE_ID = bytes(range(32))


async def submit_task(rpc: Any, task_input: bytes = b"\x01\x02") -> str:
    request = TaskRequest(image_id=IMAGE_ID, input=task_input, max_cycles=1000, fee_per_cycle=3)
    tx = {
        "type": 2,
        "chainId": CHAIN_ID,
        "nonce": 0,
        "maxPriorityFeePerGas": TIP,
        "maxFeePerGas": 2 * BASE_FEE + TIP,
        "gas": 100_000,
        "to": to_checksum_address(TASK_SYSTEM_ADDRESS),
        "value": 0,
        "data": request.encode(),
    }
    raw = bytes(Account.sign_transaction(tx, KEYS[0]).raw_transaction)
    task_id: str = await rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
    return task_id


async def test_unknown_task_is_null(rpc: Any) -> None:
    assert await rpc.call("ivc_getTask", "0x" + "00" * 32) is None
    assert await rpc.call("ivc_getTaskResult", "0x" + "00" * 32) is None


async def test_pending_task_record_and_empty_result(rpc: Any) -> None:
    task_id = await submit_task(rpc)
    assert await rpc.call("ivc_getTask", task_id) is None  # only in the mempool yet
    rpc.chain.commit_block()
    task = await rpc.call("ivc_getTask", task_id)
    assert task == {
        "taskId": task_id,
        "imageId": "0x" + IMAGE_ID.hex(),
        "submitter": Account.from_key(KEYS[0]).address.lower(),
        "input": "0x0102",
        "maxCycles": hex(1000),
        "feePerCycle": "0x3",
        "escrow": hex(3000),
        "status": "pending",
        "submittedHeight": "0x1",
        "deadlineHeight": hex(1 + TASK_DEADLINE_BLOCKS),
    }
    result = await rpc.call("ivc_getTaskResult", task_id)
    assert result == {
        "taskId": task_id,
        "status": "pending",
        "exitCode": None,
        "output": None,
        "outputText": None,
        "cycles": None,
        "prover": None,
    }


async def test_proven_result(rpc: Any) -> None:
    task_id = await submit_task(rpc)
    rpc.chain.commit_block()
    rpc.chain.prove_task(bytes.fromhex(task_id[2:]), 0, b"hello\n", 1234)
    result = await rpc.call("ivc_getTaskResult", task_id)
    assert result["status"] == "proven"
    assert result["exitCode"] == "0x0"
    assert result["output"] == "0x" + b"hello\n".hex()
    assert result["outputText"] == "hello\n"
    assert result["cycles"] == hex(1234)
    assert result["prover"] == "0x" + PROVER.hex()
    assert (await rpc.call("ivc_getTask", task_id))["status"] == "proven"


async def test_binary_output_has_no_text(rpc: Any) -> None:
    task_id = await submit_task(rpc)
    rpc.chain.commit_block()
    rpc.chain.prove_task(bytes.fromhex(task_id[2:]), 3, b"\xff\x00", 7)
    result = await rpc.call("ivc_getTaskResult", task_id)
    assert result["outputText"] is None
    assert result["output"] == "0xff00"
    assert result["exitCode"] == "0x3"


async def test_bad_task_id_is_invalid_params(rpc: Any) -> None:
    for method in ("ivc_getTask", "ivc_getTaskResult"):
        for bad in ("0x1234", "nothex", 5):
            error = await rpc.error(method, bad)
            assert error["code"] == -32602
            assert "taskId" in error["message"]
        error = await rpc.error(method)
        assert error["code"] == -32602
    await rpc.assert_up()


async def test_get_program(rpc: Any) -> None:
    assert await rpc.call("ivc_getProgram", "0x" + IMAGE_ID.hex()) is None
    rpc.chain.programs[IMAGE_ID] = ProgramInfo(
        image_id=IMAGE_ID,
        address=b"\x07" * 20,
        elf_hash=b"\x08" * 32,
        elf_size=4096,
        deployer=b"\x09" * 20,
        height=3,
    )
    assert await rpc.call("ivc_getProgram", "0x" + IMAGE_ID.hex()) == {
        "imageId": "0x" + IMAGE_ID.hex(),
        "address": "0x" + "07" * 20,
        "elfHash": "0x" + "08" * 32,
        "elfSize": hex(4096),
        "deployer": "0x" + "09" * 20,
        "deployedHeight": "0x3",
    }
    error = await rpc.error("ivc_getProgram", "0x00")
    assert error["code"] == -32602 and "imageId" in error["message"]
