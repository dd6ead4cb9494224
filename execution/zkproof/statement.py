"""The statement a task proof proves, and its explicit byte layout.

Statement = image id, input digest, the prover's address, the task id, output bytes (and their
digest), exit code, cycle count and the FRI profile name. The prover and the task id are bound
like every other part (public values of the proof), so a gossiped proof cannot be claimed by
another address, nor presented for another task with the same program and input (zero: no
task, e.g. `ivcnet prove` without --task-id). Digests of byte strings are Poseidon2 sponge digests (8 BabyBear
elements) over: a domain tag as 16-bit limbs, the length as two 16-bit limbs, then the bytes as
16-bit little-endian limbs (zero-padded to even length), the same limb encoding as the image id.

Byte layout (little-endian):
    magic        8 bytes  b"IVCSTM03"
    image_id     32 bytes (8 u32 field elements)
    input_digest 32 bytes
    prover       20 bytes (the address rewarded for the proof)
    task_id      32 bytes (the on-chain task the proof answers; zero: none)
    exit_code    u32
    cycles       u64
    profile      u8 length, then the profile name (utf-8)
    output       u32 length, then the output bytes
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from execution.stark.lanes import P
from execution.stark.poseidon2 import hash_elements
from execution.zkproof.errors import InvalidTaskProof

__all__ = [
    "INPUT_DOMAIN",
    "NO_PROVER",
    "NO_TASK",
    "OUTPUT_DOMAIN",
    "PROVER_BYTES",
    "TASK_ID_BYTES",
    "Statement",
    "bytes_digest",
    "digest_words",
    "prover_limbs",
    "task_limbs",
]

STATEMENT_MAGIC = b"IVCSTM03"
INPUT_DOMAIN = b"ivcnet/zkvm/input/v1"
OUTPUT_DOMAIN = b"ivcnet/zkvm/output/v1"
MAX_OUTPUT_BYTES = 1 << 20
PROVER_BYTES = 20
NO_PROVER = b"\x00" * PROVER_BYTES
TASK_ID_BYTES = 32
NO_TASK = b"\x00" * TASK_ID_BYTES


def _limbs16(data: bytes) -> np.ndarray:
    padded = data + b"\x00" * (len(data) % 2)
    return np.frombuffer(padded, dtype="<u2").astype(np.uint32)


def bytes_digest(domain: bytes, data: bytes) -> bytes:
    """32-byte digest (8 little-endian u32 field elements) of a tagged byte string."""
    n = len(data)
    elems = np.concatenate(
        [_limbs16(domain), np.array([n & 0xFFFF, n >> 16], dtype=np.uint32), _limbs16(data)]
    )
    return hash_elements(elems).astype("<u4").tobytes()


def digest_words(digest: bytes) -> list[int]:
    """A 32-byte digest as its 8 field elements (checked canonical)."""
    words = [int(w) for w in np.frombuffer(digest, dtype="<u4")]
    if len(words) != 8 or any(w >= P for w in words):
        raise InvalidTaskProof("digest is not 8 canonical field elements")
    return words


def prover_limbs(prover: bytes) -> list[int]:
    """The prover's 20-byte address as ten 16-bit little-endian limbs (its public values)."""
    if len(prover) != PROVER_BYTES:
        raise InvalidTaskProof(f"a prover address is {PROVER_BYTES} bytes")
    return [int(v) for v in _limbs16(prover)]


def task_limbs(task_id: bytes) -> list[int]:
    """The 32-byte task id as sixteen 16-bit little-endian limbs (its public values)."""
    if len(task_id) != TASK_ID_BYTES:
        raise InvalidTaskProof(f"a task id is {TASK_ID_BYTES} bytes")
    return [int(v) for v in _limbs16(task_id)]


@dataclass(frozen=True)
class Statement:
    image_id: bytes
    input_digest: bytes
    output: bytes
    exit_code: int
    cycles: int
    profile: str
    prover: bytes
    task_id: bytes = NO_TASK

    @property
    def output_digest(self) -> bytes:
        return bytes_digest(OUTPUT_DOMAIN, self.output)

    def to_bytes(self) -> bytes:
        name = self.profile.encode()
        if len(self.prover) != PROVER_BYTES:
            raise InvalidTaskProof(f"a prover address is {PROVER_BYTES} bytes")
        if len(self.task_id) != TASK_ID_BYTES:
            raise InvalidTaskProof(f"a task id is {TASK_ID_BYTES} bytes")
        return (
            STATEMENT_MAGIC
            + self.image_id
            + self.input_digest
            + self.prover
            + self.task_id
            + struct.pack("<IQB", self.exit_code, self.cycles, len(name))
            + name
            + struct.pack("<I", len(self.output))
            + self.output
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Statement:
        fixed = 72 + PROVER_BYTES + TASK_ID_BYTES  # magic, image id, input digest, prover, task
        if len(data) < fixed + 13 or data[:8] != STATEMENT_MAGIC:
            raise InvalidTaskProof("statement: bad magic or truncated")
        image_id, input_digest = data[8:40], data[40:72]
        prover, task_id = data[72 : 72 + PROVER_BYTES], data[72 + PROVER_BYTES : fixed]
        exit_code, cycles, name_len = struct.unpack("<IQB", data[fixed : fixed + 13])
        pos = fixed + 13
        if len(data) < pos + name_len + 4:
            raise InvalidTaskProof("statement: truncated profile")
        try:
            profile = data[pos : pos + name_len].decode()
        except UnicodeDecodeError as exc:
            raise InvalidTaskProof("statement: profile name is not utf-8") from exc
        pos += name_len
        (out_len,) = struct.unpack("<I", data[pos : pos + 4])
        pos += 4
        if out_len > MAX_OUTPUT_BYTES or len(data) != pos + out_len:
            raise InvalidTaskProof("statement: bad output length")
        st = cls(image_id, input_digest, data[pos:], exit_code, cycles, profile, prover, task_id)
        digest_words(image_id)
        digest_words(input_digest)
        return st

    def describe(self) -> dict[str, object]:
        """A JSON-friendly view (hex for byte strings)."""
        return {
            "image_id": self.image_id.hex(),
            "input_digest": self.input_digest.hex(),
            "output_hex": self.output.hex(),
            "output_digest": self.output_digest.hex(),
            "exit_code": self.exit_code,
            "cycles": self.cycles,
            "profile": self.profile,
            "prover": "0x" + self.prover.hex(),
            "task_id": "0x" + self.task_id.hex(),
        }
