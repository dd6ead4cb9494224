from __future__ import annotations

import pytest

from execution.stark.params import (
    CONJECTURED,
    PROVEN,
    FriParams,
    ParamsError,
    profile,
    queries_for,
    security_bits,
)


def test_conjectured_profile_reaches_100_bits_with_43_queries() -> None:
    assert CONJECTURED.log_blowup == 2 and CONJECTURED.pow_bits == 16
    assert CONJECTURED.num_queries == 43
    assert security_bits(CONJECTURED) == 43 * 2 + 16
    assert queries_for(100, 2, 16, "conjectured") == 42  # the bare formula; 43 keeps a margin


def test_proven_profile_is_the_unique_decoding_bound() -> None:
    assert PROVEN.num_queries == 124
    assert security_bits(PROVEN) >= 100
    fewer = FriParams("x", 2, 123, 16, soundness="proven")
    assert security_bits(fewer) < 100


def test_profiles_serialize_and_are_named() -> None:
    for p in (CONJECTURED, PROVEN):
        assert FriParams.from_bytes(p.to_bytes()) == p
        assert profile(p.name) == p
    with pytest.raises(ParamsError):
        profile("nope")


@pytest.mark.parametrize(
    "data",
    [b"", b"\x05abc", CONJECTURED.to_bytes()[:-1], CONJECTURED.to_bytes() + b"\x00"],
)
def test_malformed_profile_bytes_are_rejected(data: bytes) -> None:
    with pytest.raises(ParamsError):
        FriParams.from_bytes(data)


def test_out_of_range_fields_are_rejected() -> None:
    raw = bytearray(CONJECTURED.to_bytes())
    raw[1 + len(CONJECTURED.name)] = 40  # log_blowup
    with pytest.raises(ParamsError):
        FriParams.from_bytes(bytes(raw))


def test_profiles_round_trip_through_json() -> None:
    import json

    for p in (CONJECTURED, PROVEN):
        assert FriParams.from_dict(json.loads(json.dumps(p.as_dict()))) == p
    bad = CONJECTURED.as_dict()
    bad["num_queries"] = "43"
    with pytest.raises(ParamsError):
        FriParams.from_dict(bad)
    with pytest.raises(ParamsError):
        FriParams.from_dict({"name": "x"})
