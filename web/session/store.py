"""Server-side sessions in settings.db, so that logging out (or a changed password) really ends one.

The browser holds only a random 256-bit id in an HttpOnly cookie; the table holds its SHA-256,
the user, the session's CSRF token and when it was last used. A session ends after IDLE
minutes without a request, after MAX_AGE_S in any case, at log-out, and when its user is removed
or their password changes. The user's role is read with every request, so a changed role
applies at once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from storage.async_sqlite import open_sqlite
from storage.settings_db import open_settings, settings_path

MAX_AGE_S = 12 * 3600.0  # one shift; then the password again
TOUCH_EVERY_S = 30.0  # last_seen is written at most this often per session
MAX_SESSIONS_PER_USER = 20  # a script logging in in a loop does not fill the table

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_sessions (
    id_sha256 TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_by_user ON web_sessions (user, created_at);
"""


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str
    created_at: float


async def _wait_when_busy(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA busy_timeout=5000")


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, storage_dir: Path, idle_s: float, clock: Callable[[], float] = time.time) -> None:
        self.path = settings_path(storage_dir)
        self.idle_s = idle_s
        self._clock = clock
        with open_settings(storage_dir) as db:
            db.executescript(SCHEMA)
        self._db: aiosqlite.Connection | None = None

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            self._db = await open_sqlite(self.path, _wait_when_busy)
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def create(self, user: str) -> tuple[str, Session]:
        """A new session for `user`: (the cookie's value, the session)."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(user, "", secrets.token_urlsafe(32), now)
        db = await self._conn()
        await db.execute(
            "INSERT INTO web_sessions (id_sha256, user, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
            (_digest(session_id), user, session.csrf, now, now),
        )
        await db.execute(
            "DELETE FROM web_sessions WHERE user = ? AND id_sha256 NOT IN"
            " (SELECT id_sha256 FROM web_sessions WHERE user = ? ORDER BY created_at DESC LIMIT ?)",
            (user, user, MAX_SESSIONS_PER_USER),
        )
        await db.execute("DELETE FROM web_sessions WHERE last_seen < ?", (now - max(self.idle_s, MAX_AGE_S),))
        await db.commit()
        return session_id, session

    async def find(self, session_id: str) -> Session | None:
        """The live session with this id (its user's present role), or None."""
        if not session_id or len(session_id) > 100:
            return None
        db = await self._conn()
        key = _digest(session_id)
        async with db.execute(
            "SELECT s.user, u.role, s.csrf, s.created_at, s.last_seen FROM web_sessions s"
            " JOIN users u ON u.name = s.user WHERE s.id_sha256 = ?",
            (key,),
        ) as rows:
            row = await rows.fetchone()
        if row is None:
            return None
        user, role, csrf, created_at, last_seen = row
        now = self._clock()
        if now - last_seen > self.idle_s or now - created_at > MAX_AGE_S:
            await db.execute("DELETE FROM web_sessions WHERE id_sha256 = ?", (key,))
            await db.commit()
            return None
        if now - last_seen > TOUCH_EVERY_S:
            await db.execute("UPDATE web_sessions SET last_seen = ? WHERE id_sha256 = ?", (now, key))
            await db.commit()
        return Session(user, role or "viewer", csrf, created_at)

    async def end(self, session_id: str) -> None:
        db = await self._conn()
        await db.execute("DELETE FROM web_sessions WHERE id_sha256 = ?", (_digest(session_id),))
        await db.commit()

    async def end_all_of(self, user: str, keep: str | None = None) -> None:
        """End every session of `user` (password changed, user removed), but `keep` if given."""
        db = await self._conn()
        await db.execute(
            "DELETE FROM web_sessions WHERE user = ? AND id_sha256 != ?", (user, _digest(keep) if keep else "")
        )
        await db.commit()


def end_sessions_of(storage_dir: Path, user: str) -> None:
    """The same from the `btms user` command (no event loop)."""
    with open_settings(storage_dir) as db:
        db.executescript(SCHEMA)
        db.execute("DELETE FROM web_sessions WHERE user = ?", (user,))
