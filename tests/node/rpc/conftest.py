"""A real hypercorn JSON-RPC server on 127.0.0.1 over a small in-memory chain.

`FakeChain` is the one fake in these tests: the real chain (storage, state, mempool) is written
in parallel, and the server only sees it through `ChainView`. The fake is honest where the
server's behaviour depends on it: raw transactions are decoded and their signatures recovered
with eth-account, nonces and funds are checked, committed blocks apply the transfers, and
account proofs come from a real Merkle Patricia trie (the `trie` package).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import rlp
import sha3
import trio
from eth_account import Account
from trie import HexaryTrie

from execution.types import TASK_SYSTEM_ADDRESS, TaskRequest
from node.rpc import (
    EMPTY_CODE_HASH,
    EMPTY_TRIE_ROOT,
    AccountProof,
    CallRequest,
    NodeStatus,
    PeerInfo,
    ProgramInfo,
    RpcBlock,
    RpcConfig,
    RpcEndpoint,
    RpcReceipt,
    RpcTransaction,
    StateUnavailable,
    SyncStatus,
    TaskInfo,
    ValidatorInfo,
    rejected,
    serve_rpc,
)

CHAIN_ID = 1337
BASE_FEE = 1_000_000_000
TIP = 100_000_000
TRANSFER_GAS = 21_000
GENESIS_TIME = 1_700_000_000
# Deterministic test keys (never use outside tests).
KEYS = [bytes([i + 1]) * 32 for i in range(3)]
ACCOUNTS = [Account.from_key(key) for key in KEYS]
FUNDED = {bytes.fromhex(acct.address[2:]): 10**21 for acct in ACCOUNTS}
PROPOSER = bytes.fromhex("aa" * 20)
PROVER = bytes.fromhex("bb" * 20)
TASK_DEADLINE_BLOCKS = 100
POISONED = bytes.fromhex("de" * 20)  # balance() on this address raises a bug-like error


def keccak(data: bytes) -> bytes:
    return sha3.keccak_256(data).digest()


@dataclass
class Pending:
    tx: RpcTransaction
    raw: bytes


def _account_leaf(nonce: int, balance: int) -> bytes:
    return rlp.encode([nonce, balance, EMPTY_TRIE_ROOT, EMPTY_CODE_HASH])


class FakeChain:
    """An in-memory chain: states per height, blocks, a mempool; `commit_block` makes a block."""

    def __init__(self) -> None:
        self.states: list[dict[bytes, tuple[int, int]]] = []
        self.tries: list[HexaryTrie] = []
        self.blocks: list[RpcBlock] = []
        self.txs: dict[bytes, RpcTransaction] = {}
        self.receipts: dict[bytes, RpcReceipt] = {}
        self.mempool: dict[bytes, Pending] = {}
        self.tasks: dict[bytes, TaskInfo] = {}
        self.programs: dict[bytes, ProgramInfo] = {}
        self.is_syncing = False
        self.proven = 0
        self._seal({address: (0, balance) for address, balance in FUNDED.items()}, [])

    # -- test controls ------------------------------------------------------------------------

    def commit_block(self) -> RpcBlock:
        """Apply the mempool's transactions in arrival order and seal a block."""
        state = dict(self.states[-1])
        number = len(self.blocks)
        parent = self.blocks[-1].hash
        pending = list(self.mempool.values())
        self.mempool.clear()
        applied = []
        for index, item in enumerate(pending):
            tx = item.tx
            nonce, balance = state.get(tx.sender, (0, 0))
            price = min(tx.max_fee_per_gas, BASE_FEE + tx.max_priority_fee_per_gas)
            state[tx.sender] = (nonce + 1, balance - tx.value - TRANSFER_GAS * price)
            if tx.to is not None:
                to_nonce, to_balance = state.get(tx.to, (0, 0))
                state[tx.to] = (to_nonce, to_balance + tx.value)
            applied.append((index, tx, price))
            if tx.to == TASK_SYSTEM_ADDRESS:
                self._record_task(tx, number)
        block = self._seal(state, applied, number=number, parent=parent)
        for index, tx, price in applied:
            self.txs[tx.hash] = _replace_tx(tx, block, index, price)
            self.receipts[tx.hash] = RpcReceipt(
                transaction_hash=tx.hash,
                transaction_index=index,
                block_hash=block.hash,
                block_number=block.number,
                sender=tx.sender,
                to=tx.to,
                success=True,
                gas_used=TRANSFER_GAS,
                cumulative_gas_used=TRANSFER_GAS * (index + 1),
                effective_gas_price=price,
                tx_type=2,
            )
        return block

    def _record_task(self, tx: RpcTransaction, height: int) -> None:
        request = TaskRequest.decode(tx.input)
        self.tasks[tx.hash] = TaskInfo(
            task_id=tx.hash,
            image_id=request.image_id,
            submitter=tx.sender,
            input=request.input,
            max_cycles=request.max_cycles,
            fee_per_cycle=request.fee_per_cycle,
            escrow=request.max_cycles * request.fee_per_cycle,
            status="pending",
            submitted_height=height,
            deadline_height=height + TASK_DEADLINE_BLOCKS,
        )

    def prove_task(self, task_id: bytes, exit_code: int, output: bytes, cycles: int) -> None:
        """Mark a task proven with a result, as a block bringing its Universal Proof would."""
        task = self.tasks[task_id]
        self.tasks[task_id] = dataclasses.replace(
            task, status="proven", exit_code=exit_code, output=output, cycles=cycles, prover=PROVER
        )

    def _seal(
        self,
        state: dict[bytes, tuple[int, int]],
        applied: list[tuple[int, RpcTransaction, int]],
        number: int = 0,
        parent: bytes = b"\x00" * 32,
    ) -> RpcBlock:
        trie = HexaryTrie(db={})
        for address, (nonce, balance) in state.items():
            trie[keccak(address)] = _account_leaf(nonce, balance)
        hashes = tuple(tx.hash for _, tx, _ in applied)
        tx_root = keccak(rlp.encode(list(hashes)))
        header = rlp.encode([number, parent, trie.root_hash, tx_root, GENESIS_TIME + number])
        block = RpcBlock(
            number=number,
            hash=keccak(header),
            parent_hash=parent,
            timestamp=GENESIS_TIME + number,
            proposer=PROPOSER,
            state_root=trie.root_hash,
            transactions_root=tx_root,
            receipts_root=keccak(b"receipts" + tx_root),
            transaction_hashes=hashes,
            size=len(header) + sum(len(h) for h in hashes),
            gas_limit=30_000_000,
            gas_used=TRANSFER_GAS * len(hashes),
            base_fee_per_gas=BASE_FEE,
        )
        self.states.append(state)
        self.tries.append(trie)
        self.blocks.append(block)
        return block

    # -- ChainView ----------------------------------------------------------------------------

    async def chain_id(self) -> int:
        return CHAIN_ID

    async def head_height(self) -> int:
        return len(self.blocks) - 1

    def _state(self, height: int | None) -> dict[bytes, tuple[int, int]]:
        if height is not None and height < 0:
            raise StateUnavailable(height)
        return self.states[-1 if height is None else height]

    async def balance(self, address: bytes, height: int | None) -> int:
        if address == POISONED:
            raise KeyError("simulated bug in the chain view")
        return self._state(height).get(address, (0, 0))[1]

    async def nonce(self, address: bytes, height: int | None) -> int:
        committed = self._state(height).get(address, (0, 0))[0]
        if height is not None:
            return committed
        return committed + sum(1 for p in self.mempool.values() if p.tx.sender == address)

    def _block(self, block: RpcBlock, full: bool) -> RpcBlock:
        if not full:
            return block
        txs = tuple(self.txs[h] for h in block.transaction_hashes)
        return RpcBlock(**{**_fields(block), "transactions": txs})

    async def block_by_number(self, number: int, full_transactions: bool) -> RpcBlock | None:
        if number >= len(self.blocks):
            return None
        return self._block(self.blocks[number], full_transactions)

    async def block_by_hash(self, block_hash: bytes, full_transactions: bool) -> RpcBlock | None:
        for block in self.blocks:
            if block.hash == block_hash:
                return self._block(block, full_transactions)
        return None

    async def transaction_by_hash(self, tx_hash: bytes) -> RpcTransaction | None:
        if tx_hash in self.mempool:
            return self.mempool[tx_hash].tx
        return self.txs.get(tx_hash)

    async def receipt_by_hash(self, tx_hash: bytes) -> RpcReceipt | None:
        return self.receipts.get(tx_hash)

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        tx = decode_raw_transaction(raw)
        if tx.hash in self.mempool or tx.hash in self.txs:
            raise rejected("already_known")
        if tx.chain_id != CHAIN_ID:
            raise rejected("wrong_chain", f"have {tx.chain_id}, want {CHAIN_ID}")
        expected = await self.nonce(tx.sender, None)
        if tx.nonce < expected:
            raise rejected("nonce_too_low", f"next nonce {expected}, tx nonce {tx.nonce}")
        if tx.nonce > expected:
            raise rejected("nonce_too_high", f"next nonce {expected}, tx nonce {tx.nonce}")
        balance = await self.balance(tx.sender, None)
        if tx.value + tx.gas * tx.max_fee_per_gas > balance:
            raise rejected("insufficient_balance")
        self.mempool[tx.hash] = Pending(tx, raw)
        return tx.hash

    async def estimate_gas(self, call: CallRequest) -> int:
        if call.sender is not None and call.value > await self.balance(call.sender, None):
            raise rejected("insufficient_balance")
        return TRANSFER_GAS + 16 * len(call.data)

    async def suggested_priority_fee(self) -> int:
        return TIP

    async def account_proof(self, address: bytes, height: int) -> AccountProof:
        nonce, balance = self._state(height).get(address, (0, 0))
        proof = self.tries[height].get_proof(keccak(address))
        return AccountProof(
            address=address,
            nonce=nonce,
            balance=balance,
            code_hash=EMPTY_CODE_HASH,
            storage_hash=EMPTY_TRIE_ROOT,
            proof=tuple(rlp.encode(node) for node in proof),
        )

    async def validators(self, height: int) -> list[ValidatorInfo]:
        return [
            ValidatorInfo(address=PROPOSER, bls_public_key=b"\x11" * 48, voting_power=10),
            ValidatorInfo(address=b"\xbb" * 20, bls_public_key=b"\x22" * 48, voting_power=5),
        ]

    async def peers(self) -> list[PeerInfo]:
        return [
            PeerInfo("12D3KooWPeerA", ("/ip4/127.0.0.1/tcp/26656",)),
            PeerInfo("12D3KooWPeerB", ("/ip4/127.0.0.1/tcp/26657",)),
        ]

    async def syncing(self) -> SyncStatus:
        head = len(self.blocks) - 1
        if self.is_syncing:
            return SyncStatus(True, 0, head, head + 100)
        return SyncStatus(False, head, head, head)

    async def status(self) -> NodeStatus:
        return NodeStatus(
            node_id="12D3KooWSelf",
            moniker="test-node",
            version="0.1.0",
            listen_addresses=("/ip4/127.0.0.1/tcp/26655",),
            validator_address=PROPOSER,
        )

    async def program(self, image_id: bytes) -> ProgramInfo | None:
        return self.programs.get(image_id)

    async def task(self, task_id: bytes) -> TaskInfo | None:
        return self.tasks.get(task_id)

    async def proven_height(self) -> int:
        return self.proven


