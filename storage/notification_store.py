"""Notification state in settings.db: settings, the per-string switches, the batching inbox,
the outgoing queue (survives restarts) and the attempt log (the manual's e-mail and SMS logs).

The users table belongs to the web/users code; it is only read here (and created with exactly
its agreed columns if it does not exist yet, so the notifier can start first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from storage.notification_settings import (
    CHANNELS,
    NotificationSettings,
    settings_from_kv,
    settings_to_kv,
)
from storage.settings_db import open_settings_async

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, password_hash TEXT, email TEXT, phone TEXT, role TEXT
);
CREATE TABLE IF NOT EXISTS notification_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notification_switches (
    string_id TEXT NOT NULL, kind TEXT NOT NULL, email INTEGER NOT NULL, sms INTEGER NOT NULL,
    PRIMARY KEY (string_id, kind)
);
CREATE TABLE IF NOT EXISTS notification_inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL, time REAL NOT NULL, event TEXT NOT NULL, alarm_id INTEGER NOT NULL,
    title TEXT NOT NULL, ups_id TEXT, string_id TEXT, cell_index INTEGER, value REAL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS notification_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL, recipient TEXT NOT NULL, contact TEXT NOT NULL,
    alarm_label TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
    ups_id TEXT, string_id TEXT, cell_index INTEGER,
    created_at REAL NOT NULL, next_attempt_at REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS notification_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL, ups_id TEXT, string_id TEXT, cell_index INTEGER,
    alarm TEXT NOT NULL, time REAL NOT NULL, contact TEXT NOT NULL, status TEXT NOT NULL, error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notification_log_by_channel ON notification_log (channel, id);
"""


@dataclass(frozen=True)
class InboxEvent:
    """One alarm event waiting in a channel's batching window."""

    id: int
    channel: str
    time: float  # when the alarm was raised/cleared
    event: str  # "raised" | "cleared"
    alarm_id: int
    title: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    value: float | None


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    phone: str

    def contact(self, channel: str) -> str:
        return self.email if channel == "email" else self.phone


@dataclass(frozen=True)
class QueuedMessage:
    id: int
    channel: str
    recipient: str
    contact: str
    alarm_label: str
    subject: str
    body: str  # the e-mail body, or the SMS text
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    created_at: float
    next_attempt_at: float
    attempts: int


@dataclass(frozen=True)
class LogEntry:
    """One row of the manual's e-mail / SMS log: #, UPS, String, Cell, Alarm, Time, Contact, Status, Error."""

    id: int
    channel: str
    ups_id: str | None
    string_id: str | None
    cell_index: int | None
    alarm: str
    time: float
    contact: str
    status: str  # "sent" | "failed"
    error: str


def _check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"notification channel {channel!r}: one of {CHANNELS}")


