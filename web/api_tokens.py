"""API tokens for the JSON API: created by `btms token create NAME`, sent as a Bearer token.

Only a SHA-256 digest of each token is stored: a token is 256 random bits, so a fast hash is
enough (a slow password hash protects guessable secrets, not random ones). There is no default
token: until an installer creates one, the API answers 401 to everyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from storage.async_sqlite import open_sqlite
from storage.settings_db import open_settings, settings_path

TOKEN_PREFIX = "btms_"
# viewer: reads only. operator: may also act (switch a string, acknowledge, test notifications).
ROLES = ("viewer", "operator")


class TokenError(Exception):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(storage_dir: Path, name: str, role: str = "operator") -> str:
    """A new token for `name`; printed once and never stored in clear."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise TokenError(f"token name {name!r}: use letters, digits, '-' and '_'")
    if role not in ROLES:
        raise TokenError(f"role {role!r}: one of {', '.join(ROLES)}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with open_settings(storage_dir) as db:
        try:
            db.execute(
                "INSERT INTO api_tokens(name, token_sha256, created_at, role) VALUES (?, ?, ?, ?)",
                (name, digest(token), datetime.now(UTC).isoformat(timespec="seconds"), role),
            )
        except sqlite3.IntegrityError as error:
            raise TokenError(f"a token named {name!r} exists already; revoke it first") from error
    return token


def list_tokens(storage_dir: Path) -> list[tuple[str, str, str]]:
    """(name, role, created at) of every token."""
    with open_settings(storage_dir) as db:
        return list(db.execute("SELECT name, role, created_at FROM api_tokens ORDER BY name"))


def revoke_token(storage_dir: Path, name: str) -> bool:
    with open_settings(storage_dir) as db:
        return db.execute("DELETE FROM api_tokens WHERE name = ?", (name,)).rowcount > 0


class TokenVerifier:
    """Checks Bearer tokens against the settings database from the web server's event loop."""

    def __init__(self, storage_dir: Path) -> None:
        self.path = settings_path(storage_dir)
        open_settings(storage_dir).close()  # create the schema before the first request
        self.db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        self.db = await open_sqlite(self.path)

    async def close(self) -> None:
        if self.db is not None:
            await self.db.close()
            self.db = None

    async def identify(self, token: str) -> tuple[str, str] | None:
        """(name, role) of the token, or None if it is unknown or revoked."""
        if self.db is None:
            await self.open()
        wanted = digest(token)
        async with self.db.execute(
            "SELECT name, token_sha256, role FROM api_tokens WHERE token_sha256 = ?", (wanted,)
        ) as rows:
            row = await rows.fetchone()
        if row is None or not hmac.compare_digest(row[1], wanted):
            return None
        return row[0], row[2]
