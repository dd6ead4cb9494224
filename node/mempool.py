"""The mempool: signed transactions waiting for a block.

Entry rules (each a `TransactionRejected`-style reason string, worded like geth's because
wallets match on those words):
- decodes as an ivcnet transaction, signature recovers, chain id, fee and gas fields pass
  `check_transaction_static`;
- not already known (in the pool or committed);
- nonce at least the sender's committed nonce, and at most `max_nonce_gap` past the next
  pending one (a few out-of-order arrivals over gossip are kept, not a ladder of gaps);
- a task names a deployed program, a deploy a program not yet deployed;
- the sender can afford the worst case of this transaction plus every pending one of it with a
  lower nonce (value + gas_limit * max_fee_per_gas each, plus a task's escrow);
- a transaction with the nonce of a pending one replaces it only with a fee at least
  `replace_bump_percent` higher;
- the pool is bounded: when full, a new transaction evicts the cheapest one (and the later
  nonces of that sender, which could no longer be included) only if it pays more.

Blocks take transactions by fee then nonce: of every sender's next executable transaction the
highest effective tip goes first, then that sender's next nonce competes again (geth's
price-and-nonce order). After each block the committed transactions leave the pool and the rest
are re-checked against the new head state.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from execution.programs import image_id_bytes_of_elf
from execution.staking import check_staking
from execution.state import State
from execution.transition import check_transaction_static
from execution.types.errors import DecodingError, InvalidTransaction
from execution.types.hashing import keccak256
from execution.types.transaction import Transaction, TxKind
from genesis.params import ProtocolParams


class MempoolRejected(Exception):
    """A transaction was refused; `reason` is shown to the submitter.

    `invalid`: refused for the transaction's own bytes (undecodable, bad signature, wrong
    chain, the static fee and gas rules), which no state or timing can make acceptable; the
    others (known, nonce, funds, a full pool) can happen to an honest relay."""

    def __init__(self, reason: str, *, invalid: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.invalid = invalid


@dataclass(frozen=True, slots=True)
class MempoolConfig:
    max_txs: int = 50_000
    max_nonce_gap: int = 64
    replace_bump_percent: int = 10


@dataclass(slots=True)
class PoolEntry:
    tx: Transaction
    raw: bytes
    sender: bytes
    price: int  # effective gas price at the protocol base fee: the ordering key
    seq: int  # arrival order, the tie-break
    worst_cost: int  # what the sender must afford: see `worst_cost`

    @property
    def nonce(self) -> int:
        return self.tx.nonce


def worst_cost(tx: Transaction) -> int:
    """value + gas_limit * max_fee_per_gas, plus a task's escrow (it leaves the balance too)."""
    cost = tx.value + tx.gas_limit * tx.max_fee_per_gas
    if tx.kind is TxKind.TASK:
        request = tx.task_request  # valid: the entry checks passed
        cost += request.max_cycles * request.fee_per_cycle
    return cost


_STATIC_REASONS = {
    "wrong_chain": "invalid chain id",
    "bad_signature": "invalid sender",
    "fee_tip_above_cap": "max priority fee per gas higher than max fee per gas",
    "fee_cap_below_base_fee": "max fee per gas less than block base fee",
    "intrinsic_gas": "intrinsic gas too low",
    "gas_limit_above_block": "exceeds block gas limit",
}


