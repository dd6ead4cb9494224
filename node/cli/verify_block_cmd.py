"""`ivcnet verify-block --rpc URL HEIGHT`: check a block's Universal Proofs here, not on trust.

It fetches the Universal Proofs that answered the tasks of block HEIGHT
(ivc_getUniversalProof), the block's hash (eth_getBlockByNumber) and each answered task's
record (ivc_getTask), then runs the same verification a validator runs:
- v0: every task proof against the task's image id, input digest and cycle budget under the
  chain's proof profile, and the tree root against the root the including block's header
  records;
- v1 (one recursion root, told apart by its tag): the statements' outer checks against each
  task's record and its deployed program (the ELF from the deploy transaction, checked against
  the program's ELF hash: ivc_getProgram, eth_getBlockByNumber with transactions), the root
  program's control id and its STARK proof, which must expose the commitment to exactly the
  carried statements (execution/universal/accept_v1.py, `verify_v1_leaves`), and the
  block-naming root against the header's. The first v1 root of a shape records and keys its
  recursion programs here (about a minute; progress on stderr).
It prints one line per task (id, exit code, output, cycles, prover) and checks that the node
reports the very results the proofs establish. Exit status 0 if everything verifies, else 1
with one `error:` line. What it trusts the node for: the block hash, the task records, the
deploy block's transactions and the header's root (a light client would check those against the
commit certificates). The genesis allow-list of lift shapes is not checked here: it bounds a
validator's work, while soundness comes from the root's control id, which is recomputed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from execution.state import Task, TaskStatus
from execution.types.hashing import keccak256
from execution.universal import InvalidUniversalProof, TaskResult, UniversalProof
from execution.universal.version import is_v1
from node.cli.errors import CliError
from node.cli.task_cmd import RpcClient

if TYPE_CHECKING:
    from execution.zkvm.program import Program


@dataclass(frozen=True)
class VerifiedBlock:
    height: int
    results: list[TaskResult]
    pending: list[bytes]
    expired: list[bytes]
    seconds: float


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "verify-block",
        help="verify a block's Universal Proofs locally",
        description="Fetch the Universal Proofs that answered the tasks of block HEIGHT and the "
        "task records over JSON-RPC, verify them here, and print each task's result. "
        "Exit status 0 if all verify.",
    )
    p.add_argument("--rpc", required=True, help="node JSON-RPC URL")
    p.add_argument(
        "--profile",
        default=None,
        help="proof profile to verify under (default: the one the node reports for its chain)",
    )
    p.add_argument("height", help="block number (decimal or 0x hex) or a tag such as proven")
    p.set_defaults(func=run_verify_block)


def _block_param(text: str) -> str:
    if text.isdigit():
        return hex(int(text))
    if text[:2].lower() == "0x" or text.isalpha():
        return text
    raise CliError(f"HEIGHT: not a block number or tag: {text!r}")


def _hex(value: Any, what: str) -> bytes:
    if not isinstance(value, str) or value[:2] != "0x":
        raise CliError(f"node answered a malformed {what}")
    try:
        return bytes.fromhex(value[2:])
    except ValueError:
        raise CliError(f"node answered a malformed {what}") from None


def _int(value: Any, what: str) -> int:
    if not isinstance(value, str) or value[:2] != "0x":
        raise CliError(f"node answered a malformed {what}")
    try:
        return int(value, 16)
    except ValueError:
        raise CliError(f"node answered a malformed {what}") from None


def _task_before_acceptance(record: Any, task_id: bytes) -> Task:
    """The task record as the state held it before a Universal Proof answered it (pending);
    the node reports it as it is now (proven)."""
    if not isinstance(record, dict):
        raise CliError(f"task {task_id.hex()}: the node does not know it")
    if _hex(record.get("taskId"), "task id") != task_id:
        raise CliError(f"task {task_id.hex()}: the node answered another task")
    return Task(
        task_id=task_id,
        image_id=_hex(record.get("imageId"), "image id"),
        submitter=_hex(record.get("submitter"), "submitter"),
        input=_hex(record.get("input"), "task input"),
        max_cycles=_int(record.get("maxCycles"), "max cycles"),
        fee_per_cycle=_int(record.get("feePerCycle"), "fee per cycle"),
        escrow=_int(record.get("escrow"), "escrow"),
        status=TaskStatus.PENDING,
        submitted_height=_int(record.get("submittedHeight"), "submitted height"),
        deadline_height=_int(record.get("deadlineHeight"), "deadline height"),
    )


def verify_block(
    rpc: RpcClient,
    height: str,
    profile: str | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> VerifiedBlock:
    """Fetch and verify; raise CliError naming the first thing that does not hold. `say`
    reports long steps (recording a v1 root's programs)."""
    answer = rpc.call("ivc_getUniversalProof", _block_param(height), True)
    if answer is None:
        raise CliError(f"block {height}: not found (above the head?)")
    if not isinstance(answer, dict) or not isinstance(answer.get("universalProofs"), list):
        raise CliError("node answered a malformed ivc_getUniversalProof")
    number = _int(answer.get("blockNumber"), "block number")
    block_hash = _hex(answer.get("blockHash"), "block hash")
    block = rpc.call("eth_getBlockByNumber", hex(number), False)
    if not isinstance(block, dict) or _hex(block.get("hash"), "block hash") != block_hash:
        raise CliError(f"block {number}: the node reports two different hashes for it")
    chosen = profile or answer.get("profile")
    if not isinstance(chosen, str):
        raise CliError("node answered no proof profile; pass --profile")
    statuses: dict[bytes, str] = {}
    listed = answer.get("tasks", [])
    # A node's answer is untrusted: a wrong shape is one error line, not a traceback.
    if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
        raise CliError("node answered a malformed task list")
    if not all(isinstance(i, dict) for i in answer["universalProofs"]):
        raise CliError("node answered a malformed Universal Proof entry")
    for item in listed:
        statuses[_hex(item.get("taskId"), "task id")] = str(item.get("status"))

    started = time.perf_counter()
    results: list[TaskResult] = []
    for n, item in enumerate(answer["universalProofs"]):
        where = f"Universal Proof #{n} (in block {item.get('includedInBlockNumber')})"
        raw = _hex(item.get("proof"), "proof")
        if is_v1(raw):
            root, answered = _verify_v1(rpc, raw, number, block_hash, chosen, where, say)
            if root != _hex(item.get("root"), "root"):
                raise CliError(
                    f"{where}: its root is not the one the including block's header names"
                )
            results.extend(answered)
            continue
        try:
            up = UniversalProof.decode(raw)
        except InvalidUniversalProof as exc:
            raise CliError(f"{where}: {exc}") from None
        if up.block_height != number or up.block_hash != block_hash:
            raise CliError(f"{where}: names block {up.block_height}, not {number}")
        tasks = [
            _task_before_acceptance(
                rpc.call("ivc_getTask", "0x" + leaf.task_id.hex()), leaf.task_id
            )
            for leaf in up.leaves
        ]
        try:
            root, answered = up.verify(tasks, chosen)
        except InvalidUniversalProof as exc:
            raise CliError(f"{where}: {exc}") from None
        if root != _hex(item.get("root"), "root"):
            raise CliError(f"{where}: its root is not the one the including block's header names")
        results.extend(answered)
    seconds = time.perf_counter() - started

    seen: set[bytes] = set()
    for result in results:
        if result.task_id in seen:
            raise CliError(f"task {result.task_id.hex()}: answered by two Universal Proofs")
        seen.add(result.task_id)
        _check_reported(rpc, result)
    pending = [t for t, s in statuses.items() if s == "pending"]
    expired = [t for t, s in statuses.items() if s == "expired"]
    unanswered = [t for t, s in statuses.items() if s == "proven" and t not in seen]
    if unanswered:
        raise CliError(f"task {unanswered[0].hex()}: proven, but no Universal Proof answers it")
    return VerifiedBlock(number, results, pending, expired, seconds)


def _verify_v1(
    rpc: RpcClient,
    raw: bytes,
    number: int,
    block_hash: bytes,
    profile_name: str,
    where: str,
    say: Callable[[str], None],
) -> tuple[bytes, list[TaskResult]]:
    """A v1 root: the block binding, then consensus's own leaf and root rules."""
    from execution.stark.params import ParamsError, profile
    from execution.universal.accept_v1 import verify_v1_leaves
    from execution.universal.proof_v1 import UniversalProofV1

    try:
        up = UniversalProofV1.decode(raw)
        fri = profile(profile_name)
    except (InvalidUniversalProof, ParamsError) as exc:
        raise CliError(f"{where}: {exc}") from None
    if up.block_height != number or up.block_hash != block_hash:
        raise CliError(f"{where}: names block {up.block_height}, not {number}")
    if len({leaf.task_id for leaf in up.leaves}) != len(up.leaves):
        raise CliError(f"{where}: a task is answered twice")
    tasks = []
    for leaf in up.leaves:
        task = _task_before_acceptance(
            rpc.call("ivc_getTask", "0x" + leaf.task_id.hex()), leaf.task_id
        )
        if task.submitted_height != number:
            raise CliError(f"{where}: task {leaf.task_id.hex()} was submitted in another block")
        tasks.append(task)
    programs: dict[bytes, Program] = {}

    def program_of(i: int, leaf: object, task: Task) -> Program:
        if task.image_id not in programs:
            programs[task.image_id] = _deployed_program(rpc, task.image_id)
        return programs[task.image_id]

    shapes = {leaf.shape for leaf in up.leaves}
    say(
        f"{where}: verifying a v1 root over {len(up.leaves)} tasks (the first of a shape "
        "records and keys its recursion programs: about a minute)"
    )
    try:
        root, pairs = verify_v1_leaves(up, tasks, shapes, fri, program_of)
    except InvalidUniversalProof as exc:
        raise CliError(f"{where}: {exc}") from None
    return root, [result for _, result in pairs]


def _deployed_program(rpc: RpcClient, image_id: bytes) -> Program:
    """A deployed program, from the ELF its deploy transaction carries (checked against the
    ELF hash the node reports; the image id is checked against the statement's later)."""
    from execution.zkvm import ZkvmError, load_elf

    what = f"program {image_id.hex()[:16]}"
    record = rpc.call("ivc_getProgram", "0x" + image_id.hex())
    if not isinstance(record, dict):
        raise CliError(f"{what}: the node does not know it")
    elf_hash = _hex(record.get("elfHash"), "ELF hash")
    height = _int(record.get("deployedHeight"), "deploy height")
    block = rpc.call("eth_getBlockByNumber", hex(height), True)
    txs = block.get("transactions") if isinstance(block, dict) else None
    if not isinstance(txs, list):
        raise CliError(f"{what}: node answered a malformed deploy block")
    for tx in txs:
        if not isinstance(tx, dict) or not isinstance(tx.get("input"), str):
            raise CliError(f"{what}: node answered a malformed deploy block")
        elf = _hex(tx["input"], "transaction input")
        if keccak256(elf) == elf_hash:
            try:
                return load_elf(elf)
            except ZkvmError as exc:
                raise CliError(f"{what}: the deployed ELF does not load: {exc}") from None
    raise CliError(f"{what}: its deploy transaction is not in block {height}")


def _check_reported(rpc: RpcClient, result: TaskResult) -> None:
    """The node's result for the task must be what the proof establishes."""
    reported = rpc.call("ivc_getTaskResult", "0x" + result.task_id.hex())
    what = f"task {result.task_id.hex()}"
    if not isinstance(reported, dict) or reported.get("status") != "proven":
        raise CliError(f"{what}: the proof verifies but the node does not report it proven")
    if (
        _int(reported.get("exitCode"), "exit code") != result.exit_code
        or _hex(reported.get("output"), "output") != result.output
        or _int(reported.get("cycles"), "cycles") != result.cycles
        or _hex(reported.get("prover"), "prover") != result.prover
    ):
        raise CliError(f"{what}: the node reports another result than the proof establishes")


def _show_output(output: bytes) -> str:
    try:
        text = output.decode("utf-8")
        if text.isprintable():
            return repr(text)
    except UnicodeDecodeError:
        pass
    return "0x" + output.hex()


def run_verify_block(args: argparse.Namespace) -> int:
    checked = verify_block(
        RpcClient(args.rpc),
        args.height,
        args.profile,
        lambda msg: print(msg, file=sys.stderr, flush=True),
    )
    for r in checked.results:
        print(
            f"task 0x{r.task_id.hex()}  exit {r.exit_code}  output {_show_output(r.output)}  "
            f"cycles {r.cycles}  prover 0x{r.prover.hex()}"
        )
    for task_id in checked.pending:
        print(f"task 0x{task_id.hex()}  pending (no Universal Proof yet)")
    for task_id in checked.expired:
        print(f"task 0x{task_id.hex()}  expired (never proven; fee refunded)")
    print(
        f"block {checked.height}: {len(checked.results)} task proofs verified "
        f"in {checked.seconds:.2f} s"
    )
    return 0
