"""Expected storage failures."""

from __future__ import annotations


class StorageError(Exception):
    """Root of expected storage failures (a locked or corrupt database, a missing node)."""


class DatabaseLocked(StorageError):
    """Another process (or this one) already holds the database open."""


class MissingNode(StorageError):
    """A trie node named by a hash is not in the database: a corrupt or foreign root."""
