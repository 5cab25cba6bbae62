"""The alarm table and the action log in settings.db (SQLite via aiosqlite, WAL).

Settings, users, alarms and notifications share settings.db, a file apart from the sample
history, so that the UI never waits on the sample writer (ARCHITECTURE.md, Storage). This
module creates only its own tables.

One alarm is one row from its raise to its clear; a partial unique index makes "at most one
active row per alarm identity" a property of the database, so a restart or a repeated raise
can never produce a duplicate.

The AlarmManager decides every alarm from memory (live.py) and writes here afterwards, when the
disk lets it (pending_writes.py, persistence.py): a write is always a row's whole newest state
under its number, so writing it again, later or twice, is harmless. The table may therefore lag
the alarms the manager announced; the web server lays those over it (web/live_alarms.py).
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import aiosqlite

from battery.alarms.kinds import AlarmLevel, alarm_title
from battery.alarms.lifecycle import AlarmKey
from battery.alarms.records import AlarmNotice
from storage.alarm_filter import AlarmFilter
from storage.csv_text import spreadsheet_row
from storage.settings_db import open_settings_async

CLOSED_WHILE_DOWN = "cleared while the gateway was down"
# Close reasons of rows whose real end was never stored (writes dropped while the disk was full).
SUPERSEDED = "ended before a later raise; its end was not stored"
END_NOT_STORED = "no longer active; its end was not stored"

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
            event=event,
            alarm_id=self.id,
            kind=self.kind,
            title=self.title,
            ups_id=self.ups_id,
            string_id=self.string_id,
            cell_index=self.cell_index,
            value=self.clear_value if event in ("cleared", "closed") else self.value,
            limit=self.limit,
            from_time=self.from_time,
            to_time=self.to_time,
            acknowledged_by=self.acknowledged_by,
            acknowledged_at=self.acknowledged_at,
            detail=self.detail,
        )


@dataclass(frozen=True)
class AlarmPage:
    rows: tuple[AlarmRecord, ...]
    total: int  # rows matching the filter, for "Showing 1 to 10 of 14 entries"


@dataclass(frozen=True)
class ActionLine:
    """One line for the action log, as the AlarmManager queues it (ActionRecord once stored)."""

    time: float
    action: str
    reason: str
    alarm_id: int | None = None
    string_id: str | None = None


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


def format_time(t: float | None, zone: tzinfo | None = None) -> str:
    """Time with its offset, in `zone` (the site's time zone) or else the machine's local one."""
    if t is None:
        return ""
    if zone is not None:
        return datetime.fromtimestamp(t, zone).isoformat(timespec="seconds")
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="seconds")


_HEADERS = {
    AlarmLevel.SITE: ["#", "UPS", "String", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"],
    AlarmLevel.UPS: ["#", "String", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"],
    AlarmLevel.STRING: ["#", "Cell", "From", "To", "Alarm", "Status", "Acknowledged by"],
}


def table_header(level: AlarmLevel) -> list[str]:
    """The columns of the manual's alarm table at data-center, UPS or string level."""
    return list(_HEADERS[level])


def table_row(
    r: AlarmRecord, level: AlarmLevel, labels: Mapping[str, str] | None = None, zone: tzinfo | None = None
) -> list[str]:
    """One row of the manual's alarm table; `labels` maps UPS/string ids to "#01" style names."""
    labels = labels or {}
    cell = f"#{r.cell_index:03d}" if r.cell_index else ""
    tail = [format_time(r.from_time, zone), format_time(r.to_time, zone), r.title, r.status, r.acknowledged_by or ""]
    if level is AlarmLevel.SITE:
        head = [
            str(r.id),
            labels.get(r.ups_id or "", r.ups_id or ""),
            labels.get(r.string_id or "", r.string_id or ""),
            cell,
        ]
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

    # -- writes (the AlarmManager's, in the order it queued them: pending_writes.py) ---------

    async def next_id(self) -> int:
        """The number after the highest alarm number ever given (rows deleted by hand included)."""
        async with self._db.execute(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM alarms), 0),"
            " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'alarms'), 0))"
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) + 1

    async def write(self, entries: Iterable[AlarmRecord | ActionLine]) -> None:
        """Store alarm rows (their whole newest state) and action-log lines in one transaction.

        A failure (disk full, file locked) rolls everything back: the caller keeps the entries
        and writes them again later.
        """
        try:
            for entry in entries:
                if isinstance(entry, AlarmRecord):
                    await self._save(entry)
                else:
                    await self._db.execute(
                        "INSERT INTO alarm_actions (time, action, reason, alarm_id, string_id) VALUES (?, ?, ?, ?, ?)",
                        (entry.time, entry.action, entry.reason, entry.alarm_id, entry.string_id),
                    )
            await self._db.commit()
        except BaseException:
            await self._rollback()
            raise

    async def _save(self, r: AlarmRecord) -> None:
        if r.active:  # one active row per identity: a row left active by lost writes gives way
            await self._db.execute(
                f"UPDATE alarms SET to_time = ?, close_reason = ? WHERE {_KEY_WHERE} AND id != ?",
                (r.from_time, SUPERSEDED, *r.key, r.id),
            )
        await self._db.execute(
            f"INSERT INTO alarms ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET to_time = excluded.to_time, clear_value = excluded.clear_value,"
            " close_reason = excluded.close_reason, ack_by = excluded.ack_by, ack_time = excluded.ack_time",
            (
                r.id,
                r.kind,
                r.detail,
                r.ups_id,
                r.string_id,
                r.cell_index,
                r.value,
                r.limit,
                r.from_time,
                r.to_time,
                r.clear_value,
                r.close_reason,
                r.acknowledged_by,
                r.acknowledged_at,
            ),
        )

    async def resync(self, active: Iterable[AlarmRecord], time: float) -> None:
        """After dropped writes: rows stored as active that are not active now are closed
        (their end was lost), and every active alarm is stored in its newest state."""
        active = list(active)
        try:
            ids = [r.id for r in active]
            await self._db.execute(
                f"UPDATE alarms SET to_time = ?, close_reason = ? WHERE to_time IS NULL"
                f" AND id NOT IN ({', '.join('?' * len(ids))})"
                if ids
                else "UPDATE alarms SET to_time = ?, close_reason = ? WHERE to_time IS NULL",
                (time, END_NOT_STORED, *ids),
            )
            for r in active:
                await self._save(r)
            await self._db.commit()
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        try:
            await self._db.rollback()
        except sqlite3.Error:  # SQLite already rolled back (a full disk does): nothing left to undo
            pass

    # -- queries ----------------------------------------------------------------------------

    async def get(self, alarm_id: int) -> AlarmRecord | None:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _record(row)

    async def existing_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of these alarm numbers have a row."""
        ids = list(ids)
        found: set[int] = set()
        for i in range(0, len(ids), 500):  # well under SQLite's limit of bound parameters
            part = ids[i : i + 500]
            async with self._db.execute(
                f"SELECT id FROM alarms WHERE id IN ({', '.join('?' * len(part))})", part
            ) as cur:
                found.update(r[0] for r in await cur.fetchall())
        return found

    async def count_newer(self, alarm_id: int, **criteria) -> int:
        """Rows of the filter (AlarmFilter's fields) numbered above `alarm_id` (where an alarm with
        no row yet sits in the list)."""
        where, args = AlarmFilter(**criteria).sql()
        cond = where + (" AND " if where else " WHERE ") + "id > ?"
        async with self._db.execute(f"SELECT COUNT(*) FROM alarms{cond}", [*args, alarm_id]) as cur:
            return int((await cur.fetchone())[0])

    async def active(self) -> list[AlarmRecord]:
        async with self._db.execute(f"SELECT {_COLUMNS} FROM alarms WHERE to_time IS NULL ORDER BY id") as cur:
            return [_record(r) for r in await cur.fetchall()]

    async def page(self, *, offset: int = 0, limit: int = 10, active_only: bool = False, **criteria) -> AlarmPage:
        """Newest first, as the manual's tables list them. `criteria`: AlarmFilter's fields (UPS
        level: ups_id; string level: string_id; kind, since, until)."""
        if offset < 0 or not 1 <= limit <= 10_000:
            raise ValueError(f"alarm page: offset {offset} must be >= 0 and limit {limit} within 1..10000")
        where, args = AlarmFilter(**criteria).sql(active_only)
        async with self._db.execute(f"SELECT COUNT(*) FROM alarms{where}", args) as cur:
            total = int((await cur.fetchone())[0])
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM alarms{where} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
        ) as cur:
            rows = tuple(_record(r) for r in await cur.fetchall())
        return AlarmPage(rows, total)

    async def csv_chunks(
        self,
        level: AlarmLevel,
        *,
        labels: Mapping[str, str] | None = None,
        chunk_rows: int = 500,
        replace: Callable[[AlarmRecord], AlarmRecord] | None = None,
        unsaved: Iterable[AlarmRecord] = (),
        zone: tzinfo | None = None,
        **criteria,
    ) -> AsyncIterator[str]:
        """The alarm table as CSV text, in chunks read in bounded queries (no long-held snapshot);
        times in `zone` (the site's) with their offset.

        Every field of the table is text (ids, labels, times, titles, token names): each one is
        written spreadsheet-safe, so a token named `-A1` cannot become a formula.
        `replace` gives a row's newer state and `unsaved` (newest first) the alarms with no row
        yet, listed by number among the rows (web/live_alarms.py).
        """
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(table_header(level))
        yield out.getvalue()
        extra = list(unsaved)
        where, args = AlarmFilter(**criteria).sql()
        last_id: int | None = None
        while True:
            cond = where + ((" AND " if where else " WHERE ") + "id < ?" if last_id is not None else "")
            params = [*args, last_id] if last_id is not None else list(args)
            async with self._db.execute(
                f"SELECT {_COLUMNS} FROM alarms{cond} ORDER BY id DESC LIMIT ?", [*params, chunk_rows]
            ) as cur:
                rows = [_record(r) for r in await cur.fetchall()]
            out = io.StringIO()
            w = csv.writer(out)
            for r in rows:
                while extra and extra[0].id > r.id:
                    w.writerow(spreadsheet_row(table_row(extra.pop(0), level, labels, zone)))
                w.writerow(spreadsheet_row(table_row(replace(r) if replace else r, level, labels, zone)))
            if not rows:
                for r in extra:
                    w.writerow(spreadsheet_row(table_row(r, level, labels, zone)))
            if out.getvalue():
                yield out.getvalue()
            if not rows:
                return
            last_id = rows[-1].id

    # -- action log -------------------------------------------------------------------------

    async def actions(self, limit: int = 100) -> list[ActionRecord]:
        async with self._db.execute(
            "SELECT id, time, action, reason, alarm_id, string_id FROM alarm_actions ORDER BY id DESC LIMIT ?", (limit,)
        ) as cur:
            return [ActionRecord(*r) for r in await cur.fetchall()]
