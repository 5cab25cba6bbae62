"""The one error type of the gateway's start-up checks."""

from __future__ import annotations


class CannotStart(Exception):
    """Why `btms run` will not start, in one line an operator can act on (no traceback)."""
