"""Poseidon2: known answer from the shared vector file, and a plain-Python reference model."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from execution.stark import poseidon2 as P2

P = 2013265921
SHARED_VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors"


def _packaged() -> dict[str, Any]:
    text = resources.files("execution.stark").joinpath("poseidon2_babybear_16.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


CONST = _packaged()


def _ref_external_linear(s: list[int]) -> list[int]:
    m4 = [[2, 3, 1, 1], [1, 2, 3, 1], [1, 1, 2, 3], [3, 1, 1, 2]]
    out = []
    for c in range(4):
        chunk = s[4 * c : 4 * c + 4]
        out += [sum(m4[r][k] * chunk[k] for k in range(4)) % P for r in range(4)]
    sums = [sum(out[4 * j + k] for j in range(4)) for k in range(4)]
    return [(out[i] + sums[i % 4]) % P for i in range(16)]


def ref_permute(state: list[int]) -> list[int]:
    """The structure described in the vector file, in plain Python integers."""
    s = _ref_external_linear(list(state))
    for rc in CONST["external_rounds_initial"]:
        s = _ref_external_linear([pow((x + c) % P, 7, P) for x, c in zip(s, rc, strict=True)])
    for c in CONST["internal_round_constants"]:
        s[0] = pow((s[0] + c) % P, 7, P)
        total = sum(s)
        s = [(total + v * x) % P for x, v in zip(s, CONST["internal_diagonal_V"], strict=True)]
    for rc in CONST["external_rounds_final"]:
        s = _ref_external_linear([pow((x + c) % P, 7, P) for x, c in zip(s, rc, strict=True)])
    return s


def ref_sponge(elems: list[int], domain: int) -> list[int]:
    state = [0] * 16
    state[8] = len(elems)
    state[9] = domain
    chunks = [elems[i : i + 8] for i in range(0, len(elems), 8)] or [[]]
    for chunk in chunks:
        state[:8] = chunk + [0] * (8 - len(chunk))
        state = ref_permute(state)
    return state[:8]


def test_known_answer_packaged() -> None:
    kat = CONST["known_answer"]
    out = P2.permute(np.array([kat["input"]], dtype=np.uint32))
    np.testing.assert_array_equal(out[0], kat["output"])
    assert ref_permute(kat["input"]) == kat["output"]


def test_known_answer_shared_file() -> None:
    path = SHARED_VECTORS / "poseidon2-babybear-16.json"
    if not path.exists():
        pytest.skip("shared vector file not present")
    shared = json.loads(path.read_text())
    assert shared == CONST  # the packaged copy is the shared file, unchanged
    kat = shared["known_answer"]
    np.testing.assert_array_equal(
        P2.permute(np.array([kat["input"]], dtype=np.uint32))[0], kat["output"]
    )


@pytest.mark.parametrize("n", [1, 3, 255, 256, 257, 700])
def test_permute_matches_reference_across_block_boundaries(n: int) -> None:
    rng = np.random.default_rng(n)
    states = rng.integers(0, P, size=(n, 16), dtype=np.uint32)
    states[0] = P - 1
    out = P2.permute(states)
    for i in sorted({0, n // 2, n - 1}):
        assert out[i].tolist() == ref_permute(states[i].tolist())
    # each lane is independent of its neighbours
    np.testing.assert_array_equal(P2.permute(states[n - 1 :]), out[n - 1 :])


def test_hash_elements_matches_reference_sponge() -> None:
    rng = np.random.default_rng(11)
    for length in (0, 1, 7, 8, 9, 16, 21):
        elems = rng.integers(0, P, size=length, dtype=np.uint32)
        assert P2.hash_elements(elems).tolist() == ref_sponge(elems.tolist(), 0)
        leaf = P2.hash_elements(elems, domain=P2.SPONGE_DOMAIN_LEAF)
        assert leaf.tolist() == ref_sponge(elems.tolist(), 1)


def test_padding_and_domains_separate_inputs() -> None:
    base = np.array([5, 6, 7], dtype=np.uint32)
    padded = np.array([5, 6, 7, 0], dtype=np.uint32)
    digests = {
        tuple(P2.hash_elements(base)),
        tuple(P2.hash_elements(padded)),
        tuple(P2.hash_elements(np.zeros(8, np.uint32))),
        tuple(P2.hash_elements(np.zeros(0, np.uint32))),
        tuple(P2.hash_elements(base, domain=P2.SPONGE_DOMAIN_LEAF)),
    }
    assert len(digests) == 5


@pytest.mark.parametrize(("n", "w"), [(1, 1), (5, 8), (300, 13), (513, 24)])
def test_hash_rows_equals_hash_elements_per_row(n: int, w: int) -> None:
    rng = np.random.default_rng(n * w)
    matrix = rng.integers(0, P, size=(n, w), dtype=np.uint32)
    rows = P2.hash_rows(matrix)
    np.testing.assert_array_equal(rows, P2.hash_rows(np.asfortranarray(matrix)))
    for i in sorted({0, n - 1}):
        np.testing.assert_array_equal(rows[i], P2.hash_elements(matrix[i]))
    assert P2.hash_rows(np.zeros((0, 3), np.uint32)).shape == (0, 8)


def test_compress_matches_reference_and_is_tagged() -> None:
    rng = np.random.default_rng(2)
    left = rng.integers(0, P, size=(300, 8), dtype=np.uint32)
    right = rng.integers(0, P, size=(300, 8), dtype=np.uint32)
    out = P2.compress(left, right)
    for i in (0, 299):
        expected = ref_permute(left[i].tolist() + right[i].tolist())[:8]
        expected[0] = (expected[0] + P2.COMPRESS_DOMAIN_NODE) % P
        assert out[i].tolist() == expected
    np.testing.assert_array_equal(P2.compress_pairs(np.concatenate([left, right], 1)), out)
    assert not np.array_equal(P2.compress(left, right, domain=0), out)
    with pytest.raises(ValueError):
        P2.compress(left, right[:5])


def test_duplex_matches_permutations() -> None:
    rng = np.random.default_rng(4)
    state = rng.integers(0, P, size=16, dtype=np.uint32)
    chunks = rng.integers(0, P, size=(3, 8), dtype=np.uint32)
    expected = state.tolist()
    for chunk in chunks.tolist():
        expected = ref_permute(chunk + expected[8:])
    assert P2.duplex(state, chunks).tolist() == expected
    np.testing.assert_array_equal(P2.duplex(state, chunks[:0]), state)
    with pytest.raises(ValueError):
        P2.duplex(state[:15], chunks)


def test_shape_errors() -> None:
    with pytest.raises(ValueError):
        P2.permute(np.zeros((3, 15), np.uint32))
    with pytest.raises(ValueError):
        P2.hash_elements(np.zeros((2, 2), np.uint32))
    with pytest.raises(ValueError):
        P2.hash_rows(np.zeros(4, np.uint32))
