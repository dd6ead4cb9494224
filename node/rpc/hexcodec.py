"""Ethereum's JSON encoding of numbers and bytes, in both directions.

Quantities are 0x-prefixed hex without leading zeros ("0x0", "0x1a"); data is 0x-prefixed hex
with two digits per byte ("0x", "0x00ff"). Parsing follows the execution-apis specification as
strictly as geth does (leading zeros and empty quantities are refused), so a client that works
here works there. Parsers raise ValueError with a message; the caller names the parameter.
"""

from __future__ import annotations

from typing import Any

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
UINT64_MAX = (1 << 64) - 1
UINT256_MAX = (1 << 256) - 1
# Block numbers beyond this are surely not meant (geth limits them to int64 as well).
MAX_BLOCK_NUMBER = (1 << 63) - 1


def encode_quantity(value: int) -> str:
    if value < 0:
        raise ValueError(f"cannot encode negative quantity {value}")
    return hex(value)


def encode_data(value: bytes) -> str:
    return "0x" + value.hex()


def _strip_prefix(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a 0x-prefixed hex string, got {_json_type(value)}")
    if len(value) < 2 or value[0] != "0" or value[1] not in "xX":
        raise ValueError("hex string without 0x prefix")
    digits = value[2:]
    if not _HEX_DIGITS.issuperset(digits):
        raise ValueError("invalid hex string")
    return digits


def parse_quantity(value: Any, max_value: int = UINT256_MAX) -> int:
    """A hex quantity such as "0x1a"; refuses "0x", "0x01" and values above `max_value`."""
    digits = _strip_prefix(value)
    if not digits:
        raise ValueError("empty hex number")
    if len(digits) > 1 and digits[0] == "0":
        raise ValueError("hex number with leading zero digits")
    # Bound the length before converting so a megabyte of digits costs nothing.
    if len(digits) > (max_value.bit_length() + 3) // 4:
        raise ValueError(f"hex number larger than {max_value.bit_length()} bits")
    number = int(digits, 16)
    if number > max_value:
        raise ValueError(f"hex number larger than {max_value.bit_length()} bits")
    return number


def parse_data(value: Any, length: int | None = None, max_length: int | None = None) -> bytes:
    """Hex data such as "0x00ff", of exactly `length` bytes if given, at most `max_length`."""
    digits = _strip_prefix(value)
    if len(digits) % 2:
        raise ValueError("hex string of odd length")
    size = len(digits) // 2
    if length is not None and size != length:
        raise ValueError(f"hex string has length {size} bytes, want {length}")
    if max_length is not None and size > max_length:
        raise ValueError(f"hex string has length {size} bytes, want at most {max_length}")
    return bytes.fromhex(digits)


def parse_address(value: Any) -> bytes:
    return parse_data(value, length=20)


def parse_hash(value: Any) -> bytes:
    return parse_data(value, length=32)


def parse_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {_json_type(value)}")
    return value


def parse_count(value: Any, max_value: int) -> int:
    """A small count given as a hex quantity, a decimal string or a JSON integer (eth_feeHistory
    blockCount is sent all three ways by different clients)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isdecimal() and value.isascii():
        if len(value) > 20:
            raise ValueError(f"number larger than {max_value}")
        number = int(value)
    else:
        number = parse_quantity(value, UINT64_MAX)
    if number < 0:
        raise ValueError("negative number")
    if number > max_value:
        raise ValueError(f"number {number} larger than {max_value}")
    return number


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
