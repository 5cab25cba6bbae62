"""The stored formats of history, and how rows of an older format are read.

Format 1 stored a string's SOC and SOH in 0.1 % while every interface served them in 1 %.
Format 2 stores every value in the wire scale of its quantity (battery/quantities.py), so the
string's SOC and SOH are in 1 %. Rows of format 1 are never rewritten (a migration would rewrite
a year of files and could lose them to a power cut half-way): they are converted when read, here,
so every reader sees format 2. Nothing was lost in the change: a string's SOC and SOH are its
weakest battery's, and a battery's are whole percent.

Where the format is written down:
- hot and discharge scans: the payload's first byte (scan_row.FORMAT_V1 / FORMAT_V2);
- cold days: a row in `day_format` (schema.COLD_DDL); a compacted day without one is format 1.
"""

from __future__ import annotations

import sqlite3
from array import array

from storage.history import schema, summaries
from storage.history.schema import STRING_FIELDS

FORMAT_1 = 1
FORMAT_2 = 2
CURRENT = FORMAT_2

# String fields whose scale format 1 stored differently: field -> counts per unit in format 1.
FORMAT_1_STRING_SCALES = {"soc_pct": 10, "soh_pct": 10}
_STORED = {q.field: q.quantity for q in schema.STRING_QUANTITIES.values()}
_INDEX = {STRING_FIELDS.index(f): f for f in FORMAT_1_STRING_SCALES}


def _from_format_1(field: str, counts: float) -> int:
    """A format-1 integer of `field` in the registry's wire scale (rounded as the writer rounds)."""
    q = _STORED[field]
    return q.to_wire(counts / FORMAT_1_STRING_SCALES[field])  # type: ignore[return-value]


def string_fields_from_format_1(fields: tuple[int, ...]) -> tuple[int, ...]:
    """The 11 string fields of one format-1 scan, in format 2."""
    out = list(fields)
    for k, field in _INDEX.items():
        out[k] = _from_format_1(field, fields[k])
    return tuple(out)


def string_columns_from_format_1(columns: list[array]) -> list[array]:
    """A format-1 day of string columns (one per STRING_FIELDS, maybe empty = not decoded), in format 2."""
    out = list(columns)
    for k, field in _INDEX.items():
        if len(columns[k]):
            out[k] = array("i", (_from_format_1(field, v) for v in columns[k]))
    return out


def hours_from_format_1(field: str, hours: list[summaries.HourStat]) -> list[summaries.HourStat]:
    """A format-1 day of hourly summaries of `field` (a STRING_FIELDS name), in format 2.

    The mean is cut to the precision format 2 keeps (a tenth of a step), so an old day plots as
    it would have been stored now.
    """
    if field not in FORMAT_1_STRING_SCALES:
        return hours
    k, steps = FORMAT_1_STRING_SCALES[field], summaries.AVG_STEPS
    return [
        summaries.HourStat(
            h.hour,
            h.count,
            _from_format_1(field, h.min),
            round(h.avg / k * steps) / steps,
            _from_format_1(field, h.max),
        )
        for h in hours
    ]


def format_1_days(cold: sqlite3.Connection) -> set[int]:
    """The days of a cold file that were compacted in format 1."""
    days = {d for (d,) in cold.execute("SELECT day FROM compacted")}
    has_table = cold.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='day_format'").fetchone()
    if has_table:
        days -= {d for (d,) in cold.execute("SELECT day FROM day_format WHERE format >= ?", (FORMAT_2,))}
    return days
