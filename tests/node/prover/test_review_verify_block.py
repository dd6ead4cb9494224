"""Review: `ivcnet verify-block` against a node that answers garbage (a lying or broken RPC).

Every malformed answer must be one CliError line, never a traceback. The node here is a
scripted RpcClient: what is under test is the client's handling of whatever a node may send,
and no honest server can be made to send these shapes.
"""

from __future__ import annotations

from typing import Any

import pytest

from node.cli.errors import CliError
from node.cli.task_cmd import RpcClient
from node.cli.verify_block_cmd import verify_block

BLOCK_HASH = "0x" + "ab" * 32


class LyingNode(RpcClient):
    def __init__(self, universal: Any) -> None:
        super().__init__("http://127.0.0.1:1")
        self.universal = universal

    def call(self, method: str, *params: Any) -> Any:
        if method == "ivc_getUniversalProof":
            return self.universal
        if method == "eth_getBlockByNumber":
            return {"hash": BLOCK_HASH}
        raise AssertionError(f"unexpected call {method}")


def _answer(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "blockNumber": "0x2",
        "blockHash": BLOCK_HASH,
        "profile": "conjectured",
        "tasks": [],
        "universalProofs": [],
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    "answer",
    [
        _answer(tasks=["0x" + "01" * 32]),  # a task entry that is not an object
        _answer(tasks={"taskId": "0x01"}),  # not a list
        _answer(tasks=[None]),
        _answer(universalProofs=["0x00"]),  # a proof entry that is not an object
        _answer(universalProofs=[7]),
    ],
)
def test_malformed_answers_are_one_error_line(answer: dict[str, Any]) -> None:
    with pytest.raises(CliError, match="malformed"):
        verify_block(LyingNode(answer), "2")
