"""Fiat-Shamir challenger: a duplex sponge over Poseidon2 that prover and verifier drive alike.

Protocol (as Plonky3's DuplexChallenger, with a domain tag in the initial capacity):
- the state starts zero except ``state[9] = SPONGE_DOMAIN_CHALLENGER``;
- ``observe(x)`` drops any unread output and appends x to the input buffer; a full buffer
  (8 elements) is absorbed at once by a duplexing;
- duplexing overwrites ``state[0:len(input)]`` with the input buffer, permutes, and makes
  ``state[0:8]`` the output buffer;
- ``sample()`` duplexes first if input is pending or output is exhausted, then pops the LAST
  element of the output buffer.
``sample_bits(b)`` is the low b bits of ``sample()`` for b <= 27 (2^b divides p - 1, so only the
single value p - 1 skews the result, by 1/p); ``sample_ext()`` is four samples (coefficients 1, X, X^2,
X^3). Proof of work: ``check_witness(b, w)`` observes w and accepts iff ``sample_bits(b) == 0``;
``grind(b)`` searches nonces on copies of the state (vectorized, many permutations per kernel call)
and then runs ``check_witness`` itself, so the prover's transcript matches the verifier's.
"""

from __future__ import annotations

import numpy as np

from execution.stark.field import TWO_ADICITY, P
from execution.stark.poseidon2 import RATE, SPONGE_DOMAIN_CHALLENGER, WIDTH, duplex, permute


class ChallengerError(ValueError):
    """A value that cannot enter or leave the transcript (non-canonical, bad bit count)."""


_GRIND_BATCH = 1 << 14


class Challenger:
    """Duplex-sponge transcript; see the module docstring for the exact protocol."""

    def __init__(self) -> None:
        self._state = np.zeros(WIDTH, dtype=np.uint32)
        self._state[9] = SPONGE_DOMAIN_CHALLENGER
        self._input: list[int] = []
        self._output: list[int] = []

    def copy(self) -> Challenger:
        other = Challenger.__new__(Challenger)
        other._state = self._state.copy()
        other._input = list(self._input)
        other._output = list(self._output)
        return other

    def _duplex(self) -> None:
        chunk = self._state[:RATE].copy()
        chunk[: len(self._input)] = self._input
        self._input = []
        self._state = duplex(self._state, chunk[None, :])
        self._output = [int(v) for v in self._state[:RATE]]

    def observe(self, elems: object) -> None:
        """Absorb one canonical field element or an array of them (in C order)."""
        arr = np.asarray(elems)
        if arr.dtype.kind not in "ui":
            raise ChallengerError(f"cannot observe values of dtype {arr.dtype}")
        flat = arr.reshape(-1)
        if flat.size and (int(flat.min()) < 0 or int(flat.max()) >= P):
            raise ChallengerError("observed value is not a canonical BabyBear element")
        values = self._input + [int(v) for v in flat.tolist()]
        if not values:
            return
        self._output = []
        full = len(values) // RATE * RATE
        self._input = values[full:]
        if full:
            # All complete chunks in one kernel call; the output buffer is what the last
            # duplexing left, as if each element had been observed in turn.
            chunks = np.array(values[:full], dtype=np.uint32).reshape(-1, RATE)
            self._state = duplex(self._state, chunks)
            if not self._input:
                self._output = [int(v) for v in self._state[:RATE]]

    def observe_digest(self, digest: np.ndarray) -> None:
        d = np.asarray(digest)
        if d.shape != (8,):
            raise ChallengerError(f"a digest has 8 elements, got shape {d.shape}")
        self.observe(d)

    def observe_ext(self, value: np.ndarray) -> None:
        v = np.asarray(value)
        if v.shape[-1:] != (4,):
            raise ChallengerError(f"extension elements have a last axis of 4, got {v.shape}")
        self.observe(v)

    def sample(self) -> int:
        if self._input or not self._output:
            self._duplex()
        return self._output.pop()

    def sample_ext(self) -> np.ndarray:
        return np.array([self.sample() for _ in range(4)], dtype=np.uint32)

    def sample_bits(self, bits: int) -> int:
        if not 0 <= bits <= TWO_ADICITY:
            raise ChallengerError(f"can sample at most {TWO_ADICITY} bits, asked for {bits}")
        return self.sample() & ((1 << bits) - 1)

    def check_witness(self, bits: int, witness: int) -> bool:
        """Observe the proof-of-work witness; accept iff the next sample_bits(bits) is zero."""
        if not isinstance(witness, int | np.integer) or not 0 <= int(witness) < P:
            return False
        self.observe(np.uint32(int(witness)))
        return self.sample_bits(bits) == 0

    def grind(self, bits: int) -> int:
        """Find a witness for check_witness(bits, .), leave the transcript as after that check."""
        if not 0 <= bits <= TWO_ADICITY:
            raise ChallengerError(f"can grind at most {TWO_ADICITY} bits, asked for {bits}")
        # Observing the witness then sampling is exactly one duplexing of this state with the
        # pending input plus the witness at position len(input): try many witnesses at once.
        base = self._state.copy()
        base[: len(self._input)] = self._input
        pos = len(self._input)
        mask = (1 << bits) - 1
        start = 0
        while start < P:
            count = min(_GRIND_BATCH, P - start)
            states = np.broadcast_to(base, (count, WIDTH)).copy()
            states[:, pos] = np.arange(start, start + count, dtype=np.uint32)
            out = permute(states)[:, RATE - 1]
            hits = np.flatnonzero((out & np.uint32(mask)) == 0)
            if hits.size:
                witness = start + int(hits[0])
                if not self.check_witness(bits, witness):
                    raise RuntimeError("grinding search disagrees with check_witness")
                return witness
            start += count
        raise RuntimeError("no proof-of-work witness exists")  # pragma: no cover
