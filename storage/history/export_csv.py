"""CSV export of history: RFC 4180, UTF-8, ISO 8601 times with offset, units in the header.

Every value is printed at its quantity's resolution (battery/quantities.py): 13.501 V, 90 %.

Two tables: `strings` (one row per string per scan) and `cells` (one row per cell per scan).
Rows are produced one string-day at a time, so memory stays bounded (one string-day decoded,
~30 MB for 120 cells) for any range, a year of 3,840 cells included. Stale readings are empty
fields with health STALE: they never look like values.

Text fields (ids, times, fault lists) are written spreadsheet-safe (csv_text): an id that starts
with `-` or `=` is never a formula; health and state names are the code's own letters-only names.
Readings are numbers printed at their stored resolution and stay bare, so a spreadsheet sums a
negative current as a number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Literal

from battery.codes import CellFault, ChargeState, Health
from storage.csv_text import spreadsheet_text
from storage.history import schema
from storage.history.cancel import NEVER, CancelToken
from storage.history.compactor import presence_mask
from storage.history.reader import HistoryQueries, UnknownItem
from storage.history.schema import ABSENT, CELL_FIELDS, STRING_FIELDS

Kind = Literal["strings", "cells"]
CHUNK_ROWS = 5000

# Units in the registry's ASCII spelling (mOhm, degC): a spreadsheet that opens the UTF-8 file as
# Windows-1252 must still read the header right.
STRING_HEADER = (
    ["time", "ups", "string", "health", "state"]
    + [f"{q.name} [{q.quantity.unit_ascii}]" for q in schema.STRING_QUANTITIES.values()]
    + ["hall_ok", "relay_closed"]
)
CELL_HEADER = ["time", "ups", "string", "cell", "health", "faults"] + [
    f"{q.name} [{q.quantity.unit_ascii}]" for q in schema.CELL_QUANTITIES.values()
]

_HEALTH = {int(h): h.name for h in Health}


class _CodeNames(dict):
    """The name of a stored code; a code that has no name is written as its number."""

    def __missing__(self, key: int) -> str:
        return str(key)


_HEALTH_TEXT = _CodeNames(_HEALTH)
_STATE_TEXT = _CodeNames({int(s): s.name for s in ChargeState})


def _fmt(scale: float) -> Callable[[int], str]:
    """A formatter that prints exactly the stored resolution (13.501 V, not 13.500999)."""
    digits = max(0, -round(math.log10(scale))) if scale < 1 else 0
    if digits == 0:
        return lambda v: str(round(v * scale)) if scale != 1 else str(v)
    return lambda v: f"{v * scale:.{digits}f}"


def _quote(text: str) -> str:
    """RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled."""
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _format_all(values: object, fmt: Callable[[int], str], cache: dict[int, str]) -> list[str]:
    for v in set(values) - cache.keys():  # type: ignore[call-overload]
        cache[v] = fmt(v)
    return list(map(cache.__getitem__, values))  # type: ignore[call-overload]


@lru_cache(maxsize=256)
def _faults(f: int) -> str:
    return spreadsheet_text("|".join(x.name for x in CellFault if x and f & x)) if f else ""


def csv_chunks(
    queries: HistoryQueries,
    kind: Kind,
    start: float,
    end: float,
    ups: str | None = None,
    string: str | None = None,
    cell: int | None = None,
    tz: dt.tzinfo = dt.UTC,
    progress: Callable[[int, int], None] | None = None,
    cancel: CancelToken = NEVER,
) -> Iterator[str]:
    """CSV text, header first, then rows in chunks of CHUNK_ROWS; only stored days are walked."""
    if kind not in ("strings", "cells"):
        raise ValueError(f"CSV kind must be 'strings' or 'cells', got {kind!r}")
    if not end > start:
        raise ValueError(f"CSV export: end ({end}) must be after start ({start})")
    units = queries.string_days(start, end, ups, string)
    if cell is not None:
        for info, _ in units:
            if not 1 <= cell <= info.cells:
                raise UnknownItem(f"string {info.string_id!r} has no cell {cell} (1..{info.cells})")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(STRING_HEADER if kind == "strings" else CELL_HEADER)
    yield buf.getvalue()
    s_fmt = [_fmt(q.scale) for q in schema.STRING_QUANTITIES.values()]
    s_idx = [STRING_FIELDS.index(q.field) for q in schema.STRING_QUANTITIES.values()]
    c_fmt = [_fmt(q.scale) for q in schema.CELL_QUANTITIES.values()]
    c_idx = [CELL_FIELDS.index(q.field) for q in schema.CELL_QUANTITIES.values()]
    caches: list[dict[int, str]] = [{} for _ in c_idx]
    for done, (info, day) in enumerate(units):
        cancel.check()
        data = queries.load(info, day, [cell] if cell else (None if kind == "cells" else []), start, end)
        if progress:
            progress(done, len(units))
        if data is None:
            continue
        times = [
            spreadsheet_text(dt.datetime.fromtimestamp(t / 1000, tz).isoformat(timespec="milliseconds"))
            for t in data.ts_ms
        ]
        buf.seek(0)
        buf.truncate()
        rows = 0
        ups_text, string_text = spreadsheet_text(info.ups_id), spreadsheet_text(info.string_id)
        if kind == "strings":
            for i, t in enumerate(times):
                h = data.string[0][i]
                stale = h == Health.STALE
                vals = []
                for k, f in zip(s_idx, s_fmt):
                    v = data.string[k][i]
                    vals.append("" if stale or v == ABSENT else f(v))
                w.writerow(
                    [t, ups_text, string_text, _HEALTH_TEXT[h], _STATE_TEXT[data.string[3][i]]]
                    + vals
                    + [data.string[9][i], data.string[10][i]]
                )
            yield buf.getvalue()
            continue
        # Each distinct value is formatted once (readings repeat a lot), each cell's tail of a line
        # is joined once, then lines are written scan by scan, cell by cell. Only the ids can need
        # RFC 4180 quoting (numbers and names never do); they are quoted once.
        ids = f"{_quote(ups_text)},{_quote(string_text)},"
        tails = []
        for c in sorted(data.cells):
            cols = data.cells[c]
            mask = presence_mask(cols[5], cols[6])
            texts = [_format_all(cols[k], f, caches[n]) for n, (k, f) in enumerate(zip(c_idx, c_fmt))]
            health = map(_HEALTH_TEXT.__getitem__, cols[5])
            faults = [_faults(f) for f in cols[6]]
            empty = "," * (len(c_idx) - 1)
            values = (",".join(v) if ok else empty for ok, v in zip(mask, zip(*texts)))
            tails.append([f"{c},{h},{f},{v}\r\n" for h, f, v in zip(health, faults, values)])
        for i, t in enumerate(times):
            head = t + "," + ids
            buf.write("".join([head + tail[i] for tail in tails]))
            rows += len(tails)
            if rows >= CHUNK_ROWS:
                yield buf.getvalue()
                buf.seek(0)
                buf.truncate()
                rows = 0
        if rows:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    if progress:
        progress(len(units), len(units))


def run_export(
    storage_dir: Path,
    topology: object,
    start: dt.datetime,
    end: dt.datetime,
    ups: str | None,
    string: str | None,
    cell: int | None,
    out_dir: Path,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """`btms export`: write strings.csv (and cells.csv) for [start, end) into out_dir; returns the files.

    `topology` is accepted for the CLI's convenience (ids are checked against history's own
    catalog, which also knows strings that have since left the topology). With `cell`, only
    that cell's rows are exported (it needs `string`).
    """
    if cell is not None and string is None:
        raise ValueError("export of a cell needs its string (--string)")
    for name, t in (("--from", start), ("--to", end)):
        if t.tzinfo is None:
            raise ValueError(f"{name} {t.isoformat()} has no UTC offset; write e.g. {t.isoformat()}+00:00")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    queries = HistoryQueries(storage_dir)
    tz = start.tzinfo
    stamp = f"{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}"
    kinds: list[Kind] = ["cells"] if cell is not None else ["strings", "cells"]
    total_units = len(queries.string_days(start.timestamp(), end.timestamp(), ups, string)) * len(kinds)
    files = []
    for n, kind in enumerate(kinds):
        path = out_dir / f"btms-{kind}-{stamp}.csv"
        offset = n * total_units // len(kinds)

        def report(done: int, _total: int, offset: int = offset) -> None:
            if progress:
                progress(offset + done, total_units)

        with open(path, "w", encoding="utf-8", newline="") as f:
            f.writelines(csv_chunks(queries, kind, start.timestamp(), end.timestamp(), ups, string, cell, tz, report))
        files.append(path)
    return files
