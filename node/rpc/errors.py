"""JSON-RPC 2.0 errors: the codes of the specification and the server-error range we use.

Handlers raise these; the dispatcher turns them into error responses. Codes:
- -32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params,
  -32603 internal error (JSON-RPC 2.0 section 5.1);
- -32000 for a request that was well formed but failed in the chain: a rejected transaction,
  an unknown block or state (geth uses -32000 for these and wallets match on the message);
- -32003 for a batch entry left unrun because the batch's answers grew too large (as geth).
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000
RESPONSE_TOO_LARGE = -32003


class RpcError(Exception):
    """An error answered to the client as a JSON-RPC error object."""

    code: int = INTERNAL_ERROR

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND


class InvalidParams(RpcError):
    code = INVALID_PARAMS


class InternalError(RpcError):
    code = INTERNAL_ERROR


class ServerError(RpcError):
    """A well-formed request the chain could not satisfy (code -32000)."""

    code = SERVER_ERROR


class ResponseTooLarge(RpcError):
    code = RESPONSE_TOO_LARGE
