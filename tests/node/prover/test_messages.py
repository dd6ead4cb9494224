"""Claims, announcements and proof requests: exact round trips, and nothing else decodes."""

from __future__ import annotations

import random

import pytest

from node.prover.messages import (
    MAX_CLAIM_TASKS,
    Announcement,
    Claim,
    MalformedMessage,
    decode_gossip,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)

CLAIM = Claim(b"\x07" * 20, 12, (b"\x01" * 32, b"\x02" * 32))
ANN = Announcement(b"\x01" * 32, b"\x07" * 20, b"\x0d" * 32, 570_000)


def test_round_trips() -> None:
    assert decode_gossip(CLAIM.encode()) == CLAIM
    assert decode_gossip(Claim(b"\x07" * 20, 0, ()).encode()) == Claim(b"\x07" * 20, 0, ())
    assert decode_gossip(ANN.encode()) == ANN
    assert decode_request(encode_request(b"\x05" * 32)) == b"\x05" * 32
    sig = b"\x05" * 65
    assert decode_response(encode_response(b"\x07" * 20, b"proof", sig)) == (
        b"\x07" * 20,
        b"proof",
        sig,
    )
    assert decode_response(encode_response(b"", b"", b"")) is None


def test_everything_else_is_malformed() -> None:
    rng = random.Random(11)
    bad = [
        b"",
        b"\xc0",
        b"\x01",
        CLAIM.encode()[:-1],
        CLAIM.encode() + b"\x00",
        ANN.encode()[:-3],
        Announcement(b"\x01" * 32, b"\x07" * 20, b"\x0d" * 32, 0).encode(),
        Announcement(b"\x01" * 32, b"\x07" * 20, b"\x0d" * 32, 1 << 40).encode(),
        Claim(
            b"\x07" * 20, 1, tuple(i.to_bytes(32, "big") for i in range(MAX_CLAIM_TASKS + 1))
        ).encode(),
    ]
    # every single-byte change of a valid message is refused or decodes to a different message
    for data in (CLAIM.encode(), ANN.encode()):
        for _ in range(1000):
            i = rng.randrange(len(data))
            mutated = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
            try:
                decoded = decode_gossip(mutated)
            except MalformedMessage:
                continue
            assert decoded.encode() == mutated
    for data in bad:
        with pytest.raises(MalformedMessage):
            decode_gossip(data)
    for data in (b"", encode_request(b"\x05" * 32)[:-1], b"\xc1\x80"):
        with pytest.raises(MalformedMessage):
            decode_request(data)
    for data in (
        encode_response(b"\x07" * 19, b"p", b"\x05" * 65),
        encode_response(b"\x07" * 20, b"", b"\x05" * 65),
        encode_response(b"\x07" * 20, b"p", b""),  # unsigned
        encode_response(b"\x07" * 20, b"p", b"\x05" * 64),
    ):
        with pytest.raises(MalformedMessage):
            decode_response(data)
