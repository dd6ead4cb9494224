"""ivc_getUniversalProof, ivc_provers, the `proven` tag and `ivcnet verify-block`, served by
the real RPC server over a real chain whose block 2's tasks were answered by two Universal
Proofs in two later blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import trio
from chain_helpers import CHAIN_ID, account_keys, make_genesis, validator_key

from execution.chain import Chain
from execution.programs import image_id_bytes_of_elf
from execution.types import Block, TaskRequest, Transaction
from execution.types.transaction import TASK_SYSTEM_ADDRESS
from execution.universal import ProofLeaf, UniversalProof
from execution.zkproof import prove
from execution.zkproof.samples import fib_loop_program, fib_loop_result, program_elf
from genesis import GWEI
from node.chain_view import NodeChainView
from node.cli.main import main
from node.rpc import RpcConfig, open_rpc_server
from node.rpc.methods_universal import UniversalProofInfo, proven_tag, universal_methods
from node.universal_index import NodeUniversalView

ALICE, BOB = account_keys(2)
PROVERS = (b"\x71" * 20, b"\x72" * 20)
ELF = program_elf(fib_loop_program(5))
FEE_PER_CYCLE = 1000


ProofFor = Callable[[bytes, bytes], bytes]


@pytest.fixture(scope="module")
def proof_for() -> ProofFor:
    """`proof_for(task_id, prover)`: a task proof binds the task it answers and the prover it
    pays; made once per module (task ids are transaction hashes, the same in every test)."""
    made: dict[tuple[bytes, bytes], bytes] = {}

    def make(task_id: bytes, prover: bytes) -> bytes:
        if (task_id, prover) not in made:
            proof = prove(ELF, b"", "conjectured", prover=prover, task_id=task_id)
            made[task_id, prover] = proof.to_bytes()
        return made[task_id, prover]

    return make


def _tx(key, nonce: int, to: bytes, data: bytes, gas: int) -> bytes:  # type: ignore[no-untyped-def]
    return Transaction(CHAIN_ID, nonce, GWEI, 3 * GWEI, gas, to, 0, data).sign(key.private_key).raw


def _commit(chain: Chain, txs: Sequence[bytes] = (), proofs: tuple[bytes, ...] = ()) -> Block:
    block = chain.build_block(
        list(txs),
        validator_key()[0].address,
        chain.head.header.time_ms + 1000,
        universal_proofs=proofs,
    )
    chain.commit_block(block)
    return block


@pytest.fixture
def chain(tmp_path: Path, proof_for: ProofFor) -> Iterator[tuple[Chain, list[bytes]]]:
    """Block 1 deploys, block 2 holds 3 tasks (Alice, Bob, Bob), block 3 answers two of them,
    block 4 the third; block 5 holds a task nobody answers."""
    c = Chain.open(tmp_path / "c", make_genesis())
    _commit(c, [_tx(ALICE, 0, b"", ELF, 50_000_000)])
    request = TaskRequest(image_id_bytes_of_elf(ELF), b"", 10_000, FEE_PER_CYCLE).encode()
    task_block = _commit(
        c,
        [
            _tx(ALICE, 1, TASK_SYSTEM_ADDRESS, request, 100_000),
            _tx(BOB, 0, TASK_SYSTEM_ADDRESS, request, 100_000),
            _tx(BOB, 1, TASK_SYSTEM_ADDRESS, request, 100_000),
        ],
    )
    receipts = c.receipts(task_block.hash)
    assert receipts is not None
    ids = [r.created for r in receipts]
    leaves = [ProofLeaf(t, PROVERS[i % 2], proof_for(t, PROVERS[i % 2])) for i, t in enumerate(ids)]
    _commit(c, proofs=(UniversalProof(2, task_block.hash, tuple(leaves[:2])).encode(),))
    _commit(c, proofs=(UniversalProof(2, task_block.hash, (leaves[2],)).encode(),))
    _commit(c, [_tx(ALICE, 2, TASK_SYSTEM_ADDRESS, request, 100_000)])
    yield c, ids
    c.close()


def _holder(c: Chain) -> SimpleNamespace:
    """The parts of a Node that NodeChainView and NodeUniversalView read, without p2p."""
    return SimpleNamespace(
        chain=c,
        p2p=None,
        config=SimpleNamespace(moniker="t"),
        validator_address=None,
        sync=SimpleNamespace(highest_seen=c.height, starting_height=0),
    )


class Served:
    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http

    async def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
        answer = (await self.http.post(self.url, json=body)).json()
        assert "error" not in answer, answer
        return answer["result"]


def _config(view: NodeUniversalView) -> RpcConfig:
    return RpcConfig(
        port=0,
        extra_methods=universal_methods(view),
        extra_block_tags={"proven": proven_tag(view)},
    )


async def test_universal_proof_provers_and_proven_tag(chain: tuple[Chain, list[bytes]]) -> None:
    c, ids = chain
    holder = _holder(c)
    view = NodeUniversalView(holder)  # type: ignore[arg-type]
    async with (
        open_rpc_server(_config(view), NodeChainView(holder)) as endpoint,  # type: ignore[arg-type]
        httpx.AsyncClient() as http,
    ):
        rpc = Served(endpoint.url, http)
        got = await rpc.call("ivc_getUniversalProof", "0x2")
        assert got["blockHash"] == "0x" + c.block_at(2).hash.hex()  # type: ignore[union-attr]
        assert got["profile"] == "conjectured"
        assert [t["status"] for t in got["tasks"]] == ["proven"] * 3
        assert got["pendingTasks"] == "0x0"
        ups = got["universalProofs"]
        assert [u["includedInBlockNumber"] for u in ups] == ["0x3", "0x4"]
        for u, included in zip(ups, (3, 4), strict=True):
            header = c.block_at(included).header  # type: ignore[union-attr]
            assert u["root"] == "0x" + header.universal_proofs[0].digest.hex()
            assert UniversalProof.decode(bytes.fromhex(u["proof"][2:])).block_height == 2
        assert [x["taskId"] for u in ups for x in u["leaves"]] == ["0x" + t.hex() for t in ids]
        assert ups[0]["provers"] == ["0x" + p.hex() for p in PROVERS]
        lean = await rpc.call("ivc_getUniversalProof", "0x2", False)
        assert "proof" not in lean["universalProofs"][0]
        assert (await rpc.call("ivc_getUniversalProof", "0x3"))["universalProofs"] == []
        assert await rpc.call("ivc_getUniversalProof", "0x63") is None

        # Block 5's task is pending: proven stops at 4, and state queries answer there.
        status = await rpc.call("ivc_status")
        assert (status["latestBlockNumber"], status["provenBlockNumber"]) == ("0x5", "0x4")
        address = "0x" + ALICE.address.hex()
        assert await rpc.call("eth_getTransactionCount", address, "proven") == "0x2"
        assert await rpc.call("eth_getTransactionCount", address, "latest") == "0x3"
        pending = await rpc.call("ivc_getUniversalProof", "latest")
        assert (pending["pendingTasks"], pending["universalProofs"]) == ("0x1", [])

        _, cycles = fib_loop_result(5)
        provers = (await rpc.call("ivc_provers"))["provers"]
        assert [p["address"] for p in provers] == ["0x" + p.hex() for p in PROVERS]
        assert [p["provenTasks"] for p in provers] == ["0x2", "0x1"]
        assert provers[0]["rewards"] == hex(2 * cycles * FEE_PER_CYCLE)
        assert provers[1]["lastIncludedBlockNumber"] == "0x3"
        assert provers[0]["lastIncludedBlockNumber"] == "0x4"


class LyingView(NodeUniversalView):
    """Serves block 2's first Universal Proof with one task proof byte flipped."""

    async def universal_proofs(self, height: int) -> Sequence[UniversalProofInfo]:
        infos = list(await super().universal_proofs(height))
        up = UniversalProof.decode(infos[0].encoded)
        proof = bytearray(up.leaves[1].task_proof)
        proof[len(proof) // 3] ^= 0x10
        leaves = list(up.leaves)
        leaves[1] = replace(leaves[1], task_proof=bytes(proof))
        infos[0] = replace(infos[0], encoded=replace(up, leaves=tuple(leaves)).encode())
        return infos


@pytest.mark.parametrize("lying", [False, True])
async def test_verify_block_command(
    chain: tuple[Chain, list[bytes]], lying: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    c, ids = chain
    holder = _holder(c)
    view = (LyingView if lying else NodeUniversalView)(holder)  # type: ignore[arg-type]
    async with open_rpc_server(_config(view), NodeChainView(holder)) as endpoint:  # type: ignore[arg-type]
        status = await trio.to_thread.run_sync(main, ["verify-block", "--rpc", endpoint.url, "2"])
        out, err = capsys.readouterr()
        if lying:
            assert status == 1
            assert err.startswith("error: Universal Proof #0 (in block 0x3): leaf 1")
            assert len(err.strip().splitlines()) == 1
            return
        assert status == 0, err
        exit_code, cycles = fib_loop_result(5)
        lines = out.strip().splitlines()
        assert len(lines) == 4
        for line, task_id, prover in zip(lines[:3], ids, (0, 1, 0), strict=True):
            assert line.startswith(f"task 0x{task_id.hex()}  exit {exit_code}")
            assert f"cycles {cycles}  prover 0x{PROVERS[prover].hex()}" in line
        assert lines[3].startswith("block 2: 3 task proofs verified")
        # A block whose task nobody answered yet verifies nothing and says so.
        status = await trio.to_thread.run_sync(main, ["verify-block", "--rpc", endpoint.url, "5"])
        out, _ = capsys.readouterr()
        assert status == 0 and "pending (no Universal Proof yet)" in out
