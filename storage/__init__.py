"""Storage: the process's LevelDB handle, its key schema, the block store and the state trie;
the bounded in-memory cache every package uses (`LruCache`)."""

from storage import block_store, schema
from storage.database import Database, WriteBatch
from storage.errors import DatabaseLocked, MissingNode, StorageError
from storage.lru_cache import LruCache
from storage.mpt import EMPTY_ROOT, Trie

__all__ = [
    "EMPTY_ROOT",
    "Database",
    "DatabaseLocked",
    "LruCache",
    "MissingNode",
    "StorageError",
    "Trie",
    "WriteBatch",
    "block_store",
    "schema",
]
