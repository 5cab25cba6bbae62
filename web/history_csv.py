"""The CSV downloads of the History and Discharge pages: exactly what a plot or a table shows.

RFC 4180 (CRLF line ends, a field with a comma, quote or line break quoted, quotes doubled),
UTF-8, a header line with each column's unit in the registry's ASCII spelling ("voltage min
[V]", as `btms export` and /api/v1/export.csv write it), times in ISO 8601 with their offset
in the site's time zone. Numbers are the JSON API's own numbers, printed as Python prints them
(its JSON encoder prints floats the same way); text fields are spreadsheet-safe (csv_text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from battery.quantities import Quantity
from storage.csv_text import spreadsheet_text
from storage.history.schema import CELL_QUANTITIES, STRING_QUANTITIES, UPS_REGISTRY_QUANTITIES
from web.json_quantities import DISCHARGE_JSON

Point = tuple[float, float, float, float]  # (UNIX time, min, avg, max)
ENVELOPE = ("min", "avg", "max")


def quantity_of(level: str, name: str) -> Quantity:
    """The registry's quantity a series of `level` names `name` (the reader has checked it exists)."""
    if level == "ups":
        return UPS_REGISTRY_QUANTITIES[name]
    return (CELL_QUANTITIES if level == "cell" else STRING_QUANTITIES)[name].quantity


def local_time(t: float, zone: ZoneInfo) -> str:
    """'2026-12-02T23:15:02.500+01:00': a bucket's start, to the millisecond the API gives."""
    return datetime.fromtimestamp(t, zone).isoformat(timespec="milliseconds")


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _text(rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


def series_csv(names: Sequence[str], quantity: str, q: Quantity, series: Sequence[list[Point]], zone: ZoneInfo) -> str:
    """One row per bucket time of any series: time, then min, avg, max of each named series.

    A series without that bucket (no reading there) has empty fields: a gap, as in the plot.
    """
    header = ["time"] + [spreadsheet_text(f"{n} {quantity} {e} [{q.unit_ascii}]") for n in names for e in ENVELOPE]
    by_time: dict[float, list[str]] = {}
    for k, points in enumerate(series):
        for t, lo, avg, hi in points:
            row = by_time.setdefault(t, [""] * (3 * len(series)))
            row[3 * k : 3 * k + 3] = [_number(lo), _number(avg), _number(hi)]
    rows = ([local_time(t, zone), *by_time[t]] for t in sorted(by_time))
    return _text([header, *rows])


# Column header (with its unit) -> the property of the one discharge shape (web/discharge_json.py).
_DISCHARGE_FIGURES = (
    ("duration [s]", "duration_s"),
    (f"charge [{DISCHARGE_JSON['ah'].unit_ascii}]", "ah"),
    (f"energy [{DISCHARGE_JSON['wh'].unit_ascii}]", "wh"),
    (f"lowest string voltage [{DISCHARGE_JSON['min_string_voltage_v'].unit_ascii}]", "min_string_voltage_v"),
    (f"lowest cell voltage [{DISCHARGE_JSON['min_cell_voltage_v'].unit_ascii}]", "min_cell_voltage_v"),
)
DISCHARGE_HEADER = ("#", "ups", "string", "start", "end", *(h for h, _ in _DISCHARGE_FIGURES), "lowest cell")


def discharge_csv(events: Iterable[dict], zone: ZoneInfo) -> str:
    """The discharge table (web/discharge_json.py's events), newest first; an open event has no end."""

    def when(t: float | None) -> str:
        return "" if t is None else datetime.fromtimestamp(t, zone).isoformat(timespec="seconds")

    rows = (
        [
            str(e["id"]),
            spreadsheet_text(e["ups_id"]),
            spreadsheet_text(e["string_id"]),
            when(e["start"]),
            when(e["end"]),
            *(_number(e[name]) for _, name in _DISCHARGE_FIGURES),
            "" if e["min_cell"] is None else str(e["min_cell"]),
        ]
        for e in events
    )
    return _text([list(DISCHARGE_HEADER), *rows])


def attachment(*parts: str) -> dict[str, str]:
    """A Content-Disposition naming the download from `parts`, with only safe characters in it."""
    name = "-".join(parts)
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)[:150]
    return {"Content-Disposition": f'attachment; filename="btms-{safe}.csv"'}
