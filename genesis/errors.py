"""Expected failures of genesis and key files."""

from __future__ import annotations


class GenesisError(Exception):
    """A genesis document or key file is malformed; the message names the field."""
