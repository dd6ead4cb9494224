"""Universal Proof v1 over JSON-RPC and `ivcnet verify-block`, on a real v1 chain (LevelDB) and
the real RPC server.

Default: a placeholder root (the task proof's STARK proof in place of the recursion proof) is
served for the chain's pending task by a view that stands in for a later block (a v1 chain
commits no such block): ivc_getUniversalProof reports version 1, the control id, each leaf's
shape, statement and prover; verify-block refuses a root naming another block, a statement
made for another task and a statement for another input (after fetching the task's program
from its deploy block), each as one error line, before any recursion program is built.
Slow: a real root (one zkVM lift under `conjectured`, built once per module and kept in tmp)
committed by the chain is served and verified by verify-block, and the same root with one
output changed is refused ("root proof rejected").
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from test_universal_rpc import Served, _config, _holder

import execution.recursion.join as join_mod
import execution.recursion.lift as lift_mod
from execution.chain import Chain
from execution.types import Block
from execution.universal.proof_v1 import UniversalProofV1, V1Leaf
from execution.zkproof.statement import Statement
from execution.zkproof.task import TaskProof
from node.chain_view import NodeChainView
from node.cli.main import main
from node.rpc import open_rpc_server
from node.rpc.methods_universal import UniversalProofInfo
from node.universal_index import NodeUniversalView, proof_info
from storage.lru_cache import LruCache

sys.path.insert(0, str(Path(__file__).parents[1] / "execution" / "universal"))

import test_accept_v1
from test_accept_v1 import PROVER, commit, open_chain, shape_of, v1_params

# The accept tests' module-scoped fixture: one proof of their task per module.
task_proof = test_accept_v1.task_proof


@pytest.fixture
def v1_chain(tmp_path: Path, task_proof: TaskProof) -> Iterator[tuple[Chain, Block, bytes]]:
    chain, block, task_id = open_chain(tmp_path / "c", v1_params((shape_of(task_proof),)))
    yield chain, block, task_id
    chain.close()


class ServedV1(NodeUniversalView):
    """Serves `raw` as block 2's Universal Proof, brought by block 3 (no such block here)."""

    raw: bytes = b""

    async def universal_proofs(self, height: int) -> Sequence[UniversalProofInfo]:
        if height != 2:
            return []
        return [proof_info(self.raw, 3, b"\x33" * 32, 0, b"\x44" * 32)]


def _placeholder(tp: TaskProof, block: Block, task_id: bytes, st: Statement) -> bytes:
    leaf = V1Leaf(task_id, shape_of(tp), st.to_bytes())
    return UniversalProofV1(block.height, block.hash, (leaf,), b"\x05" * 32, tp.stark).encode()


