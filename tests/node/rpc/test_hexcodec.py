"""Ethereum's hex encodings: known answers, strict parsing, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.rpc.hexcodec import (
    UINT64_MAX,
    encode_data,
    encode_quantity,
    parse_address,
    parse_count,
    parse_data,
    parse_quantity,
)


def test_known_answers() -> None:
    assert encode_quantity(0) == "0x0"
    assert encode_quantity(1024) == "0x400"
    assert encode_data(b"") == "0x"
    assert encode_data(b"\x00\x0f") == "0x000f"
    assert parse_quantity("0x400") == 1024
    assert parse_quantity("0X0") == 0
    assert parse_quantity("0xFF") == 255
    assert parse_data("0x000F") == b"\x00\x0f"
    assert parse_count("0x10", 100) == 16
    assert parse_count("16", 100) == 16
    assert parse_count(16, 100) == 16


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0x", "empty hex number"),
        ("0x0400", "leading zero"),
        ("400", "without 0x prefix"),
        ("", "without 0x prefix"),
        ("0xg", "invalid hex"),
        (" 0x1", "without 0x prefix"),
        ("0x1 ", "invalid hex"),
        (1, "got number"),
        (None, "got null"),
        (True, "got boolean"),
        ("0x1" + "0" * 64, "larger than 256 bits"),
        ("0x" + "f" * 10_000, "larger than 256 bits"),
    ],
)
def test_quantity_refusals(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_quantity(value)


def test_quantity_bound() -> None:
    assert parse_quantity("0x" + "f" * 16, UINT64_MAX) == UINT64_MAX
    with pytest.raises(ValueError, match="64 bits"):
        parse_quantity("0x1" + "0" * 16, UINT64_MAX)
    with pytest.raises(ValueError, match="cannot encode negative"):
        encode_quantity(-1)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0x123", "odd length"),
        ("0x" + "00" * 19, "length 19 bytes, want 20"),
        ("0x" + "00" * 21, "length 21 bytes, want 20"),
        ("00" * 20, "without 0x prefix"),
        ("0x" + "0g" * 20, "invalid hex"),
    ],
)
def test_address_refusals(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_address(value)


def test_count_refusals() -> None:
    for value, message in [
        (-1, "negative"),
        (True, "boolean"),
        (1025, "larger than 1024"),
        ("1" * 30, "larger"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_count(value, 1024)


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_quantity_round_trip(number: int) -> None:
    text = encode_quantity(number)
    assert parse_quantity(text) == number
    assert text == text.lower() and (text == "0x0" or text[2] != "0")


@given(st.binary(max_size=64))
def test_data_round_trip(data: bytes) -> None:
    assert parse_data(encode_data(data)) == data
    assert parse_data(encode_data(data).upper().replace("0X", "0x")) == data
