"""The batched trie against the `trie` package (Ethereum's reference trie) as the oracle."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import rlp
from hypothesis import given, settings
from hypothesis import strategies as st
from trie import HexaryTrie

from storage import EMPTY_ROOT, Database, MissingNode, Trie, schema


def _reader(db: Database):  # type: ignore[no-untyped-def]
    return lambda h: db.get(schema.trie_node(h))


def _verify_proof(root: bytes, key: bytes, proof: list[bytes]) -> bytes:
    return HexaryTrie.get_from_proof(root, key, [rlp.decode(p) for p in proof])  # type: ignore[no-any-return]


def test_empty_trie_root() -> None:
    assert Trie(lambda h: None).root_hash() == EMPTY_ROOT == HexaryTrie({}).root_hash


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.binary(min_size=32, max_size=32), st.binary(min_size=1, max_size=70), max_size=40
    )
)
def test_roots_match_reference(items: dict[bytes, bytes]) -> None:
    ours = Trie(lambda h: None)
    ref = HexaryTrie({})
    for k, v in items.items():
        ours.put(k, v)
        ref[k] = v
    assert ours.root_hash() == ref.root_hash


def test_short_keys_with_embedded_nodes_match_reference() -> None:
    # Nodes under 32 bytes are embedded in their parent rather than referenced by hash.
    ours = Trie(lambda h: None)
    ref = HexaryTrie({})
    for k in [b"\x00\x01", b"\x00\x02", b"\x10\x00", b"\x10\x01"]:
        ours.put(k, b"v")
        ref[k] = b"v"
    assert ours.root_hash() == ref.root_hash
    for k in [b"\x00\x01", b"\x10\x01", b"\x00\x03"]:
        assert _verify_proof(ref.root_hash, k, ours.prove(k)) == ref[k]


def test_persisted_trie_reloads_and_proves(tmp_path: Path) -> None:
    rnd = random.Random(11)
    keys = [rnd.randbytes(32) for _ in range(500)]
    ref = HexaryTrie({})
    with Database.open(tmp_path / "db") as db:
        trie = Trie(_reader(db))
        roots = []
        for round_ in range(4):
            for k in rnd.sample(keys, 200):
                v = rnd.randbytes(rnd.randint(1, 90))
                trie.put(k, v)
                ref[k] = v
            with db.batch() as batch:
                roots.append(trie.commit(batch))
            assert roots[-1] == ref.root_hash, round_
    with Database.open(tmp_path / "db") as db:
        fresh = Trie(_reader(db), roots[-1])
        for k in keys[:100] + [rnd.randbytes(32) for _ in range(10)]:
            expected = ref[k] or None
            assert fresh.get(k) == expected
            assert _verify_proof(roots[-1], k, fresh.prove(k)) == (expected or b"")
        # Old roots stay readable: nodes are never deleted.
        assert Trie(_reader(db), roots[0]).root_hash() == roots[0]


def test_tampered_proof_does_not_verify() -> None:
    trie = Trie(lambda h: None)
    rnd = random.Random(3)
    keys = [rnd.randbytes(32) for _ in range(50)]
    for k in keys:
        trie.put(k, b"value" + k[:4])
    root = trie.root_hash()
    proof = trie.prove(keys[0])
    bad = list(proof)
    bad[-1] = bad[-1][:-1] + bytes([bad[-1][-1] ^ 1])
    with pytest.raises(Exception):  # noqa: B017 - the reference raises its own BadTrieProof
        _verify_proof(root, keys[0], bad)


def test_missing_node_is_a_clear_error(tmp_path: Path) -> None:
    with Database.open(tmp_path / "db") as db:
        trie = Trie(_reader(db), b"\x42" * 32)
        with pytest.raises(MissingNode):
            trie.get(b"\x00" * 32)


def test_copy_is_independent() -> None:
    a = Trie(lambda h: None)
    a.put(b"\x01" * 32, b"one")
    b = a.copy()
    b.put(b"\x02" * 32, b"two")
    assert a.get(b"\x02" * 32) is None and b.get(b"\x02" * 32) == b"two"
    assert a.root_hash() != b.root_hash()
