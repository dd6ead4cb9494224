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
    """A block that must not be committed; nothing of it is applied.

    `index` names the refused item among those of its kind (the transaction, the Universal
    Proof, the invalid-proof evidence item) and `leaf` the refused leaf of that Universal
    Proof, when the failure is in one: a proposer leaves that item out and builds again. The
    text says the same for humans; code reads these fields, never the text."""

    def __init__(
        self, reason: str, detail: str = "", index: int | None = None, leaf: int | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.index = index
        self.leaf = leaf
        super().__init__(f"{reason}: {detail}" if detail else reason)
