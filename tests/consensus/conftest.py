from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from consensus import Validator, ValidatorSet, bls

CHAIN_ID = 4242


@cache
def secret_keys(n: int) -> tuple[bytes, ...]:
    return tuple(bls.keygen(bytes([i + 1]) * 32) for i in range(n))


@cache
def public_keys(n: int) -> tuple[bytes, ...]:
    return tuple(bls.secret_to_public(sk) for sk in secret_keys(n))


@cache
def validator_set(powers: tuple[int, ...]) -> ValidatorSet:
    pks = public_keys(len(powers))
    return ValidatorSet([Validator(pk, p) for pk, p in zip(pks, powers, strict=True)])


@pytest.fixture
def chain_id() -> int:
    return CHAIN_ID


@pytest.fixture
def keys() -> Callable[[int], tuple[bytes, ...]]:
    return secret_keys


@pytest.fixture
def make_vset() -> Callable[..., ValidatorSet]:
    def make(*powers: int) -> ValidatorSet:
        return validator_set(tuple(powers))

    return make
