"""The settings database: users, API tokens (and the alarm helpers' tables) in one SQLite file.

Kept apart from the sample history (a different file) so that a log-in or a settings page
never waits behind the sample writer. WAL lets the CLI write a token while the gateway reads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import aiosqlite

from storage.async_sqlite import open_sqlite

SETTINGS_FILE = "settings.db"
OPEN_RETRY_S = 10.0  # how long opening keeps retrying a "database is locked"
RETRY_PAUSE_S = 0.05

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT,
    email TEXT,
    phone TEXT,
    role TEXT NOT NULL DEFAULT 'operator',
    full_name TEXT NOT NULL DEFAULT '',
    receive_email INTEGER NOT NULL DEFAULT 1,
    receive_sms INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS api_tokens (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'operator'
);
"""

# Columns added after a table was first released: (table, column, definition).
MIGRATIONS = (
    ("api_tokens", "role", "TEXT NOT NULL DEFAULT 'operator'"),
    ("users", "full_name", "TEXT NOT NULL DEFAULT ''"),
    ("users", "receive_email", "INTEGER NOT NULL DEFAULT 1"),  # alarm e-mails to this user
    ("users", "receive_sms", "INTEGER NOT NULL DEFAULT 1"),  # alarm SMS to this user
)


def settings_path(storage_dir: Path) -> Path:
    return storage_dir / SETTINGS_FILE


async def open_settings_async(path: str | Path, schema: str) -> aiosqlite.Connection:
    """The settings database from an event loop, with one component's tables created.

    WAL so readers never block the writer; a busy timeout because the CLI, the web server and
    the alarm actors each hold a connection to this one file.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)

    async def prepare(db: aiosqlite.Connection) -> None:
        deadline = time.monotonic() + OPEN_RETRY_S
        while True:
            try:
                await db.execute("PRAGMA busy_timeout=5000")
                await db.execute("PRAGMA journal_mode=WAL")
                await db.execute("PRAGMA synchronous=NORMAL")
                await db.executescript(schema)
                for table, column, definition in _missing_columns(
                    [(t, [r[1] for r in await db.execute_fetchall(f"PRAGMA table_info({t})")]) for t in _TABLES]
                ):
                    await _add_column_async(db, table, column, definition)
                await db.commit()
                return
            except sqlite3.OperationalError as error:
                if not _worth_retrying(error, deadline):
                    raise
                await asyncio.sleep(RETRY_PAUSE_S)

    return await open_sqlite(path, prepare)


def _worth_retrying(error: sqlite3.OperationalError, deadline: float) -> bool:
    """Two components creating a new file at once: switching it to WAL can report "locked" at
    once, without waiting for the busy timeout. It passes on a retry."""
    return "locked" in str(error) and time.monotonic() <= deadline


def open_settings(storage_dir: Path) -> sqlite3.Connection:
    """Open (creating if needed) the settings database with its schema."""
    storage_dir.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings_path(storage_dir), timeout=5)
    deadline = time.monotonic() + OPEN_RETRY_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(SCHEMA)
            break
        except sqlite3.OperationalError as error:
            if not _worth_retrying(error, deadline):
                connection.close()
                raise
            time.sleep(RETRY_PAUSE_S)
    tables = [(t, [row[1] for row in connection.execute(f"PRAGMA table_info({t})")]) for t in _TABLES]
    for table, column, definition in _missing_columns(tables):
        try:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        except sqlite3.OperationalError as error:
            if "duplicate column" not in str(error):  # another component added it first
                raise
    connection.commit()
    return connection


_TABLES = tuple(dict.fromkeys(table for table, _, _ in MIGRATIONS))


def _missing_columns(tables: list[tuple[str, list[str]]]) -> list[tuple[str, str, str]]:
    """The MIGRATIONS a database still needs; a table it does not have yet needs none."""
    columns = dict(tables)
    return [(t, c, d) for t, c, d in MIGRATIONS if columns.get(t) and c not in columns[t]]


async def _add_column_async(db: aiosqlite.Connection, table: str, column: str, definition: str) -> None:
    try:
        await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
    except sqlite3.OperationalError as error:
        if "duplicate column" not in str(error):  # another component added it first
            raise
