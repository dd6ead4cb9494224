"""The proving network end to end, real processes on loopback: 4 validators and prover nodes
(`--prover`), tasks from several accounts, every task proven with the executor's result, every
task block's Universal Proofs verified by `ivcnet verify-block`, one state root everywhere; and
a proposer that tampers with the Universal Proofs it proposes has those blocks rejected.

Programs: the example guests sha256 (input: one byte, output: its digest) and fibonacci
(input: n as u32, output: fib(n)), alternating; every task has its own input, so its own proof."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from node_cluster import Cluster, free_ports, log_events, rpc, try_rpc, wait_for

from execution.programs import image_id_bytes_of_elf
from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
from execution.zkvm import execute, load_elf
from execution.zkvm.examples import example_elf
from genesis import Genesis
from node.aggregator import TAMPER_ENV
from node.cli.task_cmd import RpcClient, send_transaction
from node.cli.verify_block_cmd import verify_block
from node.devnet import DevnetNode, prepare_provers, prover_command

# Many node processes each: run one such test at a time (make test-slow runs the tests with this
# marker in a pass of their own, without xdist),
# so two multi-process networks never share the two cores.
pytestmark = pytest.mark.xdist_group("node-processes")

PROVE_TIMEOUT = 900.0
# A shared 2-core machine under load: node processes import, load numba kernels and verify
# proofs slowly, so the waits are generous (they bound a failure, not the expected time).
SLOW_WAIT = 300.0
# Blocks every second (not FAST_TIMINGS' 0.3 s): six node processes and the proving workers
# share two cores, and a block bringing proofs takes each validator about 0.5 s to check.
TIMINGS = ["--block-interval", "1.0", "--timeout-propose", "3.0"]
TIMINGS += ["--timeout-prevote", "1.0", "--timeout-precommit", "1.0"]


GUESTS = ("sha256", "fibonacci")


def _program(i: int = 0) -> bytes:
    """Task i's program."""
    return example_elf(GUESTS[i % len(GUESTS)]).read_bytes()


def _input(i: int) -> bytes:
    """Task i's input."""
    return bytes([i]) if GUESTS[i % len(GUESTS)] == "sha256" else (i + 3).to_bytes(4, "little")


@pytest.fixture(scope="module", autouse=True)
def warm_kernels() -> None:
    """Prove and verify once here, so that numba's disk cache holds every kernel before the
    node processes start (six processes compiling at once would stall consensus for minutes)."""
    from execution.zkproof import prove, verify

    for i in range(len(GUESTS)):
        elf = _program(i)
        proof = prove(elf, _input(i), "conjectured").to_bytes()
        verify(proof, image_id_bytes_of_elf(elf), profile="conjectured")


def relax_params(cluster: Cluster, powers: list[int] | None = None) -> None:
    """Before any node starts: deadlines that a loaded 2-core machine can meet. A sample proof
    takes one prover 10-40 s there while blocks come every 1-3 s, so the default 100-block task
    deadline could expire tasks still queued at a prover, and the 10-block prover timeout would
    have every prover redo every task. `powers` (one per validator, node i first) replaces the
    genesis voting powers."""
    genesis = Genesis.load(cluster.root / "genesis.json", verify_keys=False)
    # the unbonding period must cover deadline + proof evidence age (genesis validation)
    params = replace(
        genesis.params,
        task_deadline_blocks=3000,
        prover_timeout_blocks=60,
        unbonding_period_blocks=3100,
    )
    relaxed = replace(genesis, params=params)
    if powers is not None:
        validators = {v.name: v for v in relaxed.validators}
        weighted = tuple(replace(validators[f"node{i}"], power=p) for i, p in enumerate(powers))
        relaxed = replace(relaxed, validators=weighted)
    relaxed.write(cluster.root / "genesis.json")
    for node in cluster.nodes:
        relaxed.write(node.home / "genesis.json")


def start_provers(cluster: Cluster, count: int) -> list[DevnetNode]:
    """Prover nodes (full nodes with --prover, one worker each) peered with every validator."""
    provers = prepare_provers(cluster.root, count, len(cluster.nodes), 0, 0)
    ports = free_ports(2 * count)
    nodes = []
    for j, prover in enumerate(provers):
        node = replace(prover.node, rpc_port=ports[2 * j], p2p_port=ports[2 * j + 1])
        extra = [*cluster.timings, "--prover-workers", "1"]
        argv = prover_command(replace(prover, node=node), cluster.nodes, extra)
        cluster.extra.append(cluster._spawn(argv, node.home))
        nodes.append(node)
    return nodes


