"""Hostile input to the dispatcher: whatever arrives, the answer is well-formed JSON-RPC and never
an internal error (every bad input is caught by validation, not by the safety net)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.rpc import Dispatcher, RpcContext, default_methods

METHODS = sorted(default_methods())
ALLOWED_CODES = {-32700, -32600, -32601, -32602, -32000}


def hex_strings() -> st.SearchStrategy[str]:
    digits = st.text(alphabet="0123456789abcdefABCDEFxg-", max_size=70)
    return st.one_of(
        digits.map(lambda d: "0x" + d),
        st.integers(min_value=0, max_value=2**300).map(hex),
        st.binary(max_size=40).map(lambda b: "0x" + b.hex()),
        st.sampled_from(["latest", "earliest", "pending", "safe", "finalized", "proven", "0x", ""]),
    )


# Values that pass some parameter's validation, so that fuzzing reaches the later parameters.
PLAUSIBLE = [
    "0x" + "1a642f0e3c3af545e7acbd38b07251b3990914f1",
    "0x" + "77" * 20,
    "0x" + "ab" * 32,
    "0x0",
    "0x1",
    "0x400",
    "latest",
    "pending",
    True,
    False,
    25,
    50.5,
    "0x02f86c",
]
json_leaves = st.one_of(
    st.sampled_from(PLAUSIBLE),
    st.sampled_from(PLAUSIBLE),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hex_strings(),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                ["blockHash", "blockNumber", "from", "to", "value", "data", "gas", "x"]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
requests = st.fixed_dictionaries(
    {
        "jsonrpc": st.sampled_from(["2.0", "2.0", "2.0", "1.0"]),
        "method": st.one_of(st.sampled_from(METHODS), st.text(max_size=10)),
        "params": st.one_of(st.lists(json_values, max_size=4), json_values),
    },
    optional={"id": st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans())},
)


def check_answer(answer: Any) -> None:
    assert isinstance(answer, dict)
    assert answer["jsonrpc"] == "2.0"
    assert "id" in answer
    assert ("result" in answer) != ("error" in answer)
    if "error" in answer:
        assert answer["error"]["code"] in ALLOWED_CODES, answer
        assert isinstance(answer["error"]["message"], str)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(requests, st.lists(requests, max_size=5), json_values))
def test_any_json_gets_a_well_formed_answer(chain: Any, body: Any) -> None:
    dispatcher = Dispatcher(RpcContext(chain, "fuzz"), default_methods(), max_batch=10)
    raw = trio.run(dispatcher.handle, json.dumps(body).encode())
    if raw is None:
        return  # only notifications
    answer = json.loads(raw)
    for item in answer if isinstance(answer, list) else [answer]:
        check_answer(item)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_an_answer(chain: Any, raw: bytes) -> None:
    dispatcher = Dispatcher(RpcContext(chain, "fuzz"), default_methods(), max_batch=10)
    answer = trio.run(dispatcher.handle, raw)
    if answer is not None:
        decoded = json.loads(answer)
        for item in decoded if isinstance(decoded, list) else [decoded]:
            check_answer(item)


FUNDED = "0x1a642f0e3c3af545e7acbd38b07251b3990914f1"
VALID_PARAMS: dict[str, list[Any]] = {
    "eth_chainId": [],
    "eth_blockNumber": [],
    "eth_getBalance": [FUNDED, "latest"],
    "eth_getTransactionCount": [FUNDED, "pending"],
    "eth_getCode": [FUNDED, "latest"],
    "eth_sendRawTransaction": ["0x02c0"],
    "eth_getTransactionByHash": ["0x" + "ab" * 32],
    "eth_getTransactionReceipt": ["0x" + "ab" * 32],
    "eth_getBlockByNumber": ["0x0", True],
    "eth_getBlockByHash": ["0x" + "ab" * 32, False],
    "eth_getBlockTransactionCountByNumber": ["latest"],
    "eth_getBlockTransactionCountByHash": ["0x" + "ab" * 32],
    "eth_getTransactionByBlockNumberAndIndex": ["latest", "0x0"],
    "eth_getTransactionByBlockHashAndIndex": ["0x" + "ab" * 32, "0x0"],
    "eth_getProof": [FUNDED, ["0x01"], "latest"],
    "eth_syncing": [],
    "eth_gasPrice": [],
    "eth_maxPriorityFeePerGas": [],
    "eth_feeHistory": ["0x2", "latest", [10, 90]],
    "eth_estimateGas": [{"from": FUNDED, "to": FUNDED, "value": "0x1", "data": "0x"}, "latest"],
    "eth_call": [{"from": FUNDED, "to": FUNDED, "value": "0x1", "gas": "0x5208"}, "latest", {}],
    "eth_getStorageAt": [FUNDED, "0x0", "latest"],
    "eth_accounts": [],
    "net_version": [],
    "net_peerCount": [],
    "net_listening": [],
    "web3_clientVersion": [],
    "web3_sha3": ["0x00"],
    "ivc_status": [],
    "ivc_validators": ["latest"],
    "ivc_peers": [],
    "ivc_syncing": [],
    "ivc_getProgram": ["0x" + "00" * 32],
    "ivc_getTask": ["0x" + "00" * 32],
    "ivc_getTaskResult": ["0x" + "00" * 32],
}
HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    2**80,
    "",
    "x",
    "0x",
    "0x0g",
    "0x" + "f" * 100,
    "latest",
    FUNDED,
    [],
    ["x"],
    [None, {}],
    {},
    {"x": 1},
    {"blockHash": 5},
    {"from": 1, "to": [], "value": "x", "data": 0, "gas": -1},
]


def test_every_method_has_valid_params_listed() -> None:
    assert sorted(VALID_PARAMS) == METHODS


@pytest.mark.parametrize("method", METHODS)
def test_each_parameter_mutated(chain: Any, method: str) -> None:
    """Valid params answer with a result; replacing any one of them (or appending one) by a
    hostile value answers a well-formed error or result, never an internal error."""
    dispatcher = Dispatcher(RpcContext(chain, "fuzz"), default_methods(), max_batch=10)

    async def call(params: list[Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        raw = await dispatcher.handle(json.dumps(body).encode())
        assert raw is not None
        answer: dict[str, Any] = json.loads(raw)
        check_answer(answer)
        return answer

    async def run() -> None:
        valid = VALID_PARAMS[method]
        answer = await call(valid)
        if method != "eth_sendRawTransaction":  # "0x02c0" is a well-formed but rejected tx
            assert "result" in answer, answer
        for position in range(len(valid) + 1):
            for value in HOSTILE:
                params = list(valid)
                if position < len(valid):
                    params[position] = value
                else:
                    params.append(value)
                await call(params)

    trio.run(run)
