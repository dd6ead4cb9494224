"""Expected failures of the execution layer: raised with a named reason, never asserted."""

from __future__ import annotations


class ExecutionError(Exception):
    """Root of every expected execution-layer failure."""


class DecodingError(ExecutionError):
    """Bytes from outside (a peer, an RPC client, the disk) do not decode to the type."""


class InvalidTransaction(ExecutionError):
    """A transaction that can never be applied; `reason` is a stable machine-readable name."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class InvalidBlock(ExecutionError):
    """A block that must not be committed; nothing of it is applied."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
