"""JSON-RPC 2.0 over one request body: parsing, batches, notifications, errors.

Transport-free: `Dispatcher.handle(body)` takes the bytes of an HTTP body and returns the bytes
to answer, or None when nothing is to be answered (only notifications). The specification
(jsonrpc.org/specification) fixes the rules followed here:
- a body that is not JSON is a parse error (-32700, id null);
- a value that is not a request object is an invalid request (-32600), each one in a batch;
- an empty batch is one invalid request error, not an empty array;
- a request without "id" is a notification and gets no response, even if it fails;
- a batch of notifications only gets no response at all.
A batch longer than `max_batch` gets one invalid-request error (as geth answers "batch too large").
Once a batch's answers pass `max_batch_response_bytes`, its remaining requests are not run and
each gets -32003 "response too large" (geth's code and words), which bounds the work and memory
one HTTP request can cost.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from node.rpc.chain_view import ChainViewError, TransactionRejected
from node.rpc.context import MethodTable, RpcContext
from node.rpc.errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    ResponseTooLarge,
    RpcError,
    ServerError,
)
from node.rpc.params import Params

logger = logging.getLogger("node.rpc")

_NO_ID = object()


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON; Python's parser accepts them unless told otherwise.
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _error_response(request_id: Any, error: RpcError) -> str:
    return _dumps({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})


def _valid_id(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float)


def parse_body(body: bytes) -> Any:
    """The JSON value of a body, or ParseError."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, bad JSON and over-long integers; RecursionError deep nesting.
        detail = str(exc) if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise ParseError(f"parse error: {detail}"[:200]) from None


def _too_large_answer(message: Any) -> str | None:
    """The answer to a batch entry left unrun because the batch's answers are already too big."""
    if not isinstance(message, dict):
        return _error_response(None, InvalidRequest("invalid request: not an object"))
    if "id" not in message:
        return None
    request_id = message["id"] if _valid_id(message["id"]) else None
    return _error_response(request_id, ResponseTooLarge("response too large"))


class Dispatcher:
    """Answers request bodies by calling handlers from a method table."""

    def __init__(
        self,
        ctx: RpcContext,
        methods: MethodTable,
        max_batch: int,
        max_batch_response_bytes: int = 25 * 1024 * 1024,
    ) -> None:
        self.ctx = ctx
        self.methods = methods
        self.max_batch = max_batch
        self.max_batch_response_bytes = max_batch_response_bytes

    async def handle(self, body: bytes) -> bytes | None:
        try:
            message = parse_body(body)
        except ParseError as exc:
            return _error_response(None, exc).encode()
        if isinstance(message, list):
            return await self._handle_batch(message)
        response = await self._handle_one(message)
        return None if response is None else response.encode()

    async def _handle_batch(self, batch: list[Any]) -> bytes | None:
        if not batch:
            return _error_response(None, InvalidRequest("empty batch")).encode()
        if len(batch) > self.max_batch:
            error = InvalidRequest(
                f"batch too large: {len(batch)} requests, at most {self.max_batch}"
            )
            return _error_response(None, error).encode()
        responses = []
        size = 0
        for message in batch:
            if size > self.max_batch_response_bytes:
                response = _too_large_answer(message)
            else:
                response = await self._handle_one(message)
            if response is not None:
                responses.append(response)
                size += len(response)
        if not responses:
            return None
        return ("[" + ",".join(responses) + "]").encode()

    async def _handle_one(self, message: Any) -> str | None:
        """One request object; None for a notification."""
        if not isinstance(message, dict):
            return _error_response(None, InvalidRequest("invalid request: not an object"))
        request_id = message.get("id", _NO_ID)
        is_notification = request_id is _NO_ID
        if not is_notification and not _valid_id(request_id):
            return _error_response(
                None, InvalidRequest("invalid request: id must be a string, number or null")
            )
        answer_id = None if is_notification else request_id
        if message.get("jsonrpc") != "2.0":
            return _error_response(
                answer_id, InvalidRequest('invalid request: jsonrpc must be "2.0"')
            )
        method = message.get("method")
        if not isinstance(method, str):
            return _error_response(
                answer_id, InvalidRequest("invalid request: method must be a string")
            )
        raw_params = message.get("params", [])
        if not isinstance(raw_params, list | dict):
            return _error_response(
                answer_id, InvalidRequest("invalid request: params must be an array or an object")
            )
        try:
            result = await self._call(method, raw_params)
            text = _dumps({"jsonrpc": "2.0", "id": answer_id, "result": result})
        except RpcError as exc:
            if is_notification:
                return None
            return _error_response(answer_id, exc)
        except Exception:
            # A bug in a handler or the chain view: log it, answer without internals.
            logger.exception("internal error in %s", method[:100])
            if is_notification:
                return None
            return _error_response(answer_id, InternalError("internal error"))
        return None if is_notification else text

    async def _call(self, method: str, raw_params: list[Any] | dict[str, Any]) -> Any:
        handler = self.methods.get(method)
        if handler is None:
            raise MethodNotFound(f"the method {method[:100]} does not exist/is not available")
        if isinstance(raw_params, dict):
            raise InvalidParams(f"{method} takes positional parameters: pass params as an array")
        try:
            return await handler(self.ctx, Params(method, raw_params))
        except TransactionRejected as exc:
            data = None if exc.name is None else {"reason": exc.name}
            raise ServerError(exc.reason, data) from None
        except ChainViewError as exc:
            raise ServerError(str(exc)) from None
