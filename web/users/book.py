"""The users table of settings.db: who may log in, with which role, and where alarms reach them.

Used by the `btms user` command and, through a worker thread, by the web server. The table is
also read by the notifier (storage/notification_store.py): a user with an e-mail address and
receive_email on gets alarm e-mails, likewise phone and receive_sms for SMS.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.settings_db import open_settings
from web.users.passwords import check_new_password, dummy_check, hash_password, password_matches
from web.users.roles import check_role

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]{1,253}")
PHONE_PATTERN = re.compile(r"\+?[0-9 ]{3,20}")
MAX_FULL_NAME = 100


class UserError(ValueError):
    """A user that cannot be stored as asked; the message names the field and the reason."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    full_name: str = ""
    email: str = ""
    phone: str = ""
    receive_email: bool = True
    receive_sms: bool = True


def check_user(user: User) -> User:
    """The user, or UserError naming the first field that is not acceptable."""
    if not NAME_PATTERN.fullmatch(user.name):
        raise UserError(f"user name {user.name[:40]!r}: 1-32 letters, digits, '.', '_' or '-'")
    try:
        check_role(user.role)
    except ValueError as error:
        raise UserError(str(error)) from None
    if len(user.full_name) > MAX_FULL_NAME or any(c in user.full_name for c in "\r\n\0"):
        raise UserError(f"full name: at most {MAX_FULL_NAME} characters on one line")
    if user.email and not EMAIL_PATTERN.fullmatch(user.email):
        raise UserError(f"e-mail {user.email[:80]!r} is not an address like name@example.com")
    if user.phone and not PHONE_PATTERN.fullmatch(user.phone):
        raise UserError(f"phone {user.phone[:40]!r}: digits and spaces, optionally after '+'")
    return user


_COLUMNS = "name, role, IFNULL(full_name, ''), IFNULL(email, ''), IFNULL(phone, ''), receive_email, receive_sms"


def _user(row: tuple) -> User:
    name, role, full_name, email, phone, receive_email, receive_sms = row
    return User(name, role or "viewer", full_name, email, phone, bool(receive_email), bool(receive_sms))


class UserBook:
    """Users in <storage>/settings.db. Each call opens and closes its own connection (a few ms),
    so the CLI and the web server never hold the file between requests."""

    def __init__(self, storage_dir: Path) -> None:
        self.storage_dir = storage_dir

    def _db(self) -> sqlite3.Connection:
        return open_settings(self.storage_dir)

    def all(self) -> list[User]:
        with self._db() as db:
            return [_user(r) for r in db.execute(f"SELECT {_COLUMNS} FROM users ORDER BY name")]

    def get(self, name: str) -> User | None:
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def add(self, user: User, password: str) -> None:
        check_user(user)
        try:
            check_new_password(user.name, password)
        except ValueError as error:
            raise UserError(str(error)) from None
        hashed = hash_password(password)
        with self._db() as db:
            try:
                db.execute(
                    "INSERT INTO users (name, role, full_name, email, phone, receive_email, receive_sms, password_hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_fields(user), hashed),
                )
            except sqlite3.IntegrityError:
                raise UserError(f"a user named {user.name!r} exists already") from None

    def update(self, user: User) -> None:
        """Store a user's details (not the password); the last administrator keeps that role."""
        check_user(user)
        with self._db() as db:
            old = db.execute("SELECT role FROM users WHERE name = ?", (user.name,)).fetchone()
            if old is None:
                raise UserError(f"no user named {user.name!r}")
            if old[0] == "admin" and user.role != "admin" and _admins(db) == 1:
                raise UserError(f"{user.name!r} is the last administrator: make another one first")
            db.execute(
                "UPDATE users SET role = ?, full_name = ?, email = ?, phone = ?, receive_email = ?, receive_sms = ?"
                " WHERE name = ?",
                (*_fields(user)[1:], user.name),
            )

    def set_password(self, name: str, password: str) -> None:
        try:
            check_new_password(name, password)
        except ValueError as error:
            raise UserError(str(error)) from None
        hashed = hash_password(password)
        with self._db() as db:
            if db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (hashed, name)).rowcount == 0:
                raise UserError(f"no user named {name!r}")

    def remove(self, name: str) -> None:
        with self._db() as db:
            row = db.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise UserError(f"no user named {name!r}")
            if row[0] == "admin" and _admins(db) == 1:
                raise UserError(f"{name!r} is the last administrator: make another one first")
            db.execute("DELETE FROM users WHERE name = ?", (name,))

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is theirs; None otherwise (slow on purpose: Argon2)."""
        with self._db() as db:
            row = db.execute(f"SELECT {_COLUMNS}, password_hash FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            dummy_check(password)
            return None
        return _user(row[:-1]) if password_matches(row[-1], password) else None


def _fields(user: User) -> tuple:
    return (
        user.name,
        user.role,
        user.full_name,
        user.email,
        user.phone,
        int(user.receive_email),
        int(user.receive_sms),
    )


def _admins(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM users WHERE role = 'admin'").fetchone()[0]
