"""Length-prefixed frames over a libp2p stream.

Layout of a frame: 4-byte big-endian unsigned length, then that many bytes.
`stream.read(n)` may return fewer than n bytes, so every read loops until the
exact count has arrived.
"""

from __future__ import annotations

import struct
from typing import Protocol

from libp2p.network.stream.exceptions import StreamEOF

from p2p.errors import FrameTooLarge, StreamEndedEarly

LENGTH = struct.Struct(">I")
READ_CHUNK = 1 << 16


class ByteStream(Protocol):
    async def read(self, n: int | None = None) -> bytes: ...

    async def write(self, data: bytes) -> None: ...


async def read_exactly(stream: ByteStream, n: int) -> bytes:
    if n == 0:
        return b""
    parts: list[bytes] = []
    got = 0
    while got < n:
        try:
            chunk = await stream.read(min(n - got, READ_CHUNK))
        except StreamEOF:
            chunk = b""
        if not chunk:
            raise StreamEndedEarly(f"stream ended after {got} of {n} bytes")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


async def write_frame(stream: ByteStream, payload: bytes, max_size: int) -> None:
    if len(payload) > max_size:
        raise FrameTooLarge(f"frame of {len(payload)} bytes exceeds the limit of {max_size}")
    await stream.write(LENGTH.pack(len(payload)) + payload)


async def read_frame(stream: ByteStream, max_size: int) -> bytes:
    (length,) = LENGTH.unpack(await read_exactly(stream, LENGTH.size))
    # Rule: refuse before allocating; a peer could announce 4 GiB.
    if length > max_size:
        raise FrameTooLarge(f"peer announced a frame of {length} bytes (limit {max_size})")
    return await read_exactly(stream, length)
