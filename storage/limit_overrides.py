"""Runtime alarm-limit overrides in settings.db: one row per (string, limit name).

Written by the string settings page and `btms limits`; read by the gateway at start and
whenever the settings version moves (storage/settings_version.py). A change is validated
against the string's topology (battery/alarms/runtime_limits.py) before anything is written, so
the table never holds a set of limits the gateway would refuse for the topology it was written
for. Plain sqlite3: the CLI and the gateway actor are synchronous; the web server calls these
in a worker thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from battery.alarms.runtime_limits import with_runtime_overrides
from battery.site import StringConfig
from storage.settings_version import POLL_READ_TIMEOUT_S, bump_settings_version, read_versioned
from storage.settings_version import SCHEMA as VERSION_SCHEMA

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS alarm_limit_overrides (
    string_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at REAL NOT NULL,
    PRIMARY KEY (string_id, name)
);
"""
    + VERSION_SCHEMA
)
BUSY_TIMEOUT_S = 5.0  # the CLI and the web server wait this long for a writer
READ_TIMEOUT_S = POLL_READ_TIMEOUT_S

StoredOverrides = dict[str, dict[str, float]]  # string id -> name -> value


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    return db


def read_overrides(path: Path, timeout_s: float = READ_TIMEOUT_S) -> tuple[int, StoredOverrides]:
    """(settings version, every stored override). A missing file or table is (0, {}); never creates."""
    version, rows = read_versioned(path, "SELECT string_id, name, value FROM alarm_limit_overrides", timeout_s)
    stored: StoredOverrides = {}
    for string_id, name, value in rows:
        stored.setdefault(string_id, {})[name] = float(value)
    return version, stored


def string_overrides(path: Path, string_id: str) -> dict[str, float]:
    return read_overrides(path, BUSY_TIMEOUT_S)[1].get(string_id, {})


def set_overrides(path: Path, string: StringConfig, values: Mapping[str, float], who: str) -> dict[str, float]:
    """Store `values` for `string` on top of what is stored; ValueError (nothing written) when the
    result breaks a rule. Returns the string's stored overrides afterwards."""
    return _change(path, string, who, lambda stored: stored | dict(values))


def reset_overrides(path: Path, string: StringConfig, names: Iterable[str] | None = None) -> dict[str, float]:
    """Remove the string's runtime overrides (all, or `names`): topology.yaml's or the defaults
    apply again. ValueError when what remains breaks a rule. Returns what remains stored."""
    dropped = None if names is None else set(names)
    return _change(
        path, string, "", lambda stored: {n: v for n, v in stored.items() if dropped is not None and n not in dropped}
    )


def replace_overrides(path: Path, string: StringConfig, values: Mapping[str, float], who: str) -> dict[str, float]:
    """The string's runtime overrides become exactly `values` (the settings page's whole form)."""
    return _change(path, string, who, lambda stored: dict(values))


def _change(
    path: Path, string: StringConfig, who: str, change: Callable[[dict[str, float]], dict[str, float]]
) -> dict[str, float]:
    """Read, change, check and write in one transaction; the settings version moves with it.
    Unchanged rows keep who set them and when."""
    db = _open(path)
    try:
        with db:
            db.execute("BEGIN IMMEDIATE")
            stored = _stored(db, string.id)
            wanted = change(dict(stored))
            with_runtime_overrides(string, wanted.items())
            db.executemany(
                "DELETE FROM alarm_limit_overrides WHERE string_id = ? AND name = ?",
                [(string.id, n) for n in sorted(set(stored) - set(wanted))],
            )
            now = time.time()
            db.executemany(
                "INSERT INTO alarm_limit_overrides (string_id, name, value, changed_by, changed_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (string_id, name) DO UPDATE SET"
                " value = excluded.value, changed_by = excluded.changed_by, changed_at = excluded.changed_at",
                [(string.id, n, float(v), who, now) for n, v in sorted(wanted.items()) if stored.get(n) != v],
            )
            bump_settings_version(db)
        return wanted
    finally:
        db.close()


def _stored(db: sqlite3.Connection, string_id: str) -> dict[str, float]:
    rows = db.execute("SELECT name, value FROM alarm_limit_overrides WHERE string_id = ?", (string_id,)).fetchall()
    return {name: float(value) for name, value in rows}
