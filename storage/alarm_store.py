"""The alarm table and the action log in settings.db (SQLite via aiosqlite, WAL).

Settings, users, alarms and notifications share settings.db, a file apart from the sample
history, so that the UI never waits on the sample writer (ARCHITECTURE.md, Storage). This
module creates only its own tables.

One alarm is one row from its raise to its clear; a partial unique index makes "at most one
active row per alarm identity" a property of the database, so a restart or a repeated raise
can never produce a duplicate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiosqlite

from battery.alarms.records import AlarmCleared, AlarmNotice, AlarmRaised
from battery.alarms.kinds import AlarmLevel, alarm_title
from battery.alarms.lifecycle import AlarmKey, key_of
from storage.csv_text import spreadsheet_row
from storage.settings_db import open_settings_async
from storage.sql_filter import where_equal

CLOSED_WHILE_DOWN = "cleared while the gateway was down"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    ups_id TEXT,
    string_id TEXT,
    cell_index INTEGER,
    value REAL,
    limit_value REAL,
    from_time REAL NOT NULL,
    to_time REAL,
    clear_value REAL,
    close_reason TEXT,
    ack_by TEXT,
    ack_time REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_active
    ON alarms (kind, detail, IFNULL(ups_id, ''), IFNULL(string_id, ''), IFNULL(cell_index, 0))
    WHERE to_time IS NULL;
CREATE INDEX IF NOT EXISTS alarms_by_ups ON alarms (ups_id, id);
CREATE INDEX IF NOT EXISTS alarms_by_string ON alarms (string_id, id);
CREATE TABLE IF NOT EXISTS alarm_actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    alarm_id INTEGER,
    string_id TEXT
);
"""

_KEY_WHERE = (
    "kind = ? AND detail = ? AND IFNULL(ups_id, '') = ? AND IFNULL(string_id, '') = ? "
    "AND IFNULL(cell_index, 0) = ? AND to_time IS NULL"
)
_COLUMNS = (
    "id, kind, detail, ups_id, string_id, cell_index, value, limit_value, from_time, to_time, "
    "clear_value, close_reason, ack_by, ack_time"
)


@dataclass(frozen=True)
class AlarmRecord:
    id: int
    kind: str
    detail: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    value: float | None
    limit: float | None
    from_time: float
    to_time: float | None
    clear_value: float | None
    close_reason: str | None
    acknowledged_by: str | None
    acknowledged_at: float | None

    @property
    def active(self) -> bool:
        return self.to_time is None

    @property
    def status(self) -> str:
        """The manual's Status column."""
        return "active" if self.active else "gone"

    @property
    def title(self) -> str:
        return alarm_title(self.kind, self.detail)

    @property
    def key(self) -> AlarmKey:
        return (self.kind, self.detail, self.ups_id or "", self.string_id or "", self.cell_index or 0)

    def notice(self, event: str) -> AlarmNotice:
        return AlarmNotice(
            event=event, alarm_id=self.id, kind=self.kind, title=self.title, ups_id=self.ups_id,
            string_id=self.string_id, cell_index=self.cell_index,
            value=self.clear_value if event in ("cleared", "closed") else self.value, limit=self.limit,
            from_time=self.from_time, to_time=self.to_time, acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at, detail=self.detail,
        )


@dataclass(frozen=True)
class AlarmPage:
    rows: tuple[AlarmRecord, ...]
    total: int  # rows matching the filter, for "Showing 1 to 10 of 14 entries"


@dataclass(frozen=True)
class ActionRecord:
    id: int
    time: float
    action: str
    reason: str
    alarm_id: int | None
    string_id: str | None


def _record(row: Iterable) -> AlarmRecord:
    return AlarmRecord(*row)


def format_time(t: float | None) -> str:
    """Local time with its offset, as the manual's notification texts print it."""
    if t is None:
        return ""
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


