"""Notification credentials: in the secrets file, a reference in settings.db, never in a repr.

Real SQLite files; "not in settings.db" is checked on the bytes of the database and of its
write-ahead log, as `grep` would.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from storage.notification_settings import NotificationSettings, SmsSettings, SmtpSettings, settings_to_kv
from storage.notification_store import SECRET_REFERENCE, NotificationStore
from storage.secrets_file import read_secrets

PASSWORD = "Tr0ub4dor&3-smtp"
TOKEN = "sms-gateway-token-7f3a"
SETTINGS = NotificationSettings(
    smtp=SmtpSettings(host="mail.example.com", sender="gw@example.com", username="btms", password=PASSWORD),
    sms=SmsSettings(method="http", http_url="https://sms.example.com/send", http_token=TOKEN),
)


def database_bytes(db: Path) -> bytes:
    """settings.db and whatever SQLite keeps beside it (-wal, -shm, -journal)."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


def store_rows(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT key, value FROM notification_settings"))


async def _save_and_load(db: Path, settings: NotificationSettings) -> NotificationSettings:
    store = await NotificationStore.open(db)
    try:
        await store.save_settings(settings)
        return await store.load_settings()
    finally:
        await store.close()


def test_credentials_go_to_the_secrets_file_and_come_back(tmp_path):
    db = tmp_path / "settings.db"
    loaded = asyncio.run(_save_and_load(db, SETTINGS))
    assert loaded == SETTINGS
    blob = database_bytes(db)
    assert PASSWORD.encode() not in blob and TOKEN.encode() not in blob
    assert b"mail.example.com" in blob  # the other settings are there: the check reads the right bytes
    rows = store_rows(db)
    assert rows["smtp.password"] == rows["sms.http_token"] == SECRET_REFERENCE and rows["sms.modem_pin"] == ""
    secrets = tmp_path / "secrets.json"
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    assert read_secrets(secrets) == {"smtp.password": PASSWORD, "sms.http_token": TOKEN}


def test_clearing_a_credential_removes_it_from_the_file(tmp_path):
    db = tmp_path / "settings.db"
    asyncio.run(_save_and_load(db, SETTINGS))
    no_token = NotificationSettings(
        smtp=SETTINGS.smtp, sms=SmsSettings(method="http", http_url="https://sms.example.com/send")
    )
    assert asyncio.run(_save_and_load(db, no_token)) == no_token
    assert read_secrets(tmp_path / "secrets.json") == {"smtp.password": PASSWORD}
    assert store_rows(db)["sms.http_token"] == ""


def _older_version_database(db: Path, settings: NotificationSettings) -> None:
    """What the gateway wrote before credentials moved: every setting in clear, in WAL mode,
    rewritten a few times so copies of the row sit in the log, in old pages and in free pages."""
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA wal_autocheckpoint=0")  # keep the copies in the log, as a busy gateway could
        con.execute("PRAGMA secure_delete=OFF")  # the default of most SQLite builds (Debian's is ON)
        con.execute("CREATE TABLE notification_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        for filler in (0, 300, 0):  # grow the table over many pages, then shrink it: pages freed, not wiped
            con.execute("DELETE FROM notification_settings")
            rows = {**settings_to_kv(settings), **{f"old.{i:04}": "x" * 200 for i in range(filler)}}
            con.executemany("INSERT INTO notification_settings (key, value) VALUES (?, ?)", sorted(rows.items()))
            con.commit()
        con.execute("PRAGMA wal_checkpoint(PASSIVE)")  # and into the database file itself


def test_an_older_database_with_a_clear_password_is_migrated_on_first_open(tmp_path):
    db = tmp_path / "settings.db"
    _older_version_database(db, SETTINGS)
    assert PASSWORD.encode() in database_bytes(db)  # the starting point this test is about

    async def first_open():
        store = await NotificationStore.open(db)
        try:
            return await store.load_settings()
        finally:
            await store.close()

    with capture_logs() as logs:
        assert asyncio.run(first_open()) == SETTINGS
    blob = database_bytes(db)
    assert PASSWORD.encode() not in blob and TOKEN.encode() not in blob
    assert read_secrets(tmp_path / "secrets.json") == {"smtp.password": PASSWORD, "sms.http_token": TOKEN}
    assert [e["names"] for e in logs if e["event"].startswith("credentials moved")] == [
        ["sms.http_token", "smtp.password"]
    ]
    assert PASSWORD not in repr(logs) and TOKEN not in repr(logs)
    assert asyncio.run(first_open()) == SETTINGS  # a second open finds nothing to move and still loads


def test_a_migration_the_secrets_file_cannot_take_keeps_mail_working(tmp_path):
    db = tmp_path / "settings.db"
    _older_version_database(db, SETTINGS)
    (tmp_path / "secrets.json").write_text("{broken")
    (tmp_path / "secrets.json").chmod(0o600)

    async def first_open():
        store = await NotificationStore.open(db)
        try:
            return await store.load_settings()
        finally:
            await store.close()

    with capture_logs() as logs:
        assert asyncio.run(first_open()) == SETTINGS  # still in settings.db, still usable
    assert [e["event"] for e in logs] == ["credentials left in settings.db: the secrets file cannot take them"]
    assert "secrets.json: not valid JSON" in logs[0]["error"] and PASSWORD not in repr(logs)
    assert (tmp_path / "secrets.json").read_text() == "{broken"


def test_a_reference_without_its_secret_is_a_clear_error(tmp_path):
    db = tmp_path / "settings.db"
    asyncio.run(_save_and_load(db, SETTINGS))
    (tmp_path / "secrets.json").unlink()  # e.g. restored settings.db without its secrets file

    async def load():
        store = await NotificationStore.open(db)
        try:
            return await store.load_settings()
        finally:
            await store.close()

    with pytest.raises(
        ValueError,
        match=r"setting\(s\) sms.http_token, smtp.password kept in .*secrets.json, which has no entry for them",
    ):
        asyncio.run(load())


def test_set_secret_accepts_only_credentials(tmp_path):
    async def run():
        store = await NotificationStore.open(tmp_path / "settings.db")
        try:
            await store.set_secret("smtp.password", PASSWORD)
            with pytest.raises(ValueError, match="'smtp.host' is not a secret setting"):
                await store.set_secret("smtp.host", "mail.example.com")
            return (await store.load_settings()).smtp.password
        finally:
            await store.close()

    assert asyncio.run(run()) == PASSWORD
    assert PASSWORD.encode() not in database_bytes(tmp_path / "settings.db")


def test_no_repr_or_str_shows_a_credential():
    for text in (repr(SETTINGS), str(SETTINGS), repr(SETTINGS.smtp), str(SETTINGS.sms), f"{SETTINGS}"):
        assert PASSWORD not in text and TOKEN not in text
    assert "password='***'" in repr(SETTINGS.smtp) and "http_token='***'" in repr(SETTINGS.sms)
    assert "password=''" in repr(SmtpSettings())  # none set: shown as none
