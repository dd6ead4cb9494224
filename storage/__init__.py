"""Storage: the process's LevelDB handle, its key schema, the block store and the state trie."""

from storage import block_store, schema
from storage.database import Database, WriteBatch
from storage.errors import DatabaseLocked, MissingNode, StorageError
from storage.mpt import EMPTY_ROOT, Trie

__all__ = [
    "EMPTY_ROOT",
    "Database",
    "DatabaseLocked",
    "MissingNode",
    "StorageError",
    "Trie",
    "WriteBatch",
    "block_store",
    "schema",
]
