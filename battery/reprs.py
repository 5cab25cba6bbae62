"""Short reprs for values that carry a string's cells."""

from __future__ import annotations


def brief_repr(message: object, what: str, cells: tuple) -> str:
    """A short repr for messages that carry a string's cells.

    Thespian renders every message it receives for a DEBUG log line, even when DEBUG is off;
    the generated repr of 840 cell values cost the gateway half of its CPU time (measured).
    """
    return f"{type(message).__name__}({what}, {len(cells)} cells)"
