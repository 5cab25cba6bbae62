"""The uplink's outbox: every record for the aggregator, kept on disk until the broker has it.

Its own SQLite file (`uplink-outbox.sqlite` in the storage directory), not a table of the
history or settings databases: one writer per file (the uplink's thread), a size bound that
is this file's alone, and a file that may be deleted to throw away what was not sent without
touching the history or the alarms.

Order: records leave in the order they were appended (their id). Bound: the records' payload
bytes plus a fixed allowance per row count against `max_bytes`; over it, the outbox drops
whole records, lowest priority first and oldest first within a priority: cell data, then
string/UPS data, and alarms and discharge events only when nothing else is left. The counts
dropped are kept (in this file) so the link can say what was lost and raise an alarm.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

OUTBOX_FILE = "uplink-outbox.sqlite"
ROW_ALLOWANCE = 64  # bytes counted per record on top of its payload: id, columns, index entry, page slack


class Priority(IntEnum):
    """What a record is, lowest dropped first when the outbox is full."""

    CELL = 0  # cell values by exception: the finest resolution, the most volume
    DATA = 1  # string and UPS values at the data period
    EVENT = 2  # alarms and discharge events: dropped only when nothing else is left


@dataclass(frozen=True)
class Record:
    id: int
    priority: Priority
    device: str  # Sparkplug device id; "" for the edge node's own (NDATA) records
    created_ms: int
    payload: bytes


@dataclass(frozen=True)
class Dropped:
    """Records dropped to stay within the bound, by priority."""

    cell: int = 0
    data: int = 0
    event: int = 0

    @property
    def total(self) -> int:
        return self.cell + self.data + self.event

    def __add__(self, other: Dropped) -> Dropped:
        return Dropped(self.cell + other.cell, self.data + other.data, self.event + other.event)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    device TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_priority ON records (priority, id);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_DROP_BATCH = 64  # records looked at per step when making room


class Outbox:
    """Not thread-safe: one thread (the uplink's loop) owns it."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"outbox bound {max_bytes} bytes: must be positive")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA secure_delete=OFF")
        self._db.executescript(_SCHEMA)
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM records").fetchone()
        self._count, self._bytes = int(count), int(size) + int(count) * ROW_ALLOWANCE

    def close(self) -> None:
        self._db.close()

    # -- depth ---------------------------------------------------------------------------------

    @property
    def records(self) -> int:
        return self._count

    @property
    def used_bytes(self) -> int:
        """What the records count against the bound."""
        return self._bytes

    # -- in ------------------------------------------------------------------------------------

    def append(self, priority: Priority, device: str, created_ms: int, payload: bytes) -> Dropped:
        """Store one record (durably: a commit) after making room for it; what had to go is returned."""
        size = len(payload) + ROW_ALLOWANCE
        if size > self.max_bytes:
            raise ValueError(f"a record of {size} bytes cannot fit an outbox of {self.max_bytes} bytes")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            dropped = self._make_room(size)
            self._db.execute(
                "INSERT INTO records (priority, device, created_ms, payload) VALUES (?, ?, ?, ?)",
                (int(priority), device, created_ms, payload),
            )
            if dropped.total:
                self._add_counters(dropped)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._recount()
            raise
        self._count += 1
        self._bytes += size
        return dropped

    def _make_room(self, size: int) -> Dropped:
        dropped = Dropped()
        while self._bytes + size > self.max_bytes:
            rows = self._db.execute(
                "SELECT id, priority, LENGTH(payload) FROM records ORDER BY priority, id LIMIT ?", (_DROP_BATCH,)
            ).fetchall()
            if not rows:
                break
            victims: list[int] = []
            for record_id, priority, length in rows:
                victims.append(record_id)
                self._count -= 1
                self._bytes -= length + ROW_ALLOWANCE
                dropped += Dropped(*(int(priority == p) for p in Priority))
                if self._bytes + size <= self.max_bytes:
                    break
            self._delete(victims)
        return dropped

    # -- out -----------------------------------------------------------------------------------

    def oldest(self, limit: int, after_id: int = 0) -> list[Record]:
        """Up to `limit` records in the order they were appended, from after `after_id`."""
        rows = self._db.execute(
            "SELECT id, priority, device, created_ms, payload FROM records WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [Record(r[0], Priority(r[1]), r[2], r[3], r[4]) for r in rows]

    def remove(self, record_ids: list[int]) -> int:
        """Delete records the broker acknowledged; ids already gone (dropped) are ignored."""
        if not record_ids:
            return 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            gone, size = self._delete(record_ids)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._recount()
            raise
        # What left is subtracted: a count of the whole table at every PUBACK made a replay
        # of a long outage slower the more the outbox held.
        self._count -= gone
        self._bytes -= size + gone * ROW_ALLOWANCE
        return gone

    def _delete(self, record_ids: list[int]) -> tuple[int, int]:
        """Delete these records; how many there were, and their payloads' bytes."""
        gone = size = 0
        for start in range(0, len(record_ids), 500):  # SQLite's bound-parameter limit
            chunk = record_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            lengths = self._db.execute(
                f"DELETE FROM records WHERE id IN ({marks}) RETURNING LENGTH(payload)", chunk
            ).fetchall()
            gone, size = gone + len(lengths), size + sum(length for (length,) in lengths)
        return gone, size

    def _recount(self) -> None:
        count, size = self._db.execute("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM records").fetchone()
        self._count, self._bytes = int(count), int(size) + int(count) * ROW_ALLOWANCE

    # -- counters kept with the records ----------------------------------------------------------

    def dropped_total(self) -> Dropped:
        values = dict(self._db.execute("SELECT name, value FROM counters WHERE name LIKE 'dropped_%'").fetchall())
        return Dropped(values.get("dropped_cell", 0), values.get("dropped_data", 0), values.get("dropped_event", 0))

    def _add_counters(self, dropped: Dropped) -> None:
        for name, value in (
            ("dropped_cell", dropped.cell),
            ("dropped_data", dropped.data),
            ("dropped_event", dropped.event),
        ):
            if value:
                self._db.execute(
                    "INSERT INTO counters (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (name, value),
                )

    def counter(self, name: str) -> int | None:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def set_counter(self, name: str, value: int) -> None:
        """A small persistent number (the Sparkplug bdSeq), committed at once."""
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