class NotificationStore:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    @classmethod
    async def open(cls, path: str | Path) -> NotificationStore:
        return cls(await open_settings_async(path, _SCHEMA))

    async def close(self) -> None:
        await self._db.close()

    # -- settings ---------------------------------------------------------------------------

    async def load_settings(self) -> NotificationSettings:
        async with self._db.execute("SELECT key, value FROM notification_settings") as cur:
            kv = {k: v for k, v in await cur.fetchall()}
        return settings_from_kv(kv)

    async def save_settings(self, settings: NotificationSettings) -> None:
        await self._db.executemany(
            "INSERT INTO notification_settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            sorted(settings_to_kv(settings).items()),
        )
        await self._db.commit()

    async def switches(self) -> dict[tuple[str, str], tuple[bool, bool]]:
        async with self._db.execute("SELECT string_id, kind, email, sms FROM notification_switches") as cur:
            return {(s, k): (bool(e), bool(m)) for s, k, e, m in await cur.fetchall()}

    async def set_switch(self, string_id: str, kind: str, email: bool, sms: bool) -> None:
        await self._db.execute(
            "INSERT INTO notification_switches (string_id, kind, email, sms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (string_id, kind) DO UPDATE SET email = excluded.email, sms = excluded.sms",
            (string_id, str(kind), int(email), int(sms)),
        )
        await self._db.commit()

    async def recipients(self, channel: str) -> list[Recipient]:
        """Users with an e-mail address (channel "email") or a phone number ("sms")."""
        _check_channel(channel)
        column = "email" if channel == "email" else "phone"
        async with self._db.execute(
            f"SELECT name, IFNULL(email, ''), IFNULL(phone, '') FROM users"
            f" WHERE TRIM(IFNULL({column}, '')) != '' ORDER BY name"
        ) as cur:
            return [Recipient(*r) for r in await cur.fetchall()]

    # -- batching inbox ---------------------------------------------------------------------

    async def add_to_inbox(self, e: InboxEvent, received_at: float) -> int:
        _check_channel(e.channel)
        cur = await self._db.execute(
            "INSERT INTO notification_inbox (channel, time, event, alarm_id, title, ups_id, string_id, cell_index,"
            " value, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.channel, e.time, e.event, e.alarm_id, e.title, e.ups_id, e.string_id, e.cell_index, e.value, received_at),
        )
        await self._db.commit()
        return int(cur.lastrowid)

    async def inbox(self, channel: str) -> list[tuple[InboxEvent, float]]:
        """The channel's waiting events with the time each was received."""
        async with self._db.execute(
            "SELECT id, channel, time, event, alarm_id, title, ups_id, string_id, cell_index, value, received_at"
            " FROM notification_inbox WHERE channel = ? ORDER BY id",
            (channel,),
        ) as cur:
            return [(InboxEvent(*r[:10]), r[10]) for r in await cur.fetchall()]

    async def move_to_queue(self, inbox_ids: Sequence[int], messages: Sequence[QueuedMessage]) -> None:
        """Replace batched inbox events with their outgoing messages, in one transaction."""
        try:
            await self._db.executemany("DELETE FROM notification_inbox WHERE id = ?", [(i,) for i in inbox_ids])
            await self._db.executemany(
                "INSERT INTO notification_queue (channel, recipient, contact, alarm_label, subject, body, ups_id,"
                " string_id, cell_index, created_at, next_attempt_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (m.channel, m.recipient, m.contact, m.alarm_label, m.subject, m.body, m.ups_id, m.string_id,
                     m.cell_index, m.created_at, m.next_attempt_at, m.attempts)
                    for m in messages
                ],
            )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise

    # -- outgoing queue ---------------------------------------------------------------------

    async def queued(self, due_before: float | None = None) -> list[QueuedMessage]:
        sql = "SELECT * FROM notification_queue"
        args: tuple = ()
        if due_before is not None:
            sql += " WHERE next_attempt_at <= ?"
            args = (due_before,)
        async with self._db.execute(sql + " ORDER BY next_attempt_at, id", args) as cur:
            return [QueuedMessage(*r) for r in await cur.fetchall()]

    async def reschedule(self, message_id: int, next_attempt_at: float, attempts: int) -> None:
        await self._db.execute(
            "UPDATE notification_queue SET next_attempt_at = ?, attempts = ? WHERE id = ?",
            (next_attempt_at, attempts, message_id),
        )
        await self._db.commit()

    async def remove(self, message_id: int) -> None:
        await self._db.execute("DELETE FROM notification_queue WHERE id = ?", (message_id,))
        await self._db.commit()

    # -- attempt log ------------------------------------------------------------------------

    async def log_attempt(
        self, channel: str, *, alarm: str, time: float, contact: str, ok: bool, error: str,
        ups_id: str | None = None, string_id: str | None = None, cell_index: int | None = None,
    ) -> None:
        _check_channel(channel)
        await self._db.execute(
            "INSERT INTO notification_log (channel, ups_id, string_id, cell_index, alarm, time, contact, status, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (channel, ups_id, string_id, cell_index, alarm, time, contact, "sent" if ok else "failed", error),
        )
        await self._db.commit()

    async def log(self, channel: str, offset: int = 0, limit: int = 10) -> tuple[list[LogEntry], int]:
        """A page of the e-mail or SMS log, newest first, and the total count."""
        _check_channel(channel)
        async with self._db.execute("SELECT COUNT(*) FROM notification_log WHERE channel = ?", (channel,)) as cur:
            total = int((await cur.fetchone())[0])
        async with self._db.execute(
            "SELECT id, channel, ups_id, string_id, cell_index, alarm, time, contact, status, error"
            " FROM notification_log WHERE channel = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (channel, limit, offset),
        ) as cur:
            return [LogEntry(*r) for r in await cur.fetchall()], total