def deploy_guests(url: str, keys: list[str]) -> None:
    client = RpcClient(url)
    for i in range(len(GUESTS)):
        elf = _program(i)
        image = "0x" + image_id_bytes_of_elf(elf).hex()
        send_transaction(client, bytes.fromhex(keys[0][2:]), None, elf)
        wait_for(lambda image=image: try_rpc(url, "ivc_getProgram", image), SLOW_WAIT, "deploy")


def submit_tasks(url: str, keys: list[str], count: int, first: int = 0) -> list[bytes]:
    """Deploy the guests (for a first batch) and submit tasks `first`..`first + count - 1`
    round-robin from `keys` (task i: `_program(i)` on `_input(i)`)."""
    client = RpcClient(url)
    if first == 0:
        deploy_guests(url, keys)
    ids = []
    for i in range(first, first + count):
        request = TaskRequest(image_id_bytes_of_elf(_program(i)), _input(i), 100_000, 1)
        key = bytes.fromhex(keys[i % len(keys)][2:])
        ids.append(send_transaction(client, key, TASK_SYSTEM_ADDRESS, request.encode()))
    return ids


def wait_all_proven(url: str, ids: list[bytes], timeout: float) -> list[dict[str, Any]]:
    def results() -> list[dict[str, Any]] | None:
        out = [try_rpc(url, "ivc_getTaskResult", "0x" + t.hex()) for t in ids]
        if all(r is not None and r["status"] == "proven" for r in out):
            return out  # type: ignore[return-value]
        return None

    found: list[dict[str, Any]] = wait_for(results, timeout, f"{len(ids)} tasks proven", 2.0)
    return found


