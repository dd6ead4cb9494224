"""`ivcnet task` and `ivcnet program`: submit compute tasks, read their results, deploy programs.

Everything goes through a node's JSON-RPC endpoint over plain HTTP: the transaction is signed
here (EIP-1559 envelope via eth-account) with the chain id, the pending nonce and the head's
base fee the node reports, so the node never sees a key.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
from genesis import AccountKey, GenesisError, read_key_file, to_checksum_address
from node.cli.errors import CliError

DEFAULT_MAX_CYCLES = 1 << 20
DEFAULT_FEE_PER_CYCLE = 1
RPC_TIMEOUT_S = 30.0


class RpcClient:
    """A minimal JSON-RPC client; every failure becomes one CliError line."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._id = 0

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        body = {"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)}
        try:
            response = httpx.post(self.url, json=body, timeout=RPC_TIMEOUT_S)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {self.url}: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            raise CliError(f"{self.url} answered HTTP {response.status_code}, not JSON") from None
        if not isinstance(answer, dict):
            raise CliError(f"{self.url}: unexpected answer to {method}")
        error = answer.get("error")
        if isinstance(error, dict):
            raise RpcCallError(method, error)
        if "result" not in answer:
            raise CliError(f"{self.url}: answer to {method} has no result")
        return answer["result"]


class RpcCallError(CliError):
    """The node answered with a JSON-RPC error (a rejected transaction, for instance)."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.message = str(error.get("message", "error"))
        data = error.get("data")
        self.reason = data.get("reason") if isinstance(data, dict) else None
        super().__init__(f"{method}: {self.message}")


def _hex_bytes(text: str, what: str, length: int | None = None) -> bytes:
    body = text[2:] if text[:2].lower() == "0x" else text
    try:
        value = bytes.fromhex(body)
    except ValueError:
        raise CliError(f"{what}: not hex: {text!r}") from None
    if length is not None and len(value) != length:
        raise CliError(f"{what}: want {length} bytes, got {len(value)}")
    return value


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror}") from None


def _private_key(args: argparse.Namespace) -> bytes:
    if args.private_key is not None:
        key = _hex_bytes(args.private_key, "--private-key", 32)
    else:
        try:
            loaded = read_key_file(args.key_file)
        except GenesisError as exc:
            raise CliError(str(exc)) from None
        if not isinstance(loaded, AccountKey):
            raise CliError(f"{args.key_file}: not an account (secp256k1) key")
        key = loaded.private_key
    try:
        Account.from_key(key)
    except ValueError:
        raise CliError("the private key is not a valid secp256k1 key") from None
    return key


def _quantity(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise CliError(f"node sent a bad {what}: {value!r}")
    try:
        return int(value, 16)
    except ValueError:
        raise CliError(f"node sent a bad {what}: {value!r}") from None


def send_transaction(
    rpc: RpcClient, key: bytes, to: bytes | None, data: bytes, value: int = 0
) -> bytes:
    """Sign and send one transaction; returns its hash (for a task, the task id)."""
    sender = Account.from_key(key).address
    chain_id = _quantity(rpc.call("eth_chainId"), "chain id")
    nonce = _quantity(rpc.call("eth_getTransactionCount", sender, "pending"), "nonce")
    head = rpc.call("eth_getBlockByNumber", "latest", False)
    if not isinstance(head, dict):
        raise CliError(f"{rpc.url} has no latest block")
    base_fee = _quantity(head.get("baseFeePerGas", "0x0"), "base fee")
    tip = _quantity(rpc.call("eth_maxPriorityFeePerGas"), "priority fee")
    call: dict[str, Any] = {"from": sender, "value": hex(value), "data": "0x" + data.hex()}
    if to is not None:
        call["to"] = "0x" + to.hex()
    gas = _quantity(rpc.call("eth_estimateGas", call), "gas estimate")
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": chain_id,
        "nonce": nonce,
        "maxPriorityFeePerGas": tip,
        "maxFeePerGas": 2 * base_fee + tip,
        "gas": gas,
        "value": value,
        "data": data,
        "accessList": [],
    }
    if to is not None:
        tx["to"] = to_checksum_address(to)
    signed = Account.sign_transaction(tx, key)
    raw = bytes(signed.raw_transaction)
    result = rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
    return _hex_bytes(str(result), "transaction hash", 32)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    task = subparsers.add_parser("task", help="submit compute tasks and read their results")
    tsub = task.add_subparsers(dest="task_command", metavar="SUBCOMMAND", required=True)

    submit = tsub.add_parser("submit", help="sign and send a task submission; prints the task id")
    submit.add_argument("--rpc", required=True, help="node JSON-RPC URL")
    _key_args(submit)
    prog = submit.add_mutually_exclusive_group(required=True)
    prog.add_argument("--elf", type=Path, help="program ELF (its image id is computed here)")
    prog.add_argument("--image-id", help="32-byte image id, hex")
    data = submit.add_mutually_exclusive_group(required=True)
    data.add_argument("--input-hex", help="task input bytes, hex")
    data.add_argument("--input-file", type=Path, help="file holding the task input bytes")
    submit.add_argument("--max-cycles", type=int, default=DEFAULT_MAX_CYCLES)
    submit.add_argument("--fee-per-cycle", type=int, default=DEFAULT_FEE_PER_CYCLE)
    submit.set_defaults(func=run_submit)

    status = tsub.add_parser("status", help="print a task's status and result")
    status.add_argument("--rpc", required=True, help="node JSON-RPC URL")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("task_id", help="the task id (the submitting transaction's hash)")
    status.set_defaults(func=run_status)

    program = subparsers.add_parser("program", help="deploy programs")
    psub = program.add_subparsers(dest="program_command", metavar="SUBCOMMAND", required=True)
    deploy = psub.add_parser("deploy", help="sign and send a program deployment")
    deploy.add_argument("--rpc", required=True, help="node JSON-RPC URL")
    _key_args(deploy)
    deploy.add_argument("--elf", type=Path, required=True, help="program ELF")
    deploy.set_defaults(func=run_deploy)


def _key_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--private-key", help="account private key, 0x-hex")
    group.add_argument("--key-file", type=Path, help="account key file (ivcnet keys new)")


def _image_id_of_elf(elf: bytes, path: Path) -> bytes:
    # Imported here: the zkVM loader pulls numpy/numba, which `task status` does not need.
    from execution.programs import image_id_bytes_of_elf
    from execution.types.errors import InvalidTransaction

    try:
        return image_id_bytes_of_elf(elf)
    except InvalidTransaction as exc:
        raise CliError(f"{path}: {exc}") from None


def run_submit(args: argparse.Namespace) -> int:
    for name in ("max_cycles", "fee_per_cycle"):
        if getattr(args, name) < 0:
            raise CliError(f"--{name.replace('_', '-')} must not be negative")
    key = _private_key(args)
    if args.elf is not None:
        image_id = _image_id_of_elf(_read(args.elf, "ELF"), args.elf)
    else:
        image_id = _hex_bytes(args.image_id, "--image-id", 32)
    if args.input_hex is not None:
        task_input = _hex_bytes(args.input_hex, "--input-hex")
    else:
        task_input = _read(args.input_file, "input file")
    request = TaskRequest(
        image_id=image_id,
        input=task_input,
        max_cycles=args.max_cycles,
        fee_per_cycle=args.fee_per_cycle,
    )
    rpc = RpcClient(args.rpc)
    # The mempool checks a transaction only statically: a task for a program the chain does not
    # hold would be accepted, then dropped by the proposer. Ask first, and say what to do.
    if rpc.call("ivc_getProgram", "0x" + image_id.hex()) is None:
        elf = str(args.elf) if args.elf is not None else "PROGRAM.elf"
        raise CliError(
            f"program 0x{image_id.hex()} is not deployed; deploy it first with: "
            f"ivcnet program deploy --rpc {args.rpc} --key-file KEY --elf {elf}"
        )
    task_id = send_transaction(rpc, key, TASK_SYSTEM_ADDRESS, request.encode())
    print("0x" + task_id.hex())
    return 0


def run_deploy(args: argparse.Namespace) -> int:
    key = _private_key(args)
    elf = _read(args.elf, "ELF")
    image_id = _image_id_of_elf(elf, args.elf)
    rpc = RpcClient(args.rpc)
    deployed = rpc.call("ivc_getProgram", "0x" + image_id.hex())
    if deployed is not None:
        # A second deploy would be dropped by the proposer (program_exists): say so now.
        raise CliError(
            f"program 0x{image_id.hex()} is already deployed (block "
            f"{_quantity(deployed.get('deployedHeight'), 'height')})"
        )
    tx_hash = send_transaction(rpc, key, None, elf)
    print(f"image_id: 0x{image_id.hex()}")
    print(f"transaction: 0x{tx_hash.hex()}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    task_id = _hex_bytes(args.task_id, "TASK_ID", 32)
    rpc = RpcClient(args.rpc)
    hex_id = "0x" + task_id.hex()
    task = rpc.call("ivc_getTask", hex_id)
    if task is None:
        if rpc.call("eth_getTransactionByHash", hex_id) is not None:
            status: dict[str, Any] = {"taskId": hex_id, "status": "submitted (not yet in a block)"}
        else:
            raise CliError(f"unknown task {hex_id}")
    else:
        result = rpc.call("ivc_getTaskResult", hex_id) or {}
        status = {**task, **{k: v for k, v in result.items() if v is not None}}
    if args.json:
        print(json.dumps(status))
    else:
        for name, value in status.items():
            print(f"{name}: {value}")
    return 0
