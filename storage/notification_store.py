"""Notification state in settings.db: settings, the per-string switches, the batching inbox,
the outgoing queue (survives restarts) and the attempt log (the manual's e-mail and SMS logs).

The users table belongs to the web/users code; it is only read here (and created with exactly
its agreed columns if it does not exist yet, so the notifier can start first).

Credentials (SECRET_KEYS) are not stored in settings.db: their rows hold SECRET_REFERENCE and
the values live in the secrets file next to it (storage/secrets_file.py). A settings.db
written before that, with a password in clear, is migrated when the store opens it: the value
moves to the secrets file, the row gets the reference, and the database file is rewritten so
the old value is not left behind in free space or the write-ahead log.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import structlog

from storage.notification_settings import (
    CHANNELS,
    SECRET_KEYS,
    NotificationSettings,
    settings_from_kv,
    settings_to_kv,
)
from storage.secrets_file import SECRETS_FILE, read_secrets, update_secrets
from storage.settings_db import open_settings_async
from storage.settings_version import SCHEMA as VERSION_SCHEMA
from storage.settings_version import bump_settings_version_async
from storage.sql_filter import where_equal

SECRET_REFERENCE = f"@{SECRETS_FILE}"  # a secret's row in settings.db: "the value is in the secrets file"

_log = structlog.get_logger("gateway.notifier")

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, password_hash TEXT, email TEXT, phone TEXT, role TEXT NOT NULL DEFAULT 'operator',
    full_name TEXT NOT NULL DEFAULT '', receive_email INTEGER NOT NULL DEFAULT 1, receive_sms INTEGER NOT NULL DEFAULT 1
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
    + VERSION_SCHEMA
)


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
    def __init__(self, db: aiosqlite.Connection, secrets_file: Path) -> None:
        self._db = db
        self.secrets_file = secrets_file

    @classmethod
    async def open(cls, path: str | Path, secrets_file: Path | None = None) -> NotificationStore:
        """settings.db at `path`; the secrets file defaults to the same directory."""
        store = cls(await open_settings_async(path, _SCHEMA), secrets_file or Path(path).parent / SECRETS_FILE)
        try:
            await store._move_clear_secrets()
        except (ValueError, OSError) as error:  # the secrets file is unusable: the values stay where they work
            _log.error("credentials left in settings.db: the secrets file cannot take them", error=str(error))
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    # -- settings ---------------------------------------------------------------------------

    async def load_settings(self) -> NotificationSettings:
        async with self._db.execute("SELECT key, value FROM notification_settings") as cur:
            kv = {k: v for k, v in await cur.fetchall()}
        referenced = sorted(k for k, v in kv.items() if v == SECRET_REFERENCE)
        if referenced:
            secrets = await asyncio.to_thread(read_secrets, self.secrets_file)
            missing = [k for k in referenced if k not in secrets]
            if missing:
                raise ValueError(
                    f"notification setting(s) {', '.join(missing)} kept in {self.secrets_file}, which has"
                    f" no entry for them: set them again (btms secret set NAME)"
                )
            kv.update((k, secrets[k]) for k in referenced)
        return settings_from_kv(kv)

    async def save_settings(self, settings: NotificationSettings) -> None:
        """Credentials go to the secrets file (first), everything else to settings.db."""
        kv = settings_to_kv(settings)
        await asyncio.to_thread(update_secrets, self.secrets_file, {k: kv[k] for k in SECRET_KEYS})
        for key in SECRET_KEYS:
            kv[key] = SECRET_REFERENCE if kv[key] else ""
        await self._write_settings(kv)

    async def set_secret(self, key: str, value: str) -> None:
        """One credential ("" removes it): the value to the secrets file, its reference to settings.db."""
        if key not in SECRET_KEYS:
            raise ValueError(f"{key!r} is not a secret setting; one of {', '.join(SECRET_KEYS)}")
        await asyncio.to_thread(update_secrets, self.secrets_file, {key: value})
        await self._write_settings({key: SECRET_REFERENCE if value else ""})

    async def _write_settings(self, kv: dict[str, str]) -> None:
        await self._db.executemany(
            "INSERT INTO notification_settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            sorted(kv.items()),
        )
        await bump_settings_version_async(self._db)  # a running gateway has the notifier re-read them
        await self._db.commit()

    async def _move_clear_secrets(self) -> None:
        """Migrate credentials an older version (or a hand-written SQL line) left in clear."""
        marks = ", ".join("?" * len(SECRET_KEYS))
        async with self._db.execute(
            f"SELECT key, value FROM notification_settings WHERE key IN ({marks})", SECRET_KEYS
        ) as cur:
            clear = {k: v for k, v in await cur.fetchall() if v not in ("", SECRET_REFERENCE)}
        if not clear:
            return
        await asyncio.to_thread(update_secrets, self.secrets_file, clear)  # first: a crash here loses nothing
        await self._db.execute("PRAGMA secure_delete = ON")  # replaced values zeroed, whatever the build's default
        await self._write_settings({k: SECRET_REFERENCE for k in clear})
        await self._scrub_old_pages()
        _log.info(
            "credentials moved from settings.db to the secrets file",
            names=sorted(clear),
            secrets_file=str(self.secrets_file),
        )

    async def _scrub_old_pages(self) -> None:
        """Rewrite the database (VACUUM) and empty the write-ahead log, where older copies of a
        page with the clear value could remain. Best effort: a reader holding the file open
        can make it fail, which is logged; the value then goes at a later checkpoint."""
        try:
            await self._db.execute("VACUUM")
            async with self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                busy, _, _ = await cur.fetchone()
            if busy:
                raise sqlite3.OperationalError("checkpoint blocked by a reader")
        except sqlite3.OperationalError as error:
            _log.warning(
                "settings.db may keep an old copy of a moved credential until its next checkpoint",
                error=f"{type(error).__name__}: {error}",
            )

    async def switches(self) -> dict[tuple[str, str], tuple[bool, bool]]:
        async with self._db.execute("SELECT string_id, kind, email, sms FROM notification_switches") as cur:
            return {(s, k): (bool(e), bool(m)) for s, k, e, m in await cur.fetchall()}

    async def set_switch(self, string_id: str, kind: str, email: bool, sms: bool) -> None:
        await self._db.execute(
            "INSERT INTO notification_switches (string_id, kind, email, sms) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (string_id, kind) DO UPDATE SET email = excluded.email, sms = excluded.sms",
            (string_id, str(kind), int(email), int(sms)),
        )
        await bump_settings_version_async(self._db)
        await self._db.commit()

    async def recipients(self, channel: str) -> list[Recipient]:
        """Users with an e-mail address (channel "email") or a phone number ("sms") who receive it."""
        _check_channel(channel)
        column, switch = ("email", "receive_email") if channel == "email" else ("phone", "receive_sms")
        async with self._db.execute(
            f"SELECT name, IFNULL(email, ''), IFNULL(phone, '') FROM users"
            f" WHERE TRIM(IFNULL({column}, '')) != '' AND {switch} ORDER BY name"
        ) as cur:
            return [Recipient(*r) for r in await cur.fetchall()]

    # -- batching inbox ---------------------------------------------------------------------

    async def add_to_inbox(self, e: InboxEvent, received_at: float) -> int:
        _check_channel(e.channel)
        cur = await self._db.execute(
            "INSERT INTO notification_inbox (channel, time, event, alarm_id, title, ups_id, string_id, cell_index,"
            " value, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                e.channel,
                e.time,
                e.event,
                e.alarm_id,
                e.title,
                e.ups_id,
                e.string_id,
                e.cell_index,
                e.value,
                received_at,
            ),
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
                    (
                        m.channel,
                        m.recipient,
                        m.contact,
                        m.alarm_label,
                        m.subject,
                        m.body,
                        m.ups_id,
                        m.string_id,
                        m.cell_index,
                        m.created_at,
                        m.next_attempt_at,
                        m.attempts,
                    )
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
        self,
        channel: str,
        *,
        alarm: str,
        time: float,
        contact: str,
        ok: bool,
        error: str,
        ups_id: str | None = None,
        string_id: str | None = None,
        cell_index: int | None = None,
    ) -> None:
        _check_channel(channel)
        await self._db.execute(
            "INSERT INTO notification_log (channel, ups_id, string_id, cell_index, alarm, time, contact, status, error)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (channel, ups_id, string_id, cell_index, alarm, time, contact, "sent" if ok else "failed", error),
        )
        await self._db.commit()

    async def log(
        self,
        channel: str,
        offset: int = 0,
        limit: int = 10,
        *,
        ups_id: str | None = None,
        string_id: str | None = None,
    ) -> tuple[list[LogEntry], int]:
        """A page of the e-mail or SMS log, newest first, and the total count; at UPS or string
        level only that UPS's or string's messages."""
        _check_channel(channel)
        where, args = where_equal(channel=channel, ups_id=ups_id, string_id=string_id)
        async with self._db.execute(f"SELECT COUNT(*) FROM notification_log{where}", args) as cur:
            total = int((await cur.fetchone())[0])
        async with self._db.execute(
            "SELECT id, channel, ups_id, string_id, cell_index, alarm, time, contact, status, error"
            f" FROM notification_log{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ) as cur:
            return [LogEntry(*r) for r in await cur.fetchall()], total