def _fields(block: RpcBlock) -> dict[str, Any]:
    return {name: getattr(block, name) for name in RpcBlock.__dataclass_fields__}


def _replace_tx(tx: RpcTransaction, block: RpcBlock, index: int, price: int) -> RpcTransaction:
    values = {name: getattr(tx, name) for name in RpcTransaction.__dataclass_fields__}
    values.update(
        block_hash=block.hash, block_number=block.number, transaction_index=index, gas_price=price
    )
    return RpcTransaction(**values)


def decode_raw_transaction(raw: bytes) -> RpcTransaction:
    """An EIP-1559 envelope (type 2), its sender recovered from the signature."""
    if not raw or raw[0] != 2:
        raise rejected("malformed_transaction", "transaction type not supported")
    try:
        fields = rlp.decode(raw[1:])
        sender_hex = Account.recover_transaction(raw)
    except Exception as exc:
        raise rejected("malformed_transaction", type(exc).__name__) from None
    if not isinstance(fields, list) or len(fields) != 12:
        raise rejected("malformed_transaction", "wrong number of fields")
    chain_id, nonce, tip, max_fee, gas, to, value, data, _access, y_parity, r, s = fields

    def num(b: bytes) -> int:
        return int.from_bytes(b, "big")

    return RpcTransaction(
        hash=keccak(raw),
        nonce=num(nonce),
        sender=bytes.fromhex(sender_hex[2:]),
        to=to or None,
        value=num(value),
        input=data,
        gas=num(gas),
        gas_price=num(max_fee),
        max_fee_per_gas=num(max_fee),
        max_priority_fee_per_gas=num(tip),
        chain_id=num(chain_id),
        tx_type=2,
        kind="transfer",
        y_parity=num(y_parity),
        r=num(r),
        s=num(s),
    )


