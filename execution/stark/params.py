"""FRI parameter profiles and the security they give.

A profile is plain data: it is serialized into every proof, so that a verifier can refuse a
proof made under parameters other than the ones its caller (genesis, CLI) expects.

Security formulas (bits), with rate rho = 1/blowup and g grinding bits:
- conjectured (ethSTARK, Ben-Sasson et al. 2021, conjecture 1): each query costs a cheating
  prover a factor 1/blowup, so  bits = queries * log2(blowup) + g.
  At blowup 4 that needs 42 queries for exactly 100 bits; the design fixes 43 (102 bits), one
  query of margin for the lower-order terms the conjecture leaves out.
- proven (unique decoding radius delta = (1 - rho) / 2, the regime where the FRI soundness
  proof needs no list-decoding conjecture): a word delta-far from the code survives one query
  with probability at most 1 - delta = (1 + rho) / 2, so
  bits = queries * -log2((1 + rho) / 2) + g.
  At blowup 4: -log2(5/8) = 0.678 bits per query; (100 - 16) / 0.678 = 123.9, so 124 queries.
Both figures are also capped by the size of the extension field (|F^4| ~ 2^124) that the
out-of-domain point and folding challenges are drawn from; `security_bits` reports the minimum.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

__all__ = [
    "CONJECTURED",
    "PROFILES",
    "PROVEN",
    "FriParams",
    "ParamsError",
    "profile",
    "queries_for",
    "security_bits",
]

_EXT_FIELD_BITS = 4 * math.log2(2013265921)
_NAME_MAX = 32


class ParamsError(ValueError):
    """A parameter profile is malformed or unknown."""


@dataclass(frozen=True)
class FriParams:
    """One FRI parameter profile.

    log_blowup: LDE blowup factor 2^log_blowup (rate 1/2^log_blowup).
    num_queries: FRI query repetitions.
    pow_bits: proof-of-work grinding bits before the queries are drawn.
    log_final_poly_len: FRI stops folding once the polynomial has at most 2^this coefficients
        and sends them in the clear.
    max_log_arity: each FRI round folds by at most 2^max_log_arity (fewer Merkle trees, so
        smaller proofs, at the cost of wider leaves).
    soundness: "conjectured" or "proven", which formula `security_bits` applies.
    """

    name: str
    log_blowup: int
    num_queries: int
    pow_bits: int
    log_final_poly_len: int = 5
    max_log_arity: int = 4
    soundness: str = "conjectured"

    def __post_init__(self) -> None:
        if not (1 <= len(self.name.encode()) <= _NAME_MAX):
            raise ParamsError("profile name must be 1..32 bytes")
        if not (1 <= self.log_blowup <= 6):
            raise ParamsError("log_blowup must be in 1..6")
        if not (1 <= self.num_queries <= 1024):
            raise ParamsError("num_queries must be in 1..1024")
        if not (0 <= self.pow_bits <= 32):
            raise ParamsError("pow_bits must be in 0..32")
        if not (0 <= self.log_final_poly_len <= 10):
            raise ParamsError("log_final_poly_len must be in 0..10")
        if not (1 <= self.max_log_arity <= 4):
            raise ParamsError("max_log_arity must be in 1..4")
        if self.soundness not in ("conjectured", "proven"):
            raise ParamsError("soundness must be 'conjectured' or 'proven'")

    @property
    def blowup(self) -> int:
        return 1 << self.log_blowup

    def to_bytes(self) -> bytes:
        """name length u8, name utf-8, then six u8 fields (soundness 0 = conjectured)."""
        name = self.name.encode()
        return (
            bytes([len(name)])
            + name
            + bytes(
                [
                    self.log_blowup,
                    self.num_queries & 0xFF,
                    self.num_queries >> 8,
                    self.pow_bits,
                    self.log_final_poly_len,
                    self.max_log_arity,
                    0 if self.soundness == "conjectured" else 1,
                ]
            )
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (for genesis files)."""
        return {f: getattr(self, f) for f in _FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> FriParams:
        if not isinstance(d, dict) or set(d) != set(_FIELDS):
            raise ParamsError(f"FRI parameters need exactly the fields {', '.join(_FIELDS)}")
        for f in _FIELDS:
            want = str if f in ("name", "soundness") else int
            if type(d[f]) is not want:
                raise ParamsError(f"FRI parameter {f} must be {want.__name__}")
        return cls(**d)  # type: ignore[arg-type]

    @classmethod
    def from_bytes(cls, data: bytes) -> FriParams:
        if len(data) < 1 or len(data) != 1 + data[0] + 7:
            raise ParamsError("bad parameter encoding length")
        n = data[0]
        try:
            name = data[1 : 1 + n].decode()
        except UnicodeDecodeError as exc:
            raise ParamsError("profile name is not utf-8") from exc
        lb, q_lo, q_hi, pw, lf, la, snd = struct.unpack("7B", data[1 + n :])
        if snd > 1:
            raise ParamsError("bad soundness tag")
        return cls(
            name=name,
            log_blowup=lb,
            num_queries=q_lo | (q_hi << 8),
            pow_bits=pw,
            log_final_poly_len=lf,
            max_log_arity=la,
            soundness="conjectured" if snd == 0 else "proven",
        )


_FIELDS = (
    "name",
    "log_blowup",
    "num_queries",
    "pow_bits",
    "log_final_poly_len",
    "max_log_arity",
    "soundness",
)


def _bits_per_query(log_blowup: int, soundness: str) -> float:
    if soundness == "conjectured":
        return float(log_blowup)
    rho = 2.0**-log_blowup
    return -math.log2((1.0 + rho) / 2.0)


def security_bits(params: FriParams) -> float:
    """Bits of security of a profile by its soundness formula (see module docstring)."""
    bits = params.num_queries * _bits_per_query(params.log_blowup, params.soundness)
    return min(bits + params.pow_bits, _EXT_FIELD_BITS)


def queries_for(target_bits: int, log_blowup: int, pow_bits: int, soundness: str) -> int:
    """Smallest number of queries reaching target_bits under the given formula."""
    need = target_bits - pow_bits
    return max(1, math.ceil(need / _bits_per_query(log_blowup, soundness) - 1e-12))


CONJECTURED = FriParams(
    name="conjectured",
    log_blowup=2,
    num_queries=queries_for(100, 2, 16, "conjectured") + 1,
    pow_bits=16,
    soundness="conjectured",
)
PROVEN = FriParams(
    name="proven",
    log_blowup=2,
    num_queries=queries_for(100, 2, 16, "proven"),
    pow_bits=16,
    soundness="proven",
)
PROFILES: dict[str, FriParams] = {p.name: p for p in (CONJECTURED, PROVEN)}


def profile(name: str) -> FriParams:
    """The named built-in profile."""
    try:
        return PROFILES[name]
    except KeyError as exc:
        raise ParamsError(f"unknown FRI profile {name!r}") from exc
