"""Read-only queries on history, for the web/API process (never the writer's process).

Every query opens its files read-only (mode=ro), reads, and closes them again: a reader never
takes the writer's lock, holds no snapshot between calls (so the WAL can be checkpointed),
and can run in any process. HistoryQueries is synchronous; HistoryReader wraps it for asyncio
by running each query in a worker thread so the event loop stays free.

Any range a client asks for is first cut to the stored days (stored_days.py), so a query of
0001..9999 costs what the stored data costs. Long queries check a CancelToken between days, so
a client that leaves or a server that stops ends them (cancel.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
from array import array
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from battery.codes import Health
from battery.plausibility import cell_answered
from storage.history import downsample, formats, schema, summaries
from storage.history.cancel import NEVER, CancelToken
from storage.history.compactor import CELL_SUMMARY_FIELDS, STRING_SUMMARY_FIELDS, presence_mask
from storage.history.day_data import DayData, load_day
from storage.history.discharge_figures import DischargeFigures, StoredDischarge
from storage.history.scan_row import ScanRow, string_field_value, unpack_scan
from storage.history.schema import ABSENT, CELL_FIELDS, DAY_S, STRING_FIELDS
from storage.history.stored_days import clamp_to_stored, days_within, stored_days
from storage.sql_filter import where_equal

Level = Literal["cell", "string", "ups"]
T = TypeVar("T")
Point = tuple[float, float, float, float]  # (t, min, avg, max)


class UnknownItem(KeyError):
    """A string, UPS, cell, quantity or event that history does not know (the message names it)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class StringInfo:
    string_no: int
    string_id: str
    ups_id: str
    cells: int


def _catalog(storage_dir: Path) -> sqlite3.Connection:
    path = schema.catalog_path(storage_dir)
    if not path.exists():  # nothing committed yet (the first commit comes one interval after start)
        raise UnknownItem(f"no history stored yet in {schema.history_dir(storage_dir)}")
    return schema.open_read_only(path)


