from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from execution.types import (
    Block,
    DecodingError,
    Header,
    Receipt,
    UniversalProofRef,
    decode_receipts,
    encode_receipts,
    merkle_root,
)
from execution.types.hashing import EMPTY_MERKLE_ROOT, keccak256


def _header(**kw: object) -> Header:
    base = dict(
        chain_id=5,
        height=9,
        time_ms=123,
        parent_hash=b"\x01" * 32,
        proposer=b"\x02" * 20,
        state_root=b"\x03" * 32,
        transactions_root=b"\x04" * 32,
        receipts_root=b"\x05" * 32,
        last_commit_hash=b"\x06" * 32,
        evidence_root=b"\x07" * 32,
        gas_used=42,
        universal_proofs=(UniversalProofRef(3, b"\x08" * 32, b"\x09" * 32),),
    )
    base.update(kw)
    return Header(**base)  # type: ignore[arg-type]


def test_block_roundtrip_and_hash_covers_every_header_field() -> None:
    block = Block(_header(), (b"tx1", b"tx2"), b"commit", (b"ev",), (b"proof",))
    again = Block.decode(block.encode())
    assert again == block and again.hash == block.hash
    for name, value in [
        ("chain_id", 6),
        ("height", 10),
        ("time_ms", 124),
        ("parent_hash", b"\x09" * 32),
        ("proposer", b"\x09" * 20),
        ("state_root", b"\x09" * 32),
        ("transactions_root", b"\x09" * 32),
        ("receipts_root", b"\x09" * 32),
        ("last_commit_hash", b"\x09" * 32),
        ("evidence_root", b"\x09" * 32),
        ("gas_used", 43),
        ("universal_proofs", ()),
    ]:
        assert _header(**{name: value}).hash != block.hash, name


def test_receipts_roundtrip() -> None:
    rs = [
        Receipt(b"\x01" * 32, 0, 1, 21000, 21000, 10, b""),
        Receipt(b"\x02" * 32, 2, 1, 5, 21005, 3, b"\x03" * 32),
    ]
    assert decode_receipts(encode_receipts(rs)) == rs


def test_merkle_root_separates_leaves_from_inner_nodes() -> None:
    a, b = keccak256(b"a"), keccak256(b"b")
    assert merkle_root([]) == EMPTY_MERKLE_ROOT
    assert merkle_root([a, b]) != merkle_root([a]) != merkle_root([b, a])
    # An inner node presented as a single leaf must not give the same root.
    inner = keccak256(b"\x01" + keccak256(b"\x00" + a) + keccak256(b"\x00" + b))
    assert merkle_root([inner]) != merkle_root([a, b])


@pytest.mark.parametrize("cut", [0, 1, 10, 50])
def test_truncated_block_rejected(cut: int) -> None:
    raw = Block(_header(), (b"tx",)).encode()
    with pytest.raises(DecodingError):
        Block.decode(raw[: len(raw) - 1 - cut])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_hostile_block_bytes(data: bytes) -> None:
    for decode in (Block.decode, Header.decode, decode_receipts):
        with contextlib.suppress(DecodingError):
            decode(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**64), st.lists(st.binary(max_size=40), max_size=5))
def test_block_roundtrip_property(height: int, txs: list[bytes]) -> None:
    block = Block(_header(height=height), tuple(txs))
    assert Block.decode(block.encode()) == block


def test_truncated_last_item_is_not_accepted() -> None:
    # pyrlp, given a list whose last item claims more bytes than the list holds, drops that item
    # silently: here the block's last Universal Proof would vanish from a decoded block.
    import rlp

    raw = Block(_header(), (), b"", (), (b"p1", b"p2")).encode()
    assert raw.endswith(b"\x82p2")
    forged = raw[:-3] + b"\x83" + raw[-2:]  # "p2" now claims 3 bytes; the list ends after 2
    assert rlp.decode(forged, sedes=Block.SEDES, strict=True)[4] == (b"p1",)  # the library bug
    with pytest.raises(DecodingError, match="not canonical"):
        Block.decode(forged)


def test_every_decoder_refuses_non_canonical_bytes() -> None:
    from execution.types import TaskRequest
    from execution.types.errors import InvalidTransaction
    from execution.universal import InvalidUniversalProof, UniversalProof

    with pytest.raises(DecodingError):
        decode_receipts(b"\xc3\x01\x82\x61")
    with pytest.raises(InvalidTransaction):
        TaskRequest.decode(b"\xc3\x01\x82\x61")
    with pytest.raises(InvalidUniversalProof):
        UniversalProof.decode(b"\xc3\x01\x82\x61")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=32, max_size=32),
            st.integers(0, 2),
            st.integers(0, 2**64),
            st.integers(0, 2**256 - 1),
            st.binary(max_size=32),
        ),
        max_size=70,
    )
)
def test_fast_receipt_encoding_is_pyrlps(rows: list[tuple[bytes, int, int, int, bytes]]) -> None:
    import rlp

    receipts = [Receipt(h, kind, 1, gas, gas, fee, created) for h, kind, gas, fee, created in rows]
    assert encode_receipts(receipts) == rlp.encode([r.to_list() for r in receipts])
    assert decode_receipts(encode_receipts(receipts)) == receipts
