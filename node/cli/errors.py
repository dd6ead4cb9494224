"""The one exception a CLI command raises for a user's mistake."""

from __future__ import annotations


class CliError(Exception):
    """An expected failure: printed as one line, exit status 1, no traceback."""
