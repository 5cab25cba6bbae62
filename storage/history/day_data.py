"""One string's scans of one day, from whichever tier holds them, as columns.

Hot files hold today and the last few days scan by scan; cold files hold every compacted day
cell by cell. Queries and the CSV export read through here so that they never care which.
"""

from __future__ import annotations

import sqlite3
from array import array
from dataclasses import dataclass
from pathlib import Path

from battery.codes import CellFault, Health
from storage.history import codec, formats, schema
from storage.history.scan_row import unpack_scan
from storage.history.schema import CELL_FIELDS, DAY_S, STRING_FIELDS


@dataclass(frozen=True)
class DayData:
    """ts_ms[i] is scan i; string[k][i] is STRING_FIELDS[k]; cells[c][k][i] is CELL_FIELDS[k] of cell c."""

    ts_ms: array
    string: list[array]
    cells: dict[int, list[array]]  # cell_no (1-based) -> columns; only the cells asked for

    def __len__(self) -> int:
        return len(self.ts_ms)


def compacted_days(con: sqlite3.Connection) -> set[int]:
    return {d for (d,) in con.execute("SELECT day FROM compacted")}


def _connect_if_exists(path: Path) -> sqlite3.Connection | None:
    if not path.exists():
        return None
    return schema.open_read_only(path)


def load_day(
    storage_dir: Path,
    string_no: int,
    day: int,
    cells: list[int] | None,
    t0_ms: int | None = None,
    t1_ms: int | None = None,
    fields: tuple[str, ...] | None = None,
) -> DayData | None:
    """Scans of [t0_ms, t1_ms) of that day (all of it by default); `cells` None = every cell.

    `fields` (names of STRING_FIELDS/CELL_FIELDS) limits what is decoded from the cold tier;
    the others are empty arrays. Health and faults are always decoded (they say what is stale).
    """
    cold = _connect_if_exists(schema.cold_path(storage_dir, day))
    try:
        if (
            cold is not None
            and cold.execute("SELECT 1 FROM string_day WHERE string_no=? AND day=?", (string_no, day)).fetchone()
        ):
            return _clip(_load_cold(cold, string_no, day, cells, fields), t0_ms, t1_ms)
    finally:
        if cold is not None:
            cold.close()
    hot = _connect_if_exists(schema.hot_path(storage_dir, day))
    if hot is None:
        return None
    try:
        return _load_hot(hot, string_no, day, cells, t0_ms, t1_ms)
    finally:
        hot.close()


def _load_cold(
    con: sqlite3.Connection, string_no: int, day: int, cells: list[int] | None, fields: tuple[str, ...] | None
) -> DayData:
    blob, n_cells = con.execute(
        "SELECT samples, cells FROM string_day WHERE string_no=? AND day=?", (string_no, day)
    ).fetchone()
    s_only = (
        None if fields is None else tuple([0, 1] + [1 + STRING_FIELDS.index(f) for f in fields if f in STRING_FIELDS])
    )
    c_only = (
        None
        if fields is None
        else tuple(
            [CELL_FIELDS.index("health"), CELL_FIELDS.index("faults")]
            + [CELL_FIELDS.index(f) for f in fields if f in CELL_FIELDS]
        )
    )
    cols = [codec.from_lanes(c) for c in codec.unpack_series(blob, 1 + len(STRING_FIELDS), s_only)]
    day_ms = day * DAY_S * 1000
    ts = array("q", (day_ms + o for o in cols[0]))
    wanted = range(1, n_cells + 1) if cells is None else [c for c in cells if 1 <= c <= n_cells]
    out: dict[int, list[array]] = {}
    if cells is None:
        rows = con.execute("SELECT cell_no, samples FROM cell_day WHERE string_no=? AND day=?", (string_no, day))
    else:
        rows = (
            (
                c,
                con.execute(
                    "SELECT samples FROM cell_day WHERE string_no=? AND cell_no=? AND day=?", (string_no, c, day)
                ).fetchone()[0],
            )
            for c in wanted
        )
    for c, b in rows:
        out[c] = [codec.from_lanes(x) for x in codec.unpack_series(b, len(CELL_FIELDS), c_only)]
    string = cols[1:]
    if day in formats.format_1_days(con):
        string = formats.string_columns_from_format_1(string)
    return DayData(ts, string, out)


def _load_hot(
    con: sqlite3.Connection, string_no: int, day: int, cells: list[int] | None, t0_ms: int | None, t1_ms: int | None
) -> DayData | None:
    lo = t0_ms if t0_ms is not None else day * DAY_S * 1000
    hi = t1_ms if t1_ms is not None else (day + 1) * DAY_S * 1000
    rows = con.execute(
        "SELECT ts_ms, payload FROM string_scan WHERE string_no=? AND ts_ms>=? AND ts_ms<? ORDER BY ts_ms",
        (string_no, lo, hi),
    ).fetchall()
    if not rows:
        return None
    decoded = [unpack_scan(p) for _, p in rows]
    n_cells = max(r.cell_count for r in decoded)
    wanted = list(range(1, n_cells + 1)) if cells is None else [c for c in cells if 1 <= c <= n_cells]
    string_cols = [array("i", [r.string_fields[k] for r in decoded]) for k in range(len(STRING_FIELDS))]
    # Scan-major columns, then one cell is a strided slice (C speed, no per-value loop).
    big = [array("i") for _ in CELL_FIELDS]
    i_h, i_f = CELL_FIELDS.index("health"), CELL_FIELDS.index("faults")
    fill = [
        array("i", [Health.STALE if k == i_h else CellFault.NO_RESPONSE if k == i_f else 0]) * n_cells
        for k in range(len(CELL_FIELDS))
    ]
    for r in decoded:
        have = r.cell_count
        for k in range(len(CELL_FIELDS)):
            if have == n_cells:
                big[k].extend(r.cells[k])
            else:  # the string (or some cells) did not answer: no reading, marked stale
                big[k].extend(r.cells[k])
                big[k].extend(fill[k][have:])
    out = {c: [col[c - 1 :: n_cells] for col in big] for c in wanted} if n_cells else {}
    return DayData(array("q", (ts for ts, _ in rows)), string_cols, out)


def _clip(d: DayData, t0_ms: int | None, t1_ms: int | None) -> DayData | None:
    if t0_ms is None and t1_ms is None:
        return d if len(d) else None
    from bisect import bisect_left

    a = bisect_left(d.ts_ms, t0_ms) if t0_ms is not None else 0
    b = bisect_left(d.ts_ms, t1_ms) if t1_ms is not None else len(d.ts_ms)
    if a >= b:
        return None
    if a == 0 and b == len(d.ts_ms):
        return d
    return DayData(d.ts_ms[a:b], [c[a:b] for c in d.string], {n: [c[a:b] for c in cols] for n, cols in d.cells.items()})
