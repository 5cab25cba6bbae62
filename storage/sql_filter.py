"""A WHERE clause of equality conditions, the ones whose value is given. Column names are the
caller's constants, never user input; values are always bound parameters."""

from __future__ import annotations

from typing import Any


def where_equal(extra: tuple[str, ...] = (), **columns: Any) -> tuple[str, list]:
    """(" WHERE a = ? AND b = ?", [a, b]) for the columns whose value is not None, plus `extra`
    conditions without parameters; ("", []) when there is nothing to filter."""
    conditions = [f"{name} = ?" for name, value in columns.items() if value is not None] + list(extra)
    args = [value for value in columns.values() if value is not None]
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", args
