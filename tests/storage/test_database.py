from __future__ import annotations

from pathlib import Path

import pytest

from storage import Database, DatabaseLocked, schema


def test_second_handle_in_one_process_is_refused(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "db")
    try:
        with pytest.raises(DatabaseLocked):
            Database.open(tmp_path / "db")
    finally:
        db.close()
    Database.open(tmp_path / "db").close()  # free again once closed


def test_batch_is_written_only_on_clean_exit(tmp_path: Path) -> None:
    with Database.open(tmp_path / "db") as db:
        with pytest.raises(RuntimeError), db.batch() as batch:
            batch.put(b"a", b"1")
            raise RuntimeError("abort")
        assert db.get(b"a") is None
        with db.batch() as batch:
            batch.put(b"a", b"1")
            batch.put(b"b", b"2")
            batch.delete(b"b")
        assert db.get(b"a") == b"1" and db.get(b"b") is None


def test_schema_keys_are_namespaced_and_height_ordered() -> None:
    assert schema.hash_by_height(2) < schema.hash_by_height(10) < schema.hash_by_height(256)
    prefixes = {
        k[:1]
        for k in (
            schema.head(),
            schema.trie_node(b"x"),
            schema.block_by_hash(b"x"),
            schema.hash_by_height(1),
            schema.receipts(b"x"),
            schema.tx_location(b"x"),
            schema.blob(b"x"),
            schema.proof(b"x"),
        )
    }
    assert len(prefixes) == 8