_HEADERS = {
    AlarmLevel.SITE: ["#", "UPS", "String", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"],
    AlarmLevel.UPS: ["#", "String", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"],
    AlarmLevel.STRING: ["#", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"],
}


def table_header(level: AlarmLevel) -> list[str]:
    """The columns of the manual's alarm table at data-center, UPS or string level."""
    return list(_HEADERS[level])


def table_row(r: AlarmRecord, level: AlarmLevel, labels: Mapping[str, str] | None = None) -> list[str]:
    """One row of the manual's alarm table; `labels` maps UPS/string ids to "#01" style names."""
    labels = labels or {}
    cell = f"#{r.cell_index:03d}" if r.cell_index else ""
    tail = [format_time(r.from_time), format_time(r.to_time), r.title, r.status, r.acknowledged_by or ""]
    if level is AlarmLevel.SITE:
        head = [str(r.id), labels.get(r.ups_id or "", r.ups_id or ""), labels.get(r.string_id or "", r.string_id or ""), cell]
    elif level is AlarmLevel.UPS:
        head = [str(r.id), labels.get(r.string_id or "", r.string_id or ""), cell]
    elif level is AlarmLevel.STRING:
        head = [str(r.id), cell]
    else:
        raise ValueError(f"alarm table: no table at level {level!r}")
    return head + tail


class AlarmStore:
    """Async access to the alarm table. One instance per event loop (one writer per file)."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: str | Path) -> AlarmStore:
        return cls(await open_settings_async(path, _SCHEMA))

    async def close(self) -> None:
        await self._db.close()

    # -- lifecycle --------------------------------------------------------------------------

    async def raise_alarm(self, e: AlarmRaised) -> tuple[AlarmRecord, bool]:
        """Store a raise; returns the active record and whether it is a new alarm."""
        cur = await self._db.execute(
            "INSERT OR IGNORE INTO alarms (kind, detail, ups_id, string_id, cell_index, value, limit_value, from_time)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (str(e.kind), e.detail or "", e.ups_id, e.string_id, e.cell_index, e.value, e.limit, e.time),
        )
        new = cur.rowcount == 1
        await self._db.commit()
        rec = await self._active_by_key(key_of(e))
        if rec is None:  # only possible if another writer cleared it in between
            raise RuntimeError(f"alarm {key_of(e)} vanished right after it was stored")
        return rec, new

    async def clear_alarm(self, e: AlarmCleared) -> AlarmRecord | None:
        """Close the active alarm; None when none was active (a clear after a restart's close)."""
        return await self._close(key_of(e), e.time, e.value, "cleared")

    async def close_while_down(self, key: AlarmKey, time: float) -> AlarmRecord | None:
        return await self._close(key, time, None, CLOSED_WHILE_DOWN)

    async def _close(self, key: AlarmKey, time: float, value: float | None, reason: str) -> AlarmRecord | None:
        cur = await self._db.execute(
            f"UPDATE alarms SET to_time = ?, clear_value = ?, close_reason = ? WHERE {_KEY_WHERE} RETURNING id",
            (time, value, reason, *key),
        )
        row = await cur.fetchone()
        await cur.close()
        await self._db.commit()
        return None if row is None else await self.get(row[0])

    async def acknowledge(self, alarm_id: int, who: str, time: float) -> AlarmRecord | None:
        """Record who acknowledged; the first acknowledgement is kept. None: no such alarm."""
        await self._db.execute(
            "UPDATE alarms SET ack_by = ?, ack_time = ? WHERE id = ? AND ack_by IS NULL", (who, time, alarm_id)
        )
        await self._db.commit()
        return await self.get(alarm_id)

    # -- queries ----------------------------------------------------------------------------

    async def get(self, alarm_id: int) -> AlarmRecord | None:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _record(row)

    async def _active_by_key(self, key: AlarmKey) -> AlarmRecord | None:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM alarms WHERE {_KEY_WHERE}", key) as cur:
            row = await cur.fetchone()
        return None if row is None else _record(row)

    async def active(self) -> list[AlarmRecord]:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM alarms WHERE to_time IS NULL ORDER BY id") as cur:
            return [_record(r) for r in await cur.fetchall()]

    async def count_active_unacknowledged(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM alarms WHERE to_time IS NULL AND ack_by IS NULL") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _filter(ups_id: str | None, string_id: str | None, active_only: bool) -> tuple[str, list]:
        return where_equal(("to_time IS NULL",) if active_only else (), ups_id=ups_id, string_id=string_id)

    async def page(
        self, *, ups_id: str | None = None, string_id: str | None = None, offset: int = 0, limit: int = 10,
        active_only: bool = False,
    ) -> AlarmPage:
        """Newest first, as the manual's tables list them. UPS level: ups_id; string level: string_id."""
        if offset < 0 or not 1 <= limit <= 10_000:
            raise ValueError(f"alarm page: offset {offset} must be >= 0 and limit {limit} within 1..10000")
        where, args = self._filter(ups_id, string_id, active_only)
        async with self._db.execute(f"SELECT COUNT(*) FROM alarms{where}", args) as cur:
            total = int((await cur.fetchone())[0])
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM alarms{where} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
        ) as cur:
            rows = tuple(_record(r) for r in await cur.fetchall())
        return AlarmPage(rows, total)

    async def csv_chunks(
        self, level: AlarmLevel, *, ups_id: str | None = None, string_id: str | None = None,
        labels: Mapping[str, str] | None = None, chunk_rows: int = 500,
    ) -> AsyncIterator[str]:
        """The alarm table as CSV text, in chunks read in bounded queries (no long-held snapshot).

        Every field of the table is text (ids, labels, times, titles, token names): each one is
        written spreadsheet-safe, so a token named `-A1` cannot become a formula.
        """
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(table_header(level))
        yield out.getvalue()
        where, args = self._filter(ups_id, string_id, False)
        last_id: int | None = None
        while True:
            cond = where + ((" AND " if where else " WHERE ") + "id < ?" if last_id is not None else "")
            params = [*args, last_id] if last_id is not None else list(args)
            async with self._db.execute(
                f"SELECT {_COLUMNS} FROM alarms{cond} ORDER BY id DESC LIMIT ?", [*params, chunk_rows]
            ) as cur:
                rows = [_record(r) for r in await cur.fetchall()]
            if not rows:
                return
            out = io.StringIO()
            w = csv.writer(out)
            for r in rows:
                w.writerow(spreadsheet_row(table_row(r, level, labels)))
            yield out.getvalue()
            last_id = rows[-1].id

    # -- action log -------------------------------------------------------------------------

    async def log_action(
        self, time: float, action: str, reason: str, alarm_id: int | None = None, string_id: str | None = None
    ) -> None:
        await self._db.execute(
            "INSERT INTO alarm_actions (time, action, reason, alarm_id, string_id) VALUES (?, ?, ?, ?, ?)",
            (time, action, reason, alarm_id, string_id),
        )
        await self._db.commit()

    async def actions(self, limit: int = 100) -> list[ActionRecord]:
        async with self._db.execute(
            "SELECT id, time, action, reason, alarm_id, string_id FROM alarm_actions ORDER BY id DESC LIMIT ?", (limit,)
        ) as cur:
            return [ActionRecord(*r) for r in await cur.fetchall()]
