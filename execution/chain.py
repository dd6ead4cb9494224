"""A chain on disk: genesis, the head, and committing blocks atomically.

Everything one block commit writes (trie nodes, the block, its receipts, the transaction
index and the new head) goes into one LevelDB WriteBatch written with sync=True, so a kill -9
at any instant leaves either the old head or the new one, never a mix.
"""

from __future__ import annotations

import gc
from pathlib import Path

from execution.staking import genesis_staking
from execution.state import Account, Program, State, ValidatorRecord
from execution.transition import BlockContext, apply_block, execute_body
from execution.types.block import ZERO_HASH, Block, Header, evidence_root, transactions_root
from execution.types.errors import DecodingError, ExecutionError, InvalidBlock
from execution.types.hashing import keccak256
from execution.types.receipt import Receipt, decode_receipts, encode_receipts, receipts_root
from execution.types.transaction import Transaction, TxKind
from genesis.document import Genesis
from storage import block_store, schema
from storage.database import Database
from storage.mpt import EMPTY_ROOT, Trie


def relax_gc() -> None:
    """Raise CPython's cyclic-GC thresholds for a process that runs a chain.

    Committing a block allocates tens of thousands of acyclic objects (trie nodes, decoded
    transactions, receipts); with the default gen-0 threshold of 700 the collector rescans the
    growing heap so often that it took 75% of the state-root phase (159 against 41 us per
    transfer, bench/bench_chain_commit.py). Nothing here relies on cycles being collected
    promptly, so collect rarely instead. Process-wide: the node and benchmarks call it, the
    library does not."""
    gc.set_threshold(100_000, 50, 1000)


class ChainError(ExecutionError):
    """The database does not belong to this genesis, or is damaged."""


def check_proof_params(genesis: Genesis) -> None:
    """The genesis names a proof profile and spells out its FRI parameters; task proofs are
    verified under the named profile, so the spelled-out values must be that profile's, or the
    genesis would claim a security level the chain does not enforce."""
    from execution.stark.params import ParamsError, profile

    wanted = genesis.params.proof
    try:
        fri = profile(wanted.profile)
    except ParamsError as exc:
        raise ChainError(f"genesis params.proof.profile: {exc}") from exc
    for name, have, expected in (
        ("log_blowup", wanted.log_blowup, fri.log_blowup),
        ("num_queries", wanted.num_queries, fri.num_queries),
        ("grinding_bits", wanted.grinding_bits, fri.pow_bits),
    ):
        if have != expected:
            raise ChainError(
                f"genesis params.proof.{name} is {have}, but profile {wanted.profile!r} "
                f"uses {expected}"
            )


def genesis_block(genesis: Genesis, state_root: bytes) -> Block:
    header = Header(
        chain_id=genesis.eth_chain_id,
        height=0,
        time_ms=genesis.genesis_time_ms,
        parent_hash=ZERO_HASH,
        proposer=b"\x00" * 20,
        state_root=state_root,
        transactions_root=transactions_root([]),
        receipts_root=receipts_root([]),
        last_commit_hash=keccak256(b""),
        evidence_root=evidence_root([]),
        gas_used=0,
    )
    return Block(header)


def genesis_state(genesis: Genesis, trie: Trie) -> State:
    state = State(trie)
    for acct in genesis.accounts:
        state.set_account(acct.address, Account(0, acct.balance))
    genesis_staking(
        state,
        [
            ValidatorRecord(v.address, v.bls_public_key, v.power, v.reward_address)
            for v in genesis.validators
        ],
        list(genesis.provers),
        genesis.params,
    )
    return state