class HistoryQueries:
    CATALOG_TTL_S = 30.0  # the catalog changes when a string is added; a miss re-reads it at once

    def __init__(self, storage_dir: Path) -> None:
        self.storage_dir = Path(storage_dir)
        self._catalog: list[StringInfo] = []
        self._catalog_read = -1e9
        self._figures = DischargeFigures()

    # ------------------------------------------------------------ catalog

    def strings(self, fresh: bool = False) -> list[StringInfo]:
        if fresh or time.monotonic() - self._catalog_read > self.CATALOG_TTL_S:
            con = _catalog(self.storage_dir)
            try:
                self._catalog = [
                    StringInfo(*r)
                    for r in con.execute(
                        "SELECT string_no, string_id, ups_id, cells FROM string_catalog ORDER BY string_no"
                    )
                ]
            finally:
                con.close()
            self._catalog_read = time.monotonic()
        return self._catalog

    def string_info(self, string_id: str) -> StringInfo:
        for fresh in (False, True):
            for s in self.strings(fresh):
                if s.string_id == string_id:
                    return s
        raise UnknownItem(f"history has no string {string_id!r}")

    # ------------------------------------------------------------ snapshot

    def string_snapshot(self, string_id: str, at: float, cancel: CancelToken = NEVER) -> dict | None:
        """The string and its cells as last scanned at or before `at` (looks back one day)."""
        info = self.string_info(string_id)
        at_ms = int(at * 1000)
        for day in reversed(days_within(stored_days(self.storage_dir), at - DAY_S, at + 1e-3)):
            cancel.check()
            hot_path = schema.hot_path(self.storage_dir, day)
            if hot_path.exists():
                con = schema.open_read_only(hot_path)
                try:
                    row = con.execute(
                        "SELECT ts_ms, payload FROM string_scan WHERE string_no=? AND ts_ms<=? "
                        "ORDER BY ts_ms DESC LIMIT 1",
                        (info.string_no, at_ms),
                    ).fetchone()
                finally:
                    con.close()
                if row:
                    r = unpack_scan(row[1])
                    cols = [list(c) for c in r.cells]
                    return _snapshot(info, row[0], list(r.string_fields), cols)
            data = load_day(self.storage_dir, info.string_no, day, None, t1_ms=at_ms + 1)
            if data is not None:
                i = len(data) - 1
                cells = [[data.cells[c][k][i] for c in sorted(data.cells)] for k in range(len(CELL_FIELDS))]
                return _snapshot(info, data.ts_ms[i], [col[i] for col in data.string], cells)
        return None

    # ------------------------------------------------------------ series

    def series(
        self,
        level: Level,
        ident: str,
        quantity: str,
        start: float,
        end: float,
        max_points: int = 1000,
        cancel: CancelToken = NEVER,
    ) -> list[Point]:
        """One quantity over [start, end), at most max_points buckets of (t, min, avg, max).

        ident: a string id for "string", "STRING_ID/CELL_NO" for "cell", a UPS id for "ups".
        The buckets divide the part of [start, end) that has stored days (none: no points).
        """
        downsample.bucket_width(start, end, max_points)  # checks the arguments
        days = stored_days(self.storage_dir)
        span = clamp_to_stored(days, start, end)
        if span is not None:
            start, end = span
            days = days_within(days, start, end)
        width = downsample.bucket_width(start, end, max_points)
        series = _Series(days if span is not None else [], start, end, width, cancel)
        if level == "ups":
            how = schema.UPS_QUANTITIES.get(quantity)
            if how is None:
                raise UnknownItem(f"no UPS quantity {quantity!r} (have {', '.join(schema.UPS_QUANTITIES)})")
            strings = [s for s in self.strings() if s.ups_id == ident]
            if not strings:
                raise UnknownItem(f"history has no UPS {ident!r}")
            q = schema.STRING_QUANTITIES[quantity]
            per = [self._buckets(s, None, q.field, series) for s in strings]
            return downsample.points(downsample.combine(per, how), start, width, q.scale)
        if level == "string":
            q = _quantity(schema.STRING_QUANTITIES, "string", quantity)
            acc = self._buckets(self.string_info(ident), None, q.field, series)
            return downsample.points(acc, start, width, q.scale)
        if level == "cell":
            string_id, cell = _split_cell(ident)
            info = self.string_info(string_id)
            if not 1 <= cell <= info.cells:
                raise UnknownItem(f"string {string_id!r} has no cell {cell} (1..{info.cells})")
            q = _quantity(schema.CELL_QUANTITIES, "cell", quantity)
            acc = self._buckets(info, cell, q.field, series)
            return downsample.points(acc, start, width, q.scale)
        raise UnknownItem(f"no level {level!r} (cell, string or ups)")

    def _buckets(self, info: StringInfo, cell: int | None, field: str, series: _Series) -> downsample.Buckets:
        acc: downsample.Buckets = {}
        start, end, width = series.start, series.end, series.width
        covered = self._add_hours(acc, info, cell, field, series) if width >= 3600 else set()
        for day in series.days:
            if day in covered:
                continue
            series.cancel.check()
            t0 = max(start, day * DAY_S)
            t1 = min(end, (day + 1) * DAY_S)
            data = load_day(
                self.storage_dir,
                info.string_no,
                day,
                [cell] if cell else [],
                int(t0 * 1000),
                int(t1 * 1000),
                fields=(field,),
            )
            if data is None:
                continue
            values, mask = _column(data, cell, field)
            downsample.add_samples(acc, data.ts_ms, values, mask, start, width, end)
        return acc

    def _add_hours(
        self, acc: downsample.Buckets, info: StringInfo, cell: int | None, field: str, series: _Series
    ) -> set[int]:
        """Merge hourly summaries of the compacted days; returns the days they covered."""
        start, end, width = series.start, series.end, series.width
        covered: set[int] = set()
        months: dict[str, list[int]] = {}
        for d in series.days:
            months.setdefault(schema.month_name(d), []).append(d)
        fields = STRING_SUMMARY_FIELDS if cell is None else CELL_SUMMARY_FIELDS
        k = fields.index(field)
        for mdays in months.values():
            series.cancel.check()
            path = schema.cold_path(self.storage_dir, mdays[0])
            if not path.exists():
                continue
            con = schema.open_read_only(path)
            try:
                if cell is None:
                    rows = con.execute(
                        "SELECT day, hourly FROM string_hour WHERE string_no=? AND day BETWEEN ? AND ?",
                        (info.string_no, mdays[0], mdays[-1]),
                    ).fetchall()
                    old_days = formats.format_1_days(con)
                else:
                    rows = con.execute(
                        "SELECT day, hourly FROM cell_hour WHERE string_no=? AND cell_no=? AND day BETWEEN ? AND ?",
                        (info.string_no, cell, mdays[0], mdays[-1]),
                    ).fetchall()
                    old_days = set()  # the cells' format did not change
            finally:
                con.close()
            for day, blob in rows:
                covered.add(day)
                hours = summaries.unpack_hours(blob, len(fields), k)
                if day in old_days:
                    hours = formats.hours_from_format_1(field, hours)
                for h in hours:
                    t = day * DAY_S + h.hour * 3600
                    if h.count and start <= t < end:
                        downsample.merge(acc, int((t - start) // width), h.min, h.avg * h.count, h.count, h.max)
        return covered

    # ------------------------------------------------------------ discharge events

    def discharge_events(
        self, ups_id: str | None = None, string_id: str | None = None, cancel: CancelToken = NEVER
    ) -> list[StoredDischarge]:
        """The events, newest first, each with its figures from their one source (discharge_figures.py)."""
        con = _catalog(self.storage_dir)
        try:
            where, args = where_equal(ups_id=ups_id, string_id=string_id)
            # A catalog no writer of this version has opened yet has no stored figures.
            summaries_kept = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'discharge_summary'").fetchone()
            joined = (
                "ah, wh, min_string_v, min_cell_mv, weakest_cells FROM discharge_event "
                "LEFT JOIN discharge_summary ON event_id = id"
                if summaries_kept
                else "NULL, NULL, NULL, NULL, NULL FROM discharge_event"
            )
            rows = con.execute(
                f"SELECT id, ups_id, string_id, start_ms, end_ms, {joined}{where} ORDER BY start_ms DESC", args
            ).fetchall()
            return [self._figures.of(con, row, cancel) for row in rows]
        finally:
            con.close()

    def discharge_event_series(
        self, event_id: int, quantity: str, cell: int | None = None, max_points: int = 1000, cancel: CancelToken = NEVER
    ) -> list[Point]:
        """One quantity of the event's string (or of one of its cells) over the event, full resolution.

        Scans are decoded a batch at a time: memory holds the chosen column, not every payload.
        """
        table = schema.CELL_QUANTITIES if cell else schema.STRING_QUANTITIES
        q = _quantity(table, "cell" if cell else "string", quantity)
        ts, values, present = array("q"), array("i"), bytearray()
        con = _catalog(self.storage_dir)
        try:
            ev = con.execute("SELECT start_ms, end_ms FROM discharge_event WHERE id=?", (event_id,)).fetchone()
            if ev is None:
                raise UnknownItem(f"no discharge event {event_id}")
            cursor = con.execute(
                "SELECT ts_ms, payload FROM discharge_scan WHERE event_id=? ORDER BY ts_ms", (event_id,)
            )
            while batch := cursor.fetchmany(2000):
                cancel.check()
                for t, p in batch:
                    ts.append(t)
                    _append_reading(unpack_scan(p), q.field, cell, values, present)
        finally:
            con.close()
        if not ts:
            return []
        start = ev[0] / 1000
        end = (ev[1] if ev[1] is not None else ts[-1] + 1) / 1000
        end = max(end, ts[-1] / 1000 + 1e-3)
        width = downsample.bucket_width(start, end, max_points)
        acc: downsample.Buckets = {}
        downsample.add_samples(acc, ts, values, bytes(present), start, width, end)
        return downsample.points(acc, start, width, q.scale)

    # ------------------------------------------------------------ raw rows (export)

    def string_days(
        self, start: float, end: float, ups: str | None, string: str | None
    ) -> list[tuple[StringInfo, int]]:
        """The (string, day) units an export of [start, end) walks through, in order: stored days only."""
        infos = [
            s for s in self.strings() if (ups is None or s.ups_id == ups) and (string is None or s.string_id == string)
        ]
        if string is not None and not infos:
            raise UnknownItem(f"history has no string {string!r}" + (f" in UPS {ups!r}" if ups else ""))
        if ups is not None and not infos:
            raise UnknownItem(f"history has no UPS {ups!r}")
        days = days_within(stored_days(self.storage_dir), start, end)
        return [(s, d) for d in days for s in infos]

    def load(self, info: StringInfo, day: int, cells: list[int] | None, start: float, end: float) -> DayData | None:
        t0 = max(start, day * DAY_S)
        t1 = min(end, (day + 1) * DAY_S)
        return load_day(self.storage_dir, info.string_no, day, cells, int(t0 * 1000), int(t1 * 1000))


@dataclass(frozen=True)
class _Series:
    """One series query: its stored days, its range cut to them, its bucket width, its token."""

    days: list[int]
    start: float
    end: float
    width: float
    cancel: CancelToken


def _quantity(table: dict[str, schema.StoredQuantity], level: str, name: str) -> schema.StoredQuantity:
    q = table.get(name)
    if q is None:
        raise UnknownItem(f"no {level} quantity {name!r} (have {', '.join(table)})")
    return q


def _split_cell(ident: str) -> tuple[str, int]:
    string_id, sep, cell = ident.rpartition("/")
    if not sep or not cell.isdigit():
        raise UnknownItem(f"cell id {ident!r} is not STRING_ID/CELL_NO")
    return string_id, int(cell)


def _append_reading(r: ScanRow, field: str, cell: int | None, values: array, present: bytearray) -> None:
    """One scan's value of `field` (of the string, or of cell `cell`) and whether it is a reading."""
    if cell is None:
        v = r.field(field)
        values.append(v)
        present.append(not r.string_stale and string_field_value(field, v) is not None)
    elif cell <= r.cell_count:
        values.append(r.cells[CELL_FIELDS.index(field)][cell - 1])
        present.append(cell_answered(r.cells[5][cell - 1], r.cells[6][cell - 1]))
    else:
        values.append(0)
        present.append(0)


def _column(data: DayData, cell: int | None, field: str) -> tuple[array, bytes]:
    """A column and its presence mask (1 = a real reading)."""
    if cell is None:
        values = data.string[STRING_FIELDS.index(field)]
        health = data.string[0]
        if field in ("ambient_dc", "humidity_dpct"):
            return values, bytes(h != Health.STALE and v != ABSENT for h, v in zip(health, values))
        return values, bytes(h != Health.STALE for h in health)
    cols = data.cells[cell]
    return cols[CELL_FIELDS.index(field)], presence_mask(cols[5], cols[6])


def _snapshot(info: StringInfo, ts_ms: int, string_fields: list[int], cells: list[list[int]]) -> dict:
    stale = string_fields[0] == Health.STALE
    svals: dict[str, float | None] = {}
    for q in schema.STRING_QUANTITIES.values():
        raw = string_field_value(q.field, string_fields[STRING_FIELDS.index(q.field)])
        svals[q.name] = None if stale or raw is None else raw * q.scale
    out_cells = []
    n = len(cells[0]) if cells else 0
    for i in range(max(n, info.cells if stale else 0)):
        h, f = (cells[5][i], cells[6][i]) if i < n else (Health.STALE, 0)
        ok = not stale and cell_answered(h, f)
        c: dict[str, float | int | None] = {"cell": i + 1, "health": int(Health.STALE) if stale else h, "faults": f}
        for q in schema.CELL_QUANTITIES.values():
            c[q.name] = cells[CELL_FIELDS.index(q.field)][i] * q.scale if ok and i < n else None
        out_cells.append(c)
    return {
        "string_id": info.string_id,
        "ups_id": info.ups_id,
        "timestamp": ts_ms / 1000,
        "time": dt.datetime.fromtimestamp(ts_ms / 1000, dt.UTC).isoformat(timespec="milliseconds"),
        "stale": stale,
        "health": string_fields[0],
        "state": string_fields[STRING_FIELDS.index("state")],
        "hall_ok": bool(string_fields[STRING_FIELDS.index("hall_ok")]),
        "relay_closed": bool(string_fields[STRING_FIELDS.index("relay_closed")]),
        "values": svals,
        "cells": out_cells,
    }


class HistoryReader:
    """Async facade for the Quart app: each query runs in a worker thread and can be cancelled.

    A query whose awaiting task is cancelled (its client disconnected) is cancelled in its
    thread too; stop() cancels every query, running or to come (the server is stopping).
    """

    def __init__(self, storage_dir: Path) -> None:
        self.queries = HistoryQueries(storage_dir)
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Cancel every query: thread-safe, so the actor can call it before it stops the loop."""
        self._stopping.set()

    async def _run(self, query: Callable[..., T], *args: object) -> T:
        token = CancelToken(self._stopping)
        token.check()
        try:
            return await asyncio.to_thread(query, *args, cancel=token)
        except asyncio.CancelledError:
            token.cancel()
            raise

    async def string_snapshot(self, string_id: str, at: float) -> dict | None:
        return await self._run(self.queries.string_snapshot, string_id, at)

    async def series(
        self, level: Level, ident: str, quantity: str, start: float, end: float, max_points: int = 1000
    ) -> list[Point]:
        return await self._run(self.queries.series, level, ident, quantity, start, end, max_points)

    async def discharge_events(self, ups_id: str | None = None, string_id: str | None = None) -> list[StoredDischarge]:
        return await self._run(self.queries.discharge_events, ups_id, string_id)

    async def discharge_event_series(
        self, event_id: int, quantity: str, cell: int | None = None, max_points: int = 1000
    ) -> list[Point]:
        return await self._run(self.queries.discharge_event_series, event_id, quantity, cell, max_points)

    async def csv_rows(
        self,
        kind: Literal["strings", "cells"],
        start: float,
        end: float,
        ups: str | None = None,
        string: str | None = None,
        cell: int | None = None,
        tz: dt.tzinfo = dt.UTC,
    ) -> AsyncIterator[str]:
        """CSV text in chunks (header first), one string-day decoded at a time: bounded memory.

        The next chunk is made only when the last one was taken, so a slow client slows the
        export instead of filling memory; closing this generator cancels the export.
        """
        from storage.history.export_csv import csv_chunks

        token = CancelToken(self._stopping)
        chunks: Iterator[str] = csv_chunks(self.queries, kind, start, end, ups, string, cell, tz, cancel=token)
        sentinel = object()
        try:
            while True:
                token.check()
                chunk = await asyncio.to_thread(next, chunks, sentinel)
                if chunk is sentinel:
                    return
                yield chunk  # type: ignore[misc]
        finally:
            token.cancel()
