"""Claims, announcements and proof requests: exact round trips, and nothing else decodes."""

from __future__ import annotations

import random

import pytest
import rlp

from genesis.keys import AccountKey
from node.prover.messages import (
    MAX_CLAIM_TASKS,
    Announcement,
    BadClaim,
    Claim,
    MalformedMessage,
    check_claim,
    decode_gossip,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
    sign_claim,
)

KEY = AccountKey((0x07).to_bytes(32, "big"))
GENESIS = b"\x0a" * 32
CLAIM = sign_claim(KEY, GENESIS, 12, 1_700_000_000_000, (b"\x01" * 32, b"\x02" * 32))
ANN = Announcement(b"\x01" * 32, b"\x07" * 20, b"\x0d" * 32, 570_000)


def test_round_trips() -> None:
    assert decode_gossip(CLAIM.encode()) == CLAIM
    beacon = sign_claim(KEY, GENESIS, 0, 1, ())
    assert decode_gossip(beacon.encode()) == beacon
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
        sign_claim(
            KEY, GENESIS, 1, 1, tuple(i.to_bytes(32, "big") for i in range(MAX_CLAIM_TASKS + 1))
        ).encode(),
        # the unsigned claim of before (kind 1) is an unknown kind now
        rlp.encode([1, b"\x07" * 20, 12, []]),
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


def test_a_claim_is_signed_by_the_prover_it_names() -> None:
    check_claim(CLAIM, GENESIS)
    other = AccountKey((0x08).to_bytes(32, "big"))
    forged = sign_claim(other, GENESIS, 12, CLAIM.time_ms, CLAIM.task_ids)
    refused = [
        # signed by another key, naming the victim
        Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids, forged.signature),
        # any signed field changed
        Claim(CLAIM.prover, 13, CLAIM.time_ms, CLAIM.task_ids, CLAIM.signature),
        Claim(CLAIM.prover, 12, CLAIM.time_ms + 1, CLAIM.task_ids, CLAIM.signature),
        Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids[:1], CLAIM.signature),
        Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids[::-1], CLAIM.signature),
        # unsigned, and malformed signatures
        Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids, b"\x00" * 65),
        Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids, b"\xff" * 65),
        Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids, CLAIM.signature[:64] + b"\x05"),
    ]
    for claim in refused:
        with pytest.raises(BadClaim):
            check_claim(claim, GENESIS)
    with pytest.raises(BadClaim):  # another chain
        check_claim(CLAIM, b"\x0b" * 32)
    # a high-s twin of a valid signature (malleability) is refused too
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s = CLAIM.signature[:32], int.from_bytes(CLAIM.signature[32:64], "big")
    twin = r + (n - s).to_bytes(32, "big") + bytes([CLAIM.signature[64] ^ 1])
    with pytest.raises(BadClaim):
        check_claim(Claim(CLAIM.prover, 12, CLAIM.time_ms, CLAIM.task_ids, twin), GENESIS)