class Chain:
    def __init__(self, db: Database, genesis: Genesis, head: Block, state: State) -> None:
        self.db = db
        self.genesis = genesis
        # Computed once (Genesis.hash serializes the whole document): proof envelopes bind it.
        self.genesis_hash = genesis.hash
        self.head = head
        self._state = state
        self._executed: tuple[bytes, bytes, State, list[Receipt]] | None = None

    # -- opening ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, genesis: Genesis) -> Chain:
        """Open (or create from `genesis`) the chain database at `path`."""
        db = Database.open(path)
        try:
            return cls._open(db, genesis)
        except BaseException:
            db.close()
            raise

    @classmethod
    def _open(cls, db: Database, genesis: Genesis) -> Chain:
        check_proof_params(genesis)
        stored_genesis = db.get(schema.genesis_hash())
        if stored_genesis is None:
            state = genesis_state(genesis, Trie(cls._reader(db)))
            with db.batch() as batch:
                root = state.commit(batch)
                block = genesis_block(genesis, root)
                block_store.put_block(batch, 0, block.hash, block.encode(), [], encode_receipts([]))
                batch.put(schema.genesis_hash(), genesis.hash)
                batch.put(schema.format_version(), schema.STORAGE_FORMAT.to_bytes(4, "big"))
            return cls(db, genesis, block, state)
        stored_format = db.get(schema.format_version())
        if stored_format != schema.STORAGE_FORMAT.to_bytes(4, "big"):
            written = (
                "an older format"
                if stored_format is None
                else (f"format {int.from_bytes(stored_format, 'big')}")
            )
            raise ChainError(
                f"database {db.path} was written in {written}; this ivcnet reads format "
                f"{schema.STORAGE_FORMAT}: delete that folder to start the chain again "
                "(or sync it anew from peers)"
            )
        if stored_genesis != genesis.hash:
            raise ChainError(
                f"database {db.path} was created from another genesis "
                f"({stored_genesis.hex()[:16]}..., this one is {genesis.hash.hex()[:16]}...)"
            )
        head_ref = block_store.get_head(db)
        if head_ref is None:
            raise ChainError(f"database {db.path} has a genesis record but no head")
        head = cls._load_block(db, head_ref[1])
        root = head.header.state_root
        root_node = db.get(schema.trie_node(root))
        if root != EMPTY_ROOT and (root_node is None or keccak256(root_node) != root):
            raise ChainError(f"state root of head block {head.height} is missing or damaged")
        state = State(Trie(cls._reader(db), root))
        return cls(db, genesis, head, state)

    @staticmethod
    def _reader(db: Database):  # type: ignore[no-untyped-def]
        def read(node_hash: bytes) -> bytes | None:
            return db.get(schema.trie_node(node_hash))

        return read

    @staticmethod
    def _load_block(db: Database, block_hash: bytes) -> Block:
        raw = block_store.block_bytes(db, block_hash)
        if raw is None:
            raise ChainError(f"block {block_hash.hex()} is missing from {db.path}")
        try:
            return Block.decode(raw)
        except DecodingError as exc:
            raise ChainError(f"block {block_hash.hex()} is corrupt: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    # -- reading ----------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.head.height

    @property
    def chain_id(self) -> int:
        return self.genesis.eth_chain_id

    def state(self) -> State:
        """A copy of the head state: reads and speculative writes never touch the head."""
        return self._state.copy()

    def head_view(self) -> State:
        """A fresh read-only-by-convention state at the head root, with no copied caches:
        for readers of a few records (the validator set schedule), far cheaper than state()."""
        return State(Trie(self._reader(self.db), self.head.header.state_root))

    def state_at(self, height: int) -> State:
        block = self.block_at(height)
        if block is None:
            raise ChainError(f"no block at height {height}")
        return State(Trie(self._reader(self.db), block.header.state_root))

    def block_at(self, height: int) -> Block | None:
        block_hash = block_store.hash_at(self.db, height)
        return None if block_hash is None else self._load_block(self.db, block_hash)

    def block_by_hash(self, block_hash: bytes) -> Block | None:
        raw = block_store.block_bytes(self.db, block_hash)
        return None if raw is None else Block.decode(raw)

    def receipts(self, block_hash: bytes) -> list[Receipt] | None:
        raw = block_store.receipts_bytes(self.db, block_hash)
        return None if raw is None else decode_receipts(raw)

    def transaction_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        return block_store.tx_location(self.db, tx_hash)

    # -- building and committing ------------------------------------------------------------
    def build_block(
        self,
        transactions: list[bytes],
        proposer: bytes,
        time_ms: int,
        last_commit: bytes = b"",
        evidence: tuple[bytes, ...] = (),
        universal_proofs: tuple[bytes, ...] = (),
    ) -> Block:
        """The next block with these transactions and Universal Proofs, its roots computed
        (for a proposer). Raises InvalidBlock if any of them is invalid."""
        state = self.state()
        height = self.height + 1
        ctx = BlockContext(self.chain_id, height, proposer, self.genesis.params, self.genesis_hash)
        refs, receipts = execute_body(
            state, transactions, universal_proofs, ctx, self._hash_at, evidence, self._elf_of
        )
        header = Header(
            chain_id=self.chain_id,
            height=height,
            time_ms=time_ms,
            parent_hash=self.head.hash,
            proposer=proposer,
            state_root=state.root(),
            transactions_root=transactions_root(transactions),
            receipts_root=receipts_root(receipts),
            last_commit_hash=keccak256(last_commit),
            evidence_root=evidence_root(evidence),
            gas_used=receipts[-1].cumulative_gas_used if receipts else 0,
            universal_proofs=tuple(refs),
        )
        block = Block(
            header, tuple(transactions), last_commit, tuple(evidence), tuple(universal_proofs)
        )
        self._remember(block, state, receipts)
        return block

    def _remember(self, block: Block, state: State, receipts: list[Receipt]) -> None:
        """Keep the outcome of executing `block` on the current head, so that checking a
        proposal and then committing it executes (and verifies its proofs) once, not twice."""
        self._executed = (keccak256(block.encode()), self.head.hash, state, receipts)

    def _recall(self, block: Block) -> tuple[State, list[Receipt]] | None:
        if self._executed is not None:
            # Keyed by the whole encoding, not the header hash: a body that differs from the
            # one executed (under the same header) must be executed, and refused, on its own.
            block_key, head_hash, state, receipts = self._executed
            if head_hash == self.head.hash and block_key == keccak256(block.encode()):
                return state, receipts
        return None

    def _hash_at(self, height: int) -> bytes | None:
        return block_store.hash_at(self.db, height)

    def _elf_of(self, record: Program) -> bytes | None:
        """A deployed program's ELF, from its deploy transaction (the state keeps its hash):
        what a v1 Universal Proof's outer checks rebuild the task's tables from."""
        block = self.block_at(record.height)
        for raw in block.transactions if block is not None else ():
            tx = Transaction.decode(raw)
            if tx.kind is TxKind.DEPLOY and keccak256(tx.data) == record.elf_hash:
                return tx.data
        return None

    def validate_next(self, block: Block) -> None:
        header = block.header
        if header.height != self.height + 1:
            raise InvalidBlock("bad_height", f"expected {self.height + 1}, got {header.height}")
        if header.parent_hash != self.head.hash:
            raise InvalidBlock("bad_parent_hash")
        if header.time_ms <= self.head.header.time_ms:
            raise InvalidBlock("bad_time", "block time must increase")

    def commit_at(self, height: int) -> bytes | None:
        """The commit certificate that decided block `height` (opaque consensus bytes), kept so
        that a syncing peer can verify the head block before a successor carries it."""
        return block_store.commit_at(self.db, height)

    def check_block(self, block: Block) -> None:
        """Everything commit_block checks, without writing: for a validator judging a proposal."""
        self.validate_next(block)
        if self._recall(block) is None:
            state, receipts = self._apply(block)
            self._remember(block, state, receipts)

    def _apply(self, block: Block) -> tuple[State, list[Receipt]]:
        """The state and receipts of `block` on the head (nothing written)."""
        return apply_block(
            self._state,
            block,
            self.chain_id,
            self.genesis.params,
            self.genesis_hash,
            self._hash_at,
            self._elf_of,
        )

    def commit_block(self, block: Block, commit: bytes | None = None) -> list[Receipt]:
        """Validate and apply `block` on the head and write it, all or nothing.

        `commit` is the certificate that decided it, stored in the same batch when given."""
        self.validate_next(block)
        recalled = self._recall(block)
        if recalled is None:
            recalled = self._apply(block)
        new_state, receipts = recalled
        self._executed = None
        with self.db.batch() as batch:
            if commit is not None:
                batch.put(schema.commit_at(block.height), commit)
            new_state.commit(batch)
            block_store.put_block(
                batch,
                block.height,
                block.hash,
                block.encode(),
                [r.tx_hash for r in receipts],
                encode_receipts(receipts),
            )
        self.head = block
        self._state = new_state
        return receipts