class Mempool:
    def __init__(
        self,
        chain_id: int,
        params: ProtocolParams,
        head_state: Callable[[], State],
        is_committed: Callable[[bytes], bool],
        config: MempoolConfig | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.params = params
        self._head_state = head_state
        self._is_committed = is_committed
        self.config = config or MempoolConfig()
        self._by_hash: dict[bytes, PoolEntry] = {}
        self._by_sender: dict[bytes, dict[int, PoolEntry]] = {}
        # Sum of worst_cost over each sender's pending entries: the affordability rule is then
        # O(1) for the usual next-nonce arrival instead of a sum over the sender's pending
        # entries (under load 60 of them, a third of the admission time).
        self._sender_cost: dict[bytes, int] = {}
        self._seq = itertools.count()
        self._state: State | None = None

    # ---- queries ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> PoolEntry | None:
        return self._by_hash.get(tx_hash)

    def head_state(self) -> State:
        # One copy of the head state per head: re-made after every block by `update`.
        if self._state is None:
            self._state = self._head_state()
        return self._state

    def committed_nonce(self, sender: bytes) -> int:
        return self.head_state().account(sender).nonce

    def pending_nonce(self, sender: bytes) -> int:
        """The next nonce to use: committed nonce plus the consecutive pending ones."""
        nonce = self.committed_nonce(sender)
        txs = self._by_sender.get(sender, {})
        while nonce in txs:
            nonce += 1
        return nonce

    # ---- entry --------------------------------------------------------------------------
    def add(self, raw: bytes) -> PoolEntry:
        """Admit a raw transaction or raise MempoolRejected."""
        # Rule: no duplicates. A transaction's hash is keccak256 of its raw bytes (decoding
        # only accepts the canonical encoding), so a known one is recognised before the
        # decode (~0.5 ms under devnet load): most gossip copies reach a busy node after the
        # block with them committed (docs/benchmarks.md, "Pubsub per-message cost").
        if isinstance(raw, bytes | bytearray):
            tx_hash = keccak256(bytes(raw))
            if tx_hash in self._by_hash or self._is_committed(tx_hash):
                raise MempoolRejected("already known")
        try:
            tx = Transaction.decode(raw)
        except DecodingError as exc:
            raise MempoolRejected(f"invalid transaction: {exc}", invalid=True) from None
        try:
            check_transaction_static(tx, self.chain_id, self.params)
        except InvalidTransaction as exc:
            if exc.reason == "wrong_chain":
                raise MempoolRejected(
                    f"invalid chain id: have {tx.chain_id}, want {self.chain_id}", invalid=True
                ) from None
            words = _STATIC_REASONS.get(exc.reason, exc.reason.replace("_", " "))
            raise MempoolRejected(
                f"{words}: {exc.detail}" if exc.detail else words, invalid=True
            ) from None
        sender = tx.sender
        state = self.head_state()
        # Rule: a task names a deployed program and a deploy a new one; otherwise the proposer
        # would drop it (and the sender's later nonces) and the submitter would never know.
        if tx.kind is TxKind.TASK:
            image_id = tx.task_request.image_id
            if state.program(image_id) is None:
                raise MempoolRejected(f"unknown program: image id {image_id.hex()} is not deployed")
        elif tx.kind is TxKind.DEPLOY:
            try:
                image_id = image_id_bytes_of_elf(tx.data)
            except InvalidTransaction as exc:
                raise MempoolRejected(f"invalid program: {exc.detail}") from None
            if state.program(image_id) is not None:
                raise MempoolRejected(f"program already deployed: image id {image_id.hex()}")
        account = state.account(sender)
        if tx.nonce < account.nonce:
            raise MempoolRejected(f"nonce too low: next nonce {account.nonce}, tx nonce {tx.nonce}")
        txs = self._by_sender.get(sender, {})
        next_nonce = self.pending_nonce(sender)
        if tx.nonce > next_nonce + self.config.max_nonce_gap:
            raise MempoolRejected(f"nonce too high: next nonce {next_nonce}, tx nonce {tx.nonce}")
        price = min(tx.max_fee_per_gas, self.params.base_fee_per_gas + tx.max_priority_fee_per_gas)
        old = txs.get(tx.nonce)
        if old is not None:
            bump = old.price * (100 + self.config.replace_bump_percent)
            if price * 100 < bump:
                raise MempoolRejected("replacement transaction underpriced")
        entry = PoolEntry(tx, bytes(raw), sender, price, next(self._seq), worst_cost(tx))
        # Rule: the sender affords this and every pending transaction before it.
        if old is None and (not txs or max(txs) < tx.nonce):
            committed_before = self._sender_cost.get(sender, 0)
        else:
            committed_before = sum(e.worst_cost for n, e in txs.items() if n < tx.nonce)
        if account.balance < committed_before + entry.worst_cost:
            raise MempoolRejected("insufficient funds for gas * price + value")
        if tx.kind is TxKind.STAKE:
            # Rule: a staking operation must apply to the head state (execution.staking names
            # the reason: bad_owner_signature, duplicate_key, not_validator, ...). Checked
            # after the funds: a bond's owner signature costs a pairing (~7 ms), which an
            # account with nothing must not make the node pay per transaction.
            try:
                check_staking(
                    state, sender, tx.staking_op, tx.value, self.params, chain_id=self.chain_id
                )
            except InvalidTransaction as exc:
                raise MempoolRejected(f"invalid staking transaction: {exc}") from None
        if old is None and len(self._by_hash) >= self.config.max_txs:
            cheapest = min(self._by_hash.values(), key=lambda e: (e.price, -e.seq))
            if cheapest.price >= price:
                raise MempoolRejected("txpool is full")
            self._drop_from(cheapest.sender, cheapest.nonce)
        if old is not None:
            self._remove(old)
        self._insert(entry)
        return entry

    def _insert(self, entry: PoolEntry) -> None:
        self._by_hash[entry.tx.hash] = entry
        self._by_sender.setdefault(entry.sender, {})[entry.nonce] = entry
        self._sender_cost[entry.sender] = self._sender_cost.get(entry.sender, 0) + entry.worst_cost

    def _remove(self, entry: PoolEntry) -> None:
        self._by_hash.pop(entry.tx.hash, None)
        txs = self._by_sender.get(entry.sender)
        if txs is not None:
            if txs.get(entry.nonce) is entry:
                del txs[entry.nonce]
                self._sender_cost[entry.sender] -= entry.worst_cost
            if not txs:
                del self._by_sender[entry.sender]
                self._sender_cost.pop(entry.sender, None)

    def _drop_from(self, sender: bytes, nonce: int) -> None:
        """Drop `sender`'s transactions from `nonce` on (they depend on the dropped one)."""
        for entry in [e for n, e in self._by_sender.get(sender, {}).items() if n >= nonce]:
            self._remove(entry)

    # ---- blocks -------------------------------------------------------------------------
    def ordered(self) -> Iterator[PoolEntry]:
        """Executable transactions by fee then nonce (each sender's nonces in order)."""
        state = self.head_state()
        heap: list[tuple[int, int, bytes, int]] = []
        for sender, txs in self._by_sender.items():
            nonce = state.account(sender).nonce
            entry = txs.get(nonce)
            if entry is not None:
                heap.append((-entry.price, entry.seq, sender, nonce))
        heapq.heapify(heap)
        while heap:
            _, _, sender, nonce = heapq.heappop(heap)
            txs = self._by_sender.get(sender, {})
            entry = txs.get(nonce)
            if entry is None:
                continue
            yield entry
            following = txs.get(nonce + 1)
            if following is not None:
                heapq.heappush(heap, (-following.price, following.seq, sender, nonce + 1))

    def update(self, committed: list[bytes]) -> None:
        """A block was committed: drop its transactions, re-check the rest on the new head."""
        for tx_hash in committed:
            entry = self._by_hash.get(tx_hash)
            if entry is not None:
                self._remove(entry)
        self._state = None
        state = self.head_state()
        for sender in list(self._by_sender):
            account = state.account(sender)
            spent = 0
            for nonce in sorted(self._by_sender.get(sender, {})):
                entry = self._by_sender[sender][nonce]
                if nonce < account.nonce:
                    self._remove(entry)
                    continue
                spent += entry.worst_cost
                if spent > account.balance:
                    self._drop_from(sender, nonce)
                    break

    def remove(self, tx_hash: bytes) -> None:
        """Drop one transaction (and its sender's later ones): it failed to apply."""
        entry = self._by_hash.get(tx_hash)
        if entry is not None:
            self._drop_from(entry.sender, entry.nonce)