def check_network(cluster: Cluster, provers: list[DevnetNode], ids: list[bytes]) -> None:
    url = cluster.url(0)
    results = wait_all_proven(url, ids, PROVE_TIMEOUT)
    for i, result in enumerate(results):
        expected = execute(load_elf(_program(i)), _input(i))
        assert int(result["exitCode"], 16) == expected.exit_code
        assert result["output"] == "0x" + expected.output.hex()
        assert int(result["cycles"], 16) == expected.cycles
    # Every block that held a task: its Universal Proofs verify here, and name every task.
    heights = {int(rpc(url, "ivc_getTask", "0x" + t.hex())["submittedHeight"], 16) for t in ids}
    verified = 0
    for height in sorted(heights):
        checked = verify_block(RpcClient(url), str(height))
        assert not checked.pending and not checked.expired
        verified += len(checked.results)
    assert verified == len(ids)
    # One state root on every node (validators and provers) at a height all have.
    urls = [n.rpc_url for n in cluster.nodes] + [p.rpc_url for p in provers]
    height = int(rpc(url, "eth_blockNumber"), 16)
    for u in urls:
        try:
            wait_for(
                lambda u=u: int(try_rpc(u, "eth_blockNumber") or "0x0", 16) >= height,
                SLOW_WAIT,
                u,
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{diagnose(cluster, provers)}") from None
    roots = {rpc(u, "eth_getBlockByNumber", hex(height), False)["stateRoot"] for u in urls}
    assert len(roots) == 1
    assert int(rpc(url, "ivc_status")["provenBlockNumber"], 16) >= max(heights)
    provers_seen = rpc(url, "ivc_provers")["provers"]
    assert sum(int(p["provenTasks"], 16) for p in provers_seen) == len(ids)


STALL_EVENTS = (
    "follow_stalled",
    "follow_resumed",
    "loop_blocked",
    "loop_unblocked",
    "sync_no_heads",
    "sync_start",
    "sync_failed",
    "sync_done",
)


def diagnose(cluster: Cluster, provers: list[DevnetNode]) -> str:
    """Where each node is and why (node/watchdog.py events, the last commit, process state),
    for a failure message: a node that stopped following logs where it waits."""
    procs = {n.home: cluster.procs.get(n.index) for n in cluster.nodes}
    procs.update({p.home: proc for p, proc in zip(provers, cluster.extra, strict=False)})
    lines = []
    for node in [*cluster.nodes, *provers]:
        proc = procs.get(node.home)
        status = "?" if proc is None else ("running" if proc.poll() is None else proc.returncode)
        commits = log_events(node.home, "commit")
        last = commits[-1] if commits else {}
        lines.append(
            f"{node.home.name}: rpc height {try_rpc(node.rpc_url, 'eth_blockNumber')}, process "
            f"{status}, last commit {last.get('height')} ({last.get('source')}) at {last.get('ts')}"
        )
        stalls = sorted(
            (e for name in STALL_EVENTS for e in log_events(node.home, name)),
            key=lambda e: float(e.get("ts", 0)),
        )
        lines += [f"    {e}" for e in stalls[-6:]]
        out = node.home / "data" / "stdout.log"
        if out.exists():
            lines += [f"    | {t}" for t in out.read_text(errors="replace").splitlines()[-5:]]
    return "\n".join(lines)


def _run(cluster: Cluster, tasks: int, provers: int) -> None:
    relax_params(cluster)
    cluster.start_all()
    prover_nodes = start_provers(cluster, provers)
    cluster.wait_height(0, 2, SLOW_WAIT)
    ids = submit_tasks(cluster.url(0), cluster.account_keys, tasks)
    check_network(cluster, prover_nodes, ids)


@pytest.mark.slow
@pytest.mark.parametrize(("tasks", "provers"), [(2, 1), (4, 2)])
def test_tasks_from_several_accounts_become_proven(
    cluster_factory: Any, tasks: int, provers: int
) -> None:
    _run(cluster_factory(4, TIMINGS), tasks=tasks, provers=provers)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_issue_scenario_20_tasks_3_provers(cluster_factory: Any) -> None:
    """Issue 7's acceptance scenario. Passed in 263 s at load 3-8 (2026-11-28 03:00, 22 proofs
    for 20 tasks); at load 25-36 (other jobs on the 2 cores) it failed last session: it needs
    the serial pass of `make test-slow`, where no other network runs."""
    _run(cluster_factory(4, TIMINGS), tasks=20, provers=3)


@pytest.mark.slow
def test_proposer_with_tampered_universal_proofs_is_rejected(
    cluster_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Node 0 tampers with every Universal Proof it proposes. It holds 5 of 8 voting powers, so
    it proposes about 5 rounds in 8 (a proof's first proposer is node 0 with odds near 5/8,
    where equal powers gave 1/4 and one CI run saw node 0 never propose one), yet less than
    2/3, so its own prevote cannot commit a tampered block. Tasks are sent one at a time, each
    proven before the next, until node 0 has proposed a tampered proof (at most 8 tasks)."""
    cluster = cluster_factory(4, TIMINGS)
    relax_params(cluster, powers=[5, 1, 1, 1])
    monkeypatch.setenv(TAMPER_ENV, "1")
    cluster.start(0)  # the environment is inherited by this process only
    monkeypatch.delenv(TAMPER_ENV)
    for i in range(1, 4):
        cluster.start(i)
    prover_nodes = start_provers(cluster, 1)
    cluster.wait_height(1, 2, SLOW_WAIT)
    bad_proposer = bytes.fromhex(rpc(cluster.url(0), "ivc_status")["validatorAddress"][2:])

    def tampered_proposals() -> int:
        built = cluster.log_events(cluster.nodes[0].home, "proposal_built")
        return sum(1 for e in built if e.get("universal_proofs", 0) > 0)

    ids: list[bytes] = []
    while not tampered_proposals() and len(ids) < 8:
        ids += submit_tasks(cluster.url(1), cluster.account_keys, 1, first=len(ids))
        wait_all_proven(cluster.url(1), ids[-1:], PROVE_TIMEOUT)
    check_network(cluster, prover_nodes, ids)

    # Node 0 did propose tampered Universal Proofs, and the others refused them.
    assert tampered_proposals() > 0, f"node 0 proposed no Universal Proof in {len(ids)} tasks"
    refused = [
        e
        for n in cluster.nodes[1:]
        for e in cluster.log_events(n.home, "proposal_invalid")
        if "invalid_universal_proof" in str(e.get("reason"))
    ]
    assert refused, "no validator refused a tampered proposal"
    # No committed block that brought a Universal Proof was node 0's.
    url = cluster.url(1)
    heights = {int(rpc(url, "ivc_getTask", "0x" + t.hex())["submittedHeight"], 16) for t in ids}
    for height in heights:
        for up in rpc(url, "ivc_getUniversalProof", hex(height), False)["universalProofs"]:
            block = rpc(url, "eth_getBlockByNumber", up["includedInBlockNumber"], False)
            assert bytes.fromhex(block["miner"][2:]) != bad_proposer