async def _verify_block(url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = await trio.to_thread.run_sync(main, ["verify-block", "--rpc", url, "2"])
    out, err = capsys.readouterr()
    return status, out, err


async def test_v1_proof_over_rpc_and_verify_block_refusals(
    v1_chain: tuple[Chain, Block, bytes],
    task_proof: TaskProof,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain, block, task_id = v1_chain
    # Empty caches of this process (another test on this worker may have filled them), so the
    # check at the end sees any program recorded or keyed by these refusals.
    for mod, size in ((lift_mod, lift_mod.LIFT_CACHE_SIZE), (join_mod, join_mod.JOIN_CACHE_SIZE)):
        monkeypatch.setattr(mod, "_RECORDINGS", LruCache(size))
        monkeypatch.setattr(mod, "_KEYS", LruCache(size))
    st = task_proof.statement
    holder = _holder(chain)
    view = ServedV1(holder)  # type: ignore[arg-type]
    view.raw = _placeholder(task_proof, block, task_id, st)
    async with (
        open_rpc_server(_config(view), NodeChainView(holder)) as endpoint,  # type: ignore[arg-type]
        httpx.AsyncClient() as http,
    ):
        got = await Served(endpoint.url, http).call("ivc_getUniversalProof", "0x2")
        (up,) = got["universalProofs"]
        assert up["version"] == "0x1"
        assert up["controlId"] == "0x" + "05" * 32
        assert up["proof"] == "0x" + view.raw.hex()
        assert up["provers"] == ["0x" + PROVER.hex()]
        (leaf,) = up["leaves"]
        assert leaf["taskId"] == "0x" + task_id.hex()
        assert leaf["shape"] == list(shape_of(task_proof))
        assert Statement.from_bytes(bytes.fromhex(leaf["statement"][2:])) == st
        assert "proofSize" not in leaf

        cases: list[tuple[bytes, str]] = [
            (
                UniversalProofV1(
                    block.height,
                    b"\x01" * 32,
                    UniversalProofV1.decode(view.raw).leaves,
                    b"\x05" * 32,
                    task_proof.stark,
                ).encode(),
                "names block 2, not 2",
            ),
            (
                _placeholder(task_proof, block, task_id, replace(st, task_id=b"\x09" * 32)),
                "statement was made for another task",
            ),
            (
                _placeholder(task_proof, block, task_id, replace(st, input_digest=bytes(32))),
                "the statement is for another input",
            ),
        ]
        for raw, message in cases:
            view.raw = raw
            status, _, err = await _verify_block(endpoint.url, capsys)
            assert status == 1
            errors = [x for x in err.splitlines() if x.startswith("error")]
            assert len(errors) == 1, err
            assert errors[0].startswith("error: Universal Proof #0 (in block 0x3)"), err
            assert message in errors[0]
    # Every refusal came before a recursion program was recorded or keyed.
    for cache in (lift_mod._RECORDINGS, lift_mod._KEYS, join_mod._RECORDINGS, join_mod._KEYS):
        assert len(cache) == 0


# ---- slow: a real root ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_root(tmp_path_factory: pytest.TempPathFactory, task_proof: TaskProof) -> UniversalProofV1:
    """The v1 root of the task `task_tx()` submits, for block (1, zero hash): the block binding
    is outside the root proof, so each test names its own block. Kept in tmp, built once."""
    from execution.recursion.lift import lift
    from execution.stark.params import profile
    from execution.universal.proof_v1 import prove_v1
    from execution.universal.zkvm_leaf import zkvm_spec
    from execution.zkproof.prover import airs_for, public_values

    path = tmp_path_factory.getbasetemp() / "v1-root.bin"
    if path.exists():
        return UniversalProofV1.decode(path.read_bytes())
    tp = task_proof
    fri = profile("conjectured")
    st = tp.statement
    airs = airs_for(tp.program, tp.input, st.output).as_list()
    spec = zkvm_spec(airs, shape_of(tp), fri)
    node = lift(spec, st.task_id, tp.stark, public_values(st, tp.program, len(tp.input)), airs)
    root = prove_v1(1, bytes(32), [V1Leaf(st.task_id, shape_of(tp), st.to_bytes())], [node], fri)
    path.write_bytes(root.encode())
    return root


class OneOutputChanged(NodeUniversalView):
    async def universal_proofs(self, height: int) -> Sequence[UniversalProofInfo]:
        infos = list(await super().universal_proofs(height))
        up = UniversalProofV1.decode(infos[0].encoded)
        st = Statement.from_bytes(up.leaves[0].statement)
        leaf = replace(up.leaves[0], statement=replace(st, output=st.output + b"!").to_bytes())
        infos[0] = replace(infos[0], encoded=replace(up, leaves=(leaf,)).encode())
        return infos


@pytest.mark.slow
@pytest.mark.timeout(2400)
async def test_a_real_v1_root_is_served_and_verified_by_verify_block(
    v1_chain: tuple[Chain, Block, bytes],
    real_root: UniversalProofV1,
    capsys: pytest.CaptureFixture[str],
) -> None:
    chain, block, task_id = v1_chain
    good = replace(real_root, block_height=block.height, block_hash=block.hash)
    included = await trio.to_thread.run_sync(lambda: commit(chain, proofs=(good.encode(),)))
    holder = _holder(chain)
    for view_class, ok in ((NodeUniversalView, True), (OneOutputChanged, False)):
        view = view_class(holder)  # type: ignore[arg-type]
        async with (
            open_rpc_server(_config(view), NodeChainView(holder)) as endpoint,  # type: ignore[arg-type]
            httpx.AsyncClient() as http,
        ):
            got: Any = await Served(endpoint.url, http).call("ivc_getUniversalProof", "0x2")
            (up,) = got["universalProofs"]
            assert up["version"] == "0x1"
            assert up["includedInBlockNumber"] == hex(included.height)
            assert up["root"] == "0x" + included.header.universal_proofs[0].digest.hex()
            assert [t["status"] for t in got["tasks"]] == ["proven", "pending"]
            status, out, err = await _verify_block(endpoint.url, capsys)
        if ok:
            assert status == 0, err
            st = Statement.from_bytes(good.leaves[0].statement)
            assert f"task 0x{task_id.hex()}  exit {st.exit_code}  " in out
            assert "block 2: 1 task proofs verified" in out
        else:
            assert status == 1
            assert "root proof rejected" in err
