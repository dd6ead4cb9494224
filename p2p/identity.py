"""The node's persisted libp2p identity (Ed25519), kept in its home folder."""

from __future__ import annotations

import os
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.identity_utils import load_identity, save_identity
from libp2p.peer.id import ID

from p2p.errors import P2PConfigError

IDENTITY_FILE = "p2p_identity.key"


def identity_path(home: Path) -> Path:
    return Path(home) / IDENTITY_FILE


def load_or_create_identity(home: Path) -> KeyPair:
    """Load the key in `home`, or create and persist one on first start.

    The new key is written to a temporary file and renamed into place so a
    crash mid-write never leaves a truncated key that would change the peer id.
    """
    path = identity_path(home)
    if path.exists():
        try:
            return load_identity(path)
        except (OSError, ValueError) as exc:
            raise P2PConfigError(f"cannot read p2p identity {path}: {exc}") from exc
    key_pair = create_new_key_pair()
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_identity(key_pair, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise P2PConfigError(f"cannot write p2p identity {path}: {exc}") from exc
    return key_pair


def peer_id_of(key_pair: KeyPair) -> ID:
    return ID.from_pubkey(key_pair.public_key)