class RpcClient:
    """JSON-RPC helper over a keep-alive httpx client."""

    def __init__(self, endpoint: RpcEndpoint, chain: FakeChain, http: httpx.AsyncClient) -> None:
        self.endpoint = endpoint
        self.url = endpoint.url
        self.chain = chain
        self.http = http
        self._next_id = 0

    async def post(self, payload: Any, **kwargs: Any) -> httpx.Response:
        return await self.http.post(self.url, json=payload, **kwargs)

    async def request(self, method: str, *params: Any) -> dict[str, Any]:
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        response = await self.post(body)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert answer["jsonrpc"] == "2.0"
        assert answer["id"] == self._next_id
        return answer

    async def call(self, method: str, *params: Any) -> Any:
        answer = await self.request(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    async def assert_up(self) -> None:
        """The server still answers a plain request correctly."""
        assert await self.call("eth_chainId") == hex(CHAIN_ID)

    async def error(self, method: str, *params: Any) -> dict[str, Any]:
        answer = await self.request(method, *params)
        assert "result" not in answer, answer
        error: dict[str, Any] = answer["error"]
        return error


SMALL_LIMITS = {"max_body_bytes": 64 * 1024, "max_batch": 20}


async def _proven(view: Any) -> int:
    height: int = await view.proven_height()
    return height


@pytest.fixture
def chain() -> FakeChain:
    return FakeChain()


@pytest.fixture
async def rpc(nursery: trio.Nursery) -> AsyncIterator[RpcClient]:
    chain = FakeChain()
    config = RpcConfig(
        host="127.0.0.1",
        port=0,
        client_version="ivcnet/test",
        extra_block_tags={"proven": _proven},
        **SMALL_LIMITS,  # type: ignore[arg-type]
    )
    endpoint: RpcEndpoint = await nursery.start(serve_rpc, config, chain)
    async with httpx.AsyncClient(timeout=10) as http:
        yield RpcClient(endpoint, chain, http)
