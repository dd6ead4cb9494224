"""The validator set of each height, with its proposer priorities.

The genesis set never changes, so the set of height h is the genesis set advanced h - 1 times
(`ValidatorSet.next_height`); a few recent heights and every 256th are cached so that a late
joiner verifying thousands of commits does not redo the walk from height 1 each time.
"""

from __future__ import annotations

from consensus import Validator, ValidatorSet
from genesis import Genesis


class ValidatorSets:
    def __init__(self, genesis: Genesis) -> None:
        base = ValidatorSet(
            [Validator(v.bls_public_key, v.power) for v in genesis.validators],
            check_keys=False,  # proofs of possession were checked when the genesis was admitted
        )
        self._cache: dict[int, ValidatorSet] = {1: base}
        self.addresses = frozenset(v.address for v in genesis.validators)

    def at(self, height: int) -> ValidatorSet:
        if height < 1:
            raise ValueError("no validator set below height 1")
        cached = self._cache.get(height)
        if cached is not None:
            return cached
        start = max(h for h in self._cache if h <= height)
        vset = self._cache[start]
        for h in range(start + 1, height + 1):
            vset = vset.next_height()
            if h % 256 == 0 or h >= height - 2:
                self._cache[h] = vset
        for h in [h for h in self._cache if h % 256 and h < height - 4 and h != 1]:
            del self._cache[h]
        return vset
