"""Pure parts: framing with partial reads, transaction batches, the score book, identity."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2p import (
    FrameTooLarge,
    MalformedBatch,
    Offence,
    P2PConfigError,
    PeerScores,
    ProtocolViolation,
    ScoreConfig,
    decode_tx_batch,
    encode_tx_batch,
    identity_path,
    load_or_create_identity,
    parse_peer_addr,
    parse_peer_list,
    quiet_libp2p_logs,
)
from p2p.framing import read_frame, write_frame
from p2p.identity import peer_id_of


class TrickleStream:
    """Returns at most `chunk` bytes per read, as a real stream may."""

    def __init__(self, data: bytes = b"", chunk: int = 1) -> None:
        self.data = bytearray(data)
        self.chunk = chunk
        self.written = bytearray()

    async def read(self, n: int | None = None) -> bytes:
        take = min(self.chunk, n if n is not None else self.chunk, len(self.data))
        out = bytes(self.data[:take])
        del self.data[:take]
        return out

    async def write(self, data: bytes) -> None:
        self.written += data


async def test_frame_roundtrip_with_one_byte_reads() -> None:
    rng = random.Random(1)
    payload = rng.randbytes(5000)
    out = TrickleStream()
    await write_frame(out, payload, max_size=10_000)
    assert await read_frame(TrickleStream(bytes(out.written), chunk=1), 10_000) == payload
    assert await read_frame(TrickleStream(bytes(out.written), chunk=7), 10_000) == payload


async def test_frame_limits_and_truncation() -> None:
    with pytest.raises(FrameTooLarge):
        await write_frame(TrickleStream(), b"x" * 11, max_size=10)
    # A peer announcing 4 GiB is refused before anything is allocated or read.
    with pytest.raises(FrameTooLarge):
        await read_frame(TrickleStream(b"\xff\xff\xff\xff" + b"x" * 10), max_size=1 << 20)
    with pytest.raises(ProtocolViolation):
        await read_frame(TrickleStream(b"\x00\x00\x00\x05abc"), max_size=100)
    with pytest.raises(ProtocolViolation):
        await read_frame(TrickleStream(b"\x00\x00"), max_size=100)


def test_tx_batch_roundtrip_and_garbage() -> None:
    txs = [b"\x02" + bytes([i]) * (i + 1) for i in range(50)]
    assert decode_tx_batch(encode_tx_batch(txs)) == txs
    bad_batches = [b"", b"\xff\x00", b"\x80", b"\xc0", b"\xc1\xc0", b"\x83ab", b"\x82ab"]
    # Found by hypothesis: pyrlp decodes this truncated list to [b"\x00"].
    bad_batches.append(b"\xc2\x00\x81")
    for bad in bad_batches:
        with pytest.raises(MalformedBatch):
            decode_tx_batch(bad)
    with pytest.raises(MalformedBatch):
        encode_tx_batch([])
    with pytest.raises(MalformedBatch):
        encode_tx_batch([b""])


def test_scores_ban_decay_and_expiry() -> None:
    now = [1000.0]
    cfg = ScoreConfig(ban_threshold=-50.0, ban_s=60.0, half_life_s=100.0)
    book = PeerScores(cfg, clock=lambda: now[0])
    newly = [book.penalize("p", Offence.MALFORMED) for _ in range(5)]
    assert newly == [False] * 4 + [True]
    assert book.is_banned("p")
    assert book.snapshot("p").offences == {"malformed": 5}
    assert not book.is_banned("q")
    now[0] += 61
    assert not book.is_banned("p")
    assert book.score("p") == 0.0
    # Decay: half the penalty is forgiven after one half-life.
    book.penalize("r", Offence.INVALID)
    now[0] += 100
    assert book.score("r") == pytest.approx(-10.0)
    # Rewards are capped, so good behaviour cannot bank immunity.
    for _ in range(10_000):
        book.reward("s")
    assert book.score("s") == cfg.max_score


def test_identity_created_once_and_reloaded(tmp_path: Path) -> None:
    first = load_or_create_identity(tmp_path / "home")
    second = load_or_create_identity(tmp_path / "home")
    assert peer_id_of(first) == peer_id_of(second)
    assert identity_path(tmp_path / "home").stat().st_mode & 0o077 == 0
    other = load_or_create_identity(tmp_path / "other")
    assert peer_id_of(other) != peer_id_of(first)


def test_corrupt_identity_is_a_clear_error(tmp_path: Path) -> None:
    identity_path(tmp_path).parent.mkdir(parents=True, exist_ok=True)
    identity_path(tmp_path).write_bytes(b"not a key")
    with pytest.raises(P2PConfigError):
        load_or_create_identity(tmp_path)


def test_bad_peer_address_is_a_clear_error() -> None:
    for bad in ["", "/ip4/127.0.0.1/tcp/1", "hello", "/ip4/1.2.3.4/tcp/1/p2p/notapeer"]:
        with pytest.raises(P2PConfigError):
            parse_peer_addr(bad)


def test_peer_list_from_command_line() -> None:
    a = "/ip4/127.0.0.1/tcp/26656/p2p/12D3KooWGEnnjPs6eUwosCnS2zpBNhdfYRd75Jojvn5JiQWmm2Vt"
    b = "/ip4/127.0.0.1/tcp/26657/p2p/12D3KooWMv8upJDtiFM4fBCEKLsr4uR6V9caFe9xFRRMWWeadi1F"
    assert parse_peer_list(f"{a}, {b}") == (a, b)
    assert parse_peer_list(f"{a}\n{b}\n") == (a, b)
    assert parse_peer_list("") == ()
    with pytest.raises(P2PConfigError):
        parse_peer_list(f"{a},/ip4/127.0.0.1/tcp/1")


def test_quiet_libp2p_logs() -> None:
    from p2p.logs import NOISY

    names = ("libp2p", *NOISY)
    saved = {name: logging.getLogger(name).level for name in names}
    try:
        quiet_libp2p_logs()
        assert logging.getLogger("libp2p.pubsub.pubsub").getEffectiveLevel() == logging.WARNING
        assert not logging.getLogger("libp2p.transport.tcp.tcp").isEnabledFor(logging.ERROR)
        assert logging.getLogger("libp2p.tools.anyio_service.x").isEnabledFor(logging.ERROR)
    finally:
        # Test workers are shared with other packages' tests: leave logging as found.
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_tx_batch_decoder_only_raises_its_own_error(data: bytes) -> None:
    try:
        txs = decode_tx_batch(data)
    except MalformedBatch:
        return
    assert txs and all(isinstance(t, bytes) and t for t in txs)
    assert encode_tx_batch(txs) == data  # strict RLP: one encoding per batch


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=9))
async def test_frame_reader_only_raises_framing_errors(data: bytes, chunk: int) -> None:
    try:
        body = await read_frame(TrickleStream(data, chunk=chunk), max_size=32)
    except (FrameTooLarge, ProtocolViolation):
        return
    assert len(body) <= 32
    assert data[4 : 4 + len(body)] == body
