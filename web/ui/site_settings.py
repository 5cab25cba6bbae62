"""Project details and the time zone, kept in settings.db and read fresh for each page.

Read for each page (one small query) rather than cached, so that a change made with the `btms`
command in another process shows on the next page without a restart. An unknown time zone
name is refused when it is set, and falls back to UTC if one is found in the file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from storage.settings_db import open_settings

SCHEMA = "CREATE TABLE IF NOT EXISTS site_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
MAX_TEXT = 200


@dataclass(frozen=True)
class SiteSettings:
    project_name: str = ""
    company: str = ""
    url: str = ""
    owner: str = ""
    time_zone: str = "UTC"

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")


KEYS = tuple(f.name for f in fields(SiteSettings))


def check_site_setting(key: str, value: str) -> str:
    """The value to store, or ValueError naming the key and what is wrong."""
    if key not in KEYS:
        raise ValueError(f"unknown site setting {key!r} (known: {', '.join(KEYS)})")
    value = value.strip()
    if len(value) > MAX_TEXT or any(c in value for c in "\r\n\0"):
        raise ValueError(f"{key}: at most {MAX_TEXT} characters on one line")
    if key == "time_zone" and value not in available_timezones():
        raise ValueError(f"time_zone {value[:60]!r} is not an IANA time zone such as Europe/Ljubljana")
    if key == "url" and value and not value.startswith(("https://", "http://")):
        raise ValueError(f"url {value[:60]!r} must start with https:// or http://")
    return value


class SiteSettingsBook:
    def __init__(self, storage_dir: Path) -> None:
        self.storage_dir = storage_dir

    def _db(self) -> sqlite3.Connection:
        db = open_settings(self.storage_dir)
        db.execute(SCHEMA)
        return db

    def read(self) -> SiteSettings:
        with self._db() as db:
            stored = dict(db.execute("SELECT key, value FROM site_settings"))
        return replace(SiteSettings(), **{k: v for k, v in stored.items() if k in KEYS})

    def write(self, changes: dict[str, str]) -> SiteSettings:
        checked = {key: check_site_setting(key, value) for key, value in changes.items()}
        with self._db() as db:
            for key, value in checked.items():
                db.execute(
                    "INSERT INTO site_settings (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
        return self.read()
