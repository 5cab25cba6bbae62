"""A counter in settings.db that every change of a runtime setting raises.

The running gateway reads it every few seconds (actors/site/runtime_settings.py): when it moved,
the gateway re-reads the alarm limits and has the notifier re-read its settings. So a change
made by `btms limits`, `btms notify` or `btms secret` on a headless install takes effect
without a restart, and without the CLI having to find and talk to the running gateway. The web
server raises it too and then tells the gateway at once (SettingsChanged), so a change made in
the browser shows without waiting for the next poll.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite

POLL_READ_TIMEOUT_S = 0.5  # the gateway's poll must not stall its actor; it reads again later

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
"""
_BUMP = "INSERT INTO settings_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET version = version + 1"
_READ = "SELECT version FROM settings_version WHERE id = 1"


def bump_settings_version(db: sqlite3.Connection) -> None:
    """In the caller's transaction, so the change and the new version are committed together.
    The connection was opened with SCHEMA (executescript would commit what came before)."""
    db.execute(_BUMP)


async def bump_settings_version_async(db: aiosqlite.Connection) -> None:
    await db.execute(_BUMP)


def read_settings_version(db: sqlite3.Connection) -> int:
    """0 before the first change (or on a settings.db without the table)."""
    try:
        row = db.execute(_READ).fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return 0
        raise
    return int(row[0]) if row else 0


def read_versioned(path: Path, query: str, timeout_s: float = POLL_READ_TIMEOUT_S) -> tuple[int, list[tuple]]:
    """(settings version, the query's rows), read together from settings.db without creating it:
    a missing file or table reads as (0, []) — nothing was ever set."""
    if not path.exists():
        return 0, []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout_s)
    try:
        with db:
            version = read_settings_version(db)
            try:
                rows = db.execute(query).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" not in str(error):
                    raise
                rows = []
    finally:
        db.close()
    return version, rows
