"""Every LevelDB key of the node, built here and nowhere else.

Namespaces are one-byte prefixes. Integers in keys are 8-byte big-endian so that LevelDB's
byte order is height order.
"""

from __future__ import annotations

# The encodings this code writes (blocks, receipts, state records, proofs). Bump it whenever one of
# them changes, so that a node opening a database written in another format says so at once
# instead of failing later on a record it cannot decode.
STORAGE_FORMAT = 4

NS_META = b"m"
NS_TRIE_NODE = b"n"
NS_BLOCK_BY_HASH = b"b"
NS_HASH_BY_HEIGHT = b"h"
NS_RECEIPTS = b"r"
NS_TX_LOCATION = b"t"
NS_BLOB = b"c"
NS_PROOF = b"p"
NS_COMMIT = b"d"


def _height(height: int) -> bytes:
    return height.to_bytes(8, "big")


def head() -> bytes:
    """Height and hash of the last committed block."""
    return NS_META + b"head"


def format_version() -> bytes:
    """The storage format the database was written in (STORAGE_FORMAT when it was created)."""
    return NS_META + b"format"


def genesis_hash() -> bytes:
    """Hash of the genesis document the database was created from."""
    return NS_META + b"genesis"


def trie_node(node_hash: bytes) -> bytes:
    return NS_TRIE_NODE + node_hash


def block_by_hash(block_hash: bytes) -> bytes:
    return NS_BLOCK_BY_HASH + block_hash


def hash_by_height(height: int) -> bytes:
    return NS_HASH_BY_HEIGHT + _height(height)


def commit_at(height: int) -> bytes:
    """The commit certificate (consensus-encoded) that decided the block at `height`."""
    return NS_COMMIT + _height(height)


def receipts(block_hash: bytes) -> bytes:
    return NS_RECEIPTS + block_hash


def tx_location(tx_hash: bytes) -> bytes:
    """(block height, index in block) of a committed transaction."""
    return NS_TX_LOCATION + tx_hash


def blob(content_hash: bytes) -> bytes:
    """Content-addressed large values (program ELF files) kept out of the state trie."""
    return NS_BLOB + content_hash


def proof(proof_id: bytes) -> bytes:
    return NS_PROOF + proof_id
