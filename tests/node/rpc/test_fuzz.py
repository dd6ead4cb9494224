"""Hostile input to the dispatcher: whatever arrives, the answer is well-formed JSON-RPC and never
an internal error (every bad input is caught by validation, not by the safety net)."""

from __future__ import annotations

import json
from typing import Any

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


json_leaves = st.one_of(
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
