"""The days that hold history, read from the files on disk: queries walk these, not the calendar.

An API range may be 0001..9999 (3.6 million days) while the gateway keeps a year at most.
Every series and export first cuts its range to the stored days it overlaps, so its work and
memory follow the data that exists: a range with no stored day costs a directory listing.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, bisect_right
from pathlib import Path

from storage.history import schema
from storage.history.day_data import compacted_days
from storage.history.schema import DAY_S


def stored_days(storage_dir: Path) -> list[int]:
    """Every day with a hot file or compacted into a cold file, oldest first."""
    days = set(schema.hot_days_on_disk(storage_dir))
    for _month, path in schema.cold_months_on_disk(storage_dir):
        con = schema.open_read_only(path)
        try:
            days |= compacted_days(con)
        except sqlite3.OperationalError as error:  # a cold file the compactor has just created
            if "no such table" not in str(error):
                raise
        finally:
            con.close()
    return sorted(days)


def days_within(days: list[int], start: float, end: float) -> list[int]:
    """The stored days (sorted) that overlap [start, end)."""
    if not end > start:
        return []
    return days[bisect_left(days, schema.day_of(start)) : bisect_right(days, schema.day_of(end - 1e-3))]


def clamp_to_stored(days: list[int], start: float, end: float) -> tuple[float, float] | None:
    """[start, end) cut to the stored days it overlaps; None when it overlaps none."""
    inside = days_within(days, start, end)
    if not inside:
        return None
    return max(start, inside[0] * DAY_S), min(end, (inside[-1] + 1) * DAY_S)
