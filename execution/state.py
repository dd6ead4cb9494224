"""The world state: accounts, programs, tasks and validators in one Merkle Patricia trie.

Keys are 32 bytes. Accounts sit at keccak(address) with Ethereum's account encoding
[nonce, balance, storage_root, code_hash], so `eth_getProof` answers are Ethereum's own;
programs, tasks and the validator set sit at keccak of a domain tag and their id.
Reads go through an overlay of decoded records; writes stay in the overlay until `commit`,
so a block that fails half-way leaves the state it started from untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import rusty_rlp

from execution.types.errors import DecodingError
from execution.types.hashing import keccak256
from storage.database import WriteBatch
from storage.mpt import EMPTY_ROOT, Trie

EMPTY_CODE_HASH = keccak256(b"")


def uint_bytes(n: int) -> bytes:
    """Minimal big-endian bytes of n (RLP's integer form; b\"\" for 0)."""
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def decode_uint(item: object, what: str) -> int:
    """The integer of a canonical RLP integer item; DecodingError names `what` otherwise."""
    if not isinstance(item, bytes) or item[:1] == b"\x00":
        raise DecodingError(f"corrupt {what}")
    return int.from_bytes(item, "big")


def _decode_list(raw: bytes, n: int, what: str) -> list[bytes]:
    try:
        items = rusty_rlp.decode_raw(raw, True, False)[0]
    except rusty_rlp.DecodingError as exc:
        raise DecodingError(f"corrupt {what}: {exc}") from exc
    if (
        not isinstance(items, list)
        or len(items) != n
        or not all(isinstance(i, bytes) for i in items)
    ):
        raise DecodingError(f"corrupt {what}")
    return items


@dataclass(frozen=True)
class Account:
    nonce: int = 0
    balance: int = 0

    def encode(self) -> bytes:
        return rusty_rlp.encode_raw(
            [uint_bytes(self.nonce), uint_bytes(self.balance), EMPTY_ROOT, EMPTY_CODE_HASH]
        )

    @classmethod
    def decode(cls, raw: bytes) -> Account:
        nonce, balance, _storage, _code = _decode_list(raw, 4, "account")
        return cls(decode_uint(nonce, "account nonce"), decode_uint(balance, "account balance"))


@dataclass(frozen=True)
class Program:
    image_id: bytes
    elf_hash: bytes
    elf_size: int
    deployer: bytes
    height: int

    @property
    def address(self) -> bytes:
        return program_address(self.image_id)

    def encode(self) -> bytes:
        return rusty_rlp.encode_raw(
            [
                self.image_id,
                self.elf_hash,
                uint_bytes(self.elf_size),
                self.deployer,
                uint_bytes(self.height),
            ]
        )

    @classmethod
    def decode(cls, raw: bytes) -> Program:
        image_id, elf_hash, size, deployer, height = _decode_list(raw, 5, "program")
        return cls(
            image_id,
            elf_hash,
            decode_uint(size, "program"),
            deployer,
            decode_uint(height, "program"),
        )


class TaskStatus(IntEnum):
    PENDING = 0
    PROVEN = 1
    EXPIRED = 2


@dataclass(frozen=True)
class Task:
    task_id: bytes
    image_id: bytes
    submitter: bytes
    input: bytes
    max_cycles: int
    fee_per_cycle: int
    escrow: int
    status: TaskStatus
    submitted_height: int
    deadline_height: int
    exit_code: int = 0
    output: bytes = b""
    cycles: int = 0
    prover: bytes = b""

    def encode(self) -> bytes:
        return rusty_rlp.encode_raw(
            [
                self.task_id,
                self.image_id,
                self.submitter,
                self.input,
                uint_bytes(self.max_cycles),
                uint_bytes(self.fee_per_cycle),
                uint_bytes(self.escrow),
                uint_bytes(int(self.status)),
                uint_bytes(self.submitted_height),
                uint_bytes(self.deadline_height),
                uint_bytes(self.exit_code),
                self.output,
                uint_bytes(self.cycles),
                self.prover,
            ]
        )

    @classmethod
    def decode(cls, raw: bytes) -> Task:
        f = _decode_list(raw, 14, "task")
        status = decode_uint(f[7], "task status")
        if status not in TaskStatus._value2member_map_:
            raise DecodingError("corrupt task status")
        return cls(
            f[0],
            f[1],
            f[2],
            f[3],
            decode_uint(f[4], "task"),
            decode_uint(f[5], "task"),
            decode_uint(f[6], "task"),
            TaskStatus(status),
            decode_uint(f[8], "task"),
            decode_uint(f[9], "task"),
            decode_uint(f[10], "task"),
            f[11],
            decode_uint(f[12], "task"),
            f[13],
        )

    def with_result(self, exit_code: int, output: bytes, cycles: int, prover: bytes) -> Task:
        return replace(
            self,
            status=TaskStatus.PROVEN,
            exit_code=exit_code,
            output=output,
            cycles=cycles,
            prover=prover,
        )


@dataclass(frozen=True)
class ValidatorRecord:
    address: bytes
    bls_public_key: bytes
    power: int
    reward_address: bytes = b""  # empty: the tips of its blocks are burned


def account_key(address: bytes) -> bytes:
    return keccak256(address)


def program_key(image_id: bytes) -> bytes:
    return keccak256(b"ivcnet/program/" + image_id)


def task_key(task_id: bytes) -> bytes:
    return keccak256(b"ivcnet/task/" + task_id)


VALIDATORS_KEY = keccak256(b"ivcnet/validators")
ACCOUNT_CACHE_LIMIT = 1 << 16


def deadline_key(height: int) -> bytes:
    """The ids of the tasks whose proving deadline is `height`, in submission order."""
    return keccak256(b"ivcnet/deadline/" + height.to_bytes(8, "big"))


def program_address(image_id: bytes) -> bytes:
    """The 20-byte address a deploy receipt reports for a program."""
    return keccak256(b"ivcnet/program-address/" + image_id)[12:]


class State:
    """A mutable view of the state at one root. Not thread-safe; one block at a time."""

    def __init__(self, trie: Trie) -> None:
        self._trie = trie
        self._accounts: dict[bytes, Account] = {}  # decoded accounts read or written
        self._dirty_accounts: set[bytes] = set()  # addresses written since the last flush
        self._dirty: dict[bytes, bytes] = {}  # trie key -> encoded record
        self._due: dict[int, list[bytes]] = {}  # deadline height -> task ids, encoded at flush

    def copy(self) -> State:
        """An independent state at the same root, sharing loaded trie nodes."""
        other = State(self._trie.copy())
        other._accounts = dict(self._accounts)
        other._dirty_accounts = set(self._dirty_accounts)
        other._dirty = dict(self._dirty)
        other._due = {h: list(ids) for h, ids in self._due.items()}
        return other

    # -- accounts ---------------------------------------------------------------------------
    def account(self, address: bytes) -> Account:
        acct = self._accounts.get(address)
        if acct is None:
            raw = self._trie.get(account_key(address))
            acct = Account.decode(raw) if raw is not None else Account()
            self._accounts[address] = acct
        return acct

    def set_account(self, address: bytes, account: Account) -> None:
        self._accounts[address] = account
        self._dirty_accounts.add(address)  # encoded once at flush: accounts change often

    # -- programs, tasks, validators --------------------------------------------------------
    def _record(self, key: bytes) -> bytes | None:
        if key in self._dirty:
            return self._dirty[key]
        return self._trie.get(key)

    def record(self, key: bytes) -> bytes | None:
        """The raw record at trie key `key` (for modules that keep their own records, such
        as execution.staking); None if absent."""
        return self._record(key)

    def set_record(self, key: bytes, raw: bytes) -> None:
        self._dirty[key] = raw

    def program(self, image_id: bytes) -> Program | None:
        raw = self._record(program_key(image_id))
        return Program.decode(raw) if raw else None

    def set_program(self, program: Program) -> None:
        self._dirty[program_key(program.image_id)] = program.encode()

    def task(self, task_id: bytes) -> Task | None:
        raw = self._record(task_key(task_id))
        return Task.decode(raw) if raw else None

    def set_task(self, task: Task) -> None:
        self._dirty[task_key(task.task_id)] = task.encode()

    def tasks_due(self, height: int) -> list[bytes]:
        if height in self._due:
            return list(self._due[height])
        raw = self._record(deadline_key(height))
        if not raw:
            return []
        try:
            ids = rusty_rlp.decode_raw(raw, True, False)[0]
        except rusty_rlp.DecodingError as exc:
            raise DecodingError(f"corrupt deadline index: {exc}") from exc
        if not isinstance(ids, list) or not all(isinstance(i, bytes) and len(i) == 32 for i in ids):
            raise DecodingError("corrupt deadline index")
        return ids

    def add_task_due(self, height: int, task_id: bytes) -> None:
        # Appended in memory and encoded once at flush: every task of a block shares one
        # deadline, so re-encoding the list per task would be quadratic in the block.
        if height not in self._due:
            self._due[height] = self.tasks_due(height)
        self._due[height].append(task_id)

    def validators(self) -> list[ValidatorRecord]:
        raw = self._record(VALIDATORS_KEY)
        if not raw:
            return []
        try:
            items = rusty_rlp.decode_raw(raw, True, False)[0]
            return [
                ValidatorRecord(a, k, decode_uint(p, "validator power"), r) for a, k, p, r in items
            ]
        except (rusty_rlp.DecodingError, ValueError, TypeError) as exc:
            raise DecodingError(f"corrupt validator set: {exc}") from exc

    def set_validators(self, validators: list[ValidatorRecord]) -> None:
        self._dirty[VALIDATORS_KEY] = rusty_rlp.encode_raw(
            [
                [v.address, v.bls_public_key, uint_bytes(v.power), v.reward_address]
                for v in validators
            ]
        )

    # -- commitment ---------------------------------------------------------------------------
    def _flush(self) -> None:
        for height, ids in self._due.items():
            self._dirty[deadline_key(height)] = rusty_rlp.encode_raw(ids)
        self._due.clear()
        for address in self._dirty_accounts:
            self._trie.put(account_key(address), self._accounts[address].encode())
        for key, raw in self._dirty.items():
            self._trie.put(key, raw)
        self._dirty_accounts.clear()
        self._dirty.clear()

    def root(self) -> bytes:
        self._flush()
        return self._trie.root_hash()

    def commit(self, batch: WriteBatch) -> bytes:
        """Write every changed trie node into `batch`; return the new state root."""
        self._flush()
        # Decoded accounts stay cached across blocks (re-reading 2,000 of them through the trie
        # costs ~15% of a block), but bounded: every copy of the head state copies the cache.
        if len(self._accounts) > ACCOUNT_CACHE_LIMIT:
            self._accounts.clear()
        return self._trie.commit(batch)

    def prove_account(self, address: bytes) -> tuple[Account, list[bytes]]:
        self._flush()
        return self.account(address), self._trie.prove(account_key(address))

    @property
    def trie(self) -> Trie:
        return self._trie
