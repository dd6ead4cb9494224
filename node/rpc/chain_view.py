"""The seam between the JSON-RPC server and the chain: what the server may ask, and in what shape.

The server never touches storage, the mempool or the P2P host directly. It talks to one object
that satisfies `ChainView`; the node implements it over its real parts, tests over a small
in-memory chain. Every value crossing the seam is a plain int, bytes, str or one of the frozen
dataclasses below, so the JSON encoding lives in one place (node/rpc/formatting.py).

Conventions for every method:
- Heights are block numbers, genesis is 0. A `height` argument is never above the head height
  the server resolved just before the call (heights only grow: BFT commits are final).
- `height=None` means the *pending* state: the head state plus what the mempool already holds
  for that account (it matters for nonces: wallets ask for the `pending` nonce to sign the next
  transaction while earlier ones wait in the mempool).
- Addresses are 20 bytes, hashes 32 bytes; the server has checked the lengths.
- Methods are awaited on the node's trio event loop: they must not block for long (LevelDB point
  reads are fine; anything slow belongs in a worker thread inside the implementation).
- Expected failures raise a subclass of `ChainViewError`; anything else is a bug, which the server
  turns into a JSON-RPC internal error (-32603) and logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# The code hash (keccak256(b"")) and storage root (empty trie) of every ivcnet account,
# re-exported here for the RPC layer and its tests.
from execution.state import EMPTY_CODE_HASH as EMPTY_CODE_HASH
from storage.mpt import EMPTY_ROOT

EMPTY_TRIE_ROOT = EMPTY_ROOT


class ChainViewError(Exception):
    """Root of the expected failures a `ChainView` reports to the RPC server."""


class TransactionRejected(ChainViewError):
    """A raw transaction was refused (undecodable, bad signature, wrong chain, nonce, funds...).

    `reason` is shown to the client verbatim as the JSON-RPC error message (code -32000), so it
    should read like geth's ("nonce too low: next nonce 4, tx nonce 3", "insufficient funds ...")
    because wallets match on those words; `name` is the chain's stable reason name
    ("nonce_too_low"), sent as the error's `data.reason`. `node.rpc.rejections.rejected()`
    builds both from the chain core's `InvalidTransaction(reason, detail)`.
    """

    def __init__(self, reason: str, name: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.name = name


class StateUnavailable(ChainViewError):
    """The state at a height the chain has (or had) is not available, e.g. pruned."""

    def __init__(self, height: int, reason: str = "state not available") -> None:
        super().__init__(f"{reason} for block {height}")
        self.height = height


@dataclass(frozen=True, slots=True)
class RpcTransaction:
    """A signed transaction, committed or still in the mempool.

    `block_hash`, `block_number` and `transaction_index` are None while it is pending.
    `gas_price` is the effective price paid once committed, and `max_fee_per_gas` while pending.
    `kind` names the ivcnet kind ("transfer", "deploy", "task", "stake"); `tx_type` is the envelope type
    byte (2 for the EIP-1559-style envelope). `to` is None for a deploy.
    """

    hash: bytes
    nonce: int
    sender: bytes
    to: bytes | None
    value: int
    input: bytes
    gas: int
    gas_price: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    chain_id: int
    tx_type: int
    kind: str
    y_parity: int
    r: int
    s: int
    block_hash: bytes | None = None
    block_number: int | None = None
    transaction_index: int | None = None


@dataclass(frozen=True, slots=True)
class RpcReceipt:
    """The receipt of a committed transaction. `success` is the Ethereum status bit.

    `contract_address` is the created program's address for a deploy, else None.
    Gas fields are the chain's own accounting (zeros where the chain has none).
    """

    transaction_hash: bytes
    transaction_index: int
    block_hash: bytes
    block_number: int
    sender: bytes
    to: bytes | None
    success: bool
    gas_used: int
    cumulative_gas_used: int
    effective_gas_price: int
    tx_type: int
    contract_address: bytes | None = None


@dataclass(frozen=True, slots=True)
class RpcBlock:
    """A committed block, as Ethereum tooling expects to see one.

    `proposer` is the 20-byte address of the proposing validator (shown as `miner`).
    `transaction_hashes` is always filled; `transactions` only when the caller asked for full
    transactions (then in the same order). `size` is the encoded block's length in bytes.
    Gas fields are zeros where the chain has no such notion; `base_fee_per_gas` is what wallets
    use to price a transaction (maxFeePerGas = 2 * baseFee + tip in web3.py), so give it the real
    minimum fee per gas unit, or 0.
    """

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    proposer: bytes
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    transaction_hashes: tuple[bytes, ...]
    size: int
    gas_limit: int = 0
    gas_used: int = 0
    base_fee_per_gas: int = 0
    transactions: tuple[RpcTransaction, ...] | None = None


@dataclass(frozen=True, slots=True)
class AccountProof:
    """An account and the Merkle Patricia trie nodes proving it against a block's state root.

    `proof` lists the RLP-encoded trie nodes from the root down (EIP-1186 `accountProof`);
    for an absent account, the fields are zero and the proof shows the absence.
    """

    address: bytes
    nonce: int
    balance: int
    code_hash: bytes
    storage_hash: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class CallRequest:
    """The transaction fields of an `eth_estimateGas` call (all optional, as Ethereum's)."""

    sender: bytes | None = None
    to: bytes | None = None
    value: int = 0
    data: bytes = b""
    gas: int | None = None


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """A connected P2P peer: its libp2p peer id and the multiaddresses it is reached at."""

    peer_id: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ValidatorInfo:
    """One member of a validator set."""

    address: bytes
    bls_public_key: bytes
    voting_power: int
    stake: int = 0  # bonded stake (voting power = stake // power_unit)
    owner: bytes = b""  # the account that bonded it and receives its tips; empty: none


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """Block sync progress. When not syncing, the three heights may all equal the head."""

    syncing: bool
    starting_block: int
    current_block: int
    highest_block: int


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """Facts about this node itself (the chain facts come from the other methods).

    `validator_address` is None for a full node.
    """

    node_id: str
    moniker: str
    version: str
    listen_addresses: tuple[str, ...]
    validator_address: bytes | None


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    """A deployed program: its image id, the ELF's keccak and size, who deployed it and when.

    `address` is the program address its deploy receipt reported.
    """

    image_id: bytes
    address: bytes
    elf_hash: bytes
    elf_size: int
    deployer: bytes
    height: int


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A compute task as the state records it; the task id is its submitting transaction's hash.

    `status` is "pending", "proven" or "expired". The result fields (`exit_code`, `output`,
    `cycles`, `prover`) are meaningful only once proven; `prover` is None before.
    """

    task_id: bytes
    image_id: bytes
    submitter: bytes
    input: bytes
    max_cycles: int
    fee_per_cycle: int
    escrow: int
    status: str
    submitted_height: int
    deadline_height: int
    exit_code: int = 0
    output: bytes = b""
    cycles: int = 0
    prover: bytes | None = None


class ChainView(Protocol):
    """What the JSON-RPC server needs from the node. See the module docstring for conventions."""

    async def chain_id(self) -> int:
        """The chain id of the genesis (EIP-155 / EIP-1559 `chainId`)."""
        ...

    async def head_height(self) -> int:
        """Height of the latest committed block (0 right after genesis)."""
        ...

    async def balance(self, address: bytes, height: int | None) -> int:
        """Balance in the smallest unit at `height` (None: pending). 0 for an unknown account.

        Raises StateUnavailable if the state at `height` is gone.
        """
        ...

    async def nonce(self, address: bytes, height: int | None) -> int:
        """Nonce of `address` at `height`: the number of its committed transactions.

        With `height=None`, the next nonce to use: the committed nonce plus the consecutive
        nonces of this sender's transactions waiting in the mempool.
        """
        ...

    async def block_by_number(self, number: int, full_transactions: bool) -> RpcBlock | None:
        """The committed block at `number`, or None above the head (or below a pruned base)."""
        ...

    async def block_by_hash(self, block_hash: bytes, full_transactions: bool) -> RpcBlock | None:
        """The committed block with this hash, or None if unknown."""
        ...

    async def transaction_by_hash(self, tx_hash: bytes) -> RpcTransaction | None:
        """A committed transaction, or one in the mempool (then without block fields), or None."""
        ...

    async def receipt_by_hash(self, tx_hash: bytes) -> RpcReceipt | None:
        """The receipt of a committed transaction, None if unknown or still pending."""
        ...

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        """Admit a signed transaction (typed envelope bytes) to the mempool and gossip it.

        Returns its 32-byte hash (keccak256 of `raw`). Raises TransactionRejected with a reason
        if it is refused. Submitting a transaction already in the mempool is refused with
        reason "already known" (as geth).
        """
        ...

    async def estimate_gas(self, call: CallRequest) -> int:
        """Gas the transaction described by `call` would use at the head state.

        Raises TransactionRejected if it would fail (for example insufficient funds).
        """
        ...

    async def suggested_priority_fee(self) -> int:
        """A tip per gas unit likely to get a transaction into the next block (0 if none needed)."""
        ...

    async def account_proof(self, address: bytes, height: int) -> AccountProof:
        """The account at `height` with its Merkle proof against that block's state root.

        Raises StateUnavailable if the state at `height` is gone.
        """
        ...

    async def validators(self, height: int) -> Sequence[ValidatorInfo]:
        """The validator set that signs block `height`, in the set's canonical order."""
        ...

    async def peers(self) -> Sequence[PeerInfo]:
        """Currently connected P2P peers."""
        ...

    async def syncing(self) -> SyncStatus:
        """Block sync progress."""
        ...

    async def status(self) -> NodeStatus:
        """This node's identity and listening addresses."""
        ...

    async def program(self, image_id: bytes) -> ProgramInfo | None:
        """The program deployed under `image_id` (32 bytes), at the head state; None if none."""
        ...

    async def task(self, task_id: bytes) -> TaskInfo | None:
        """The task submitted by transaction `task_id`, at the head state; None if unknown."""
        ...
