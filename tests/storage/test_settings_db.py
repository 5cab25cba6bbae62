"""settings.db: created with its schema, and older files gain the columns added since."""

from __future__ import annotations

import sqlite3

from storage.settings_db import open_settings, settings_path
from web.api_tokens import create_token, list_tokens


def test_an_older_token_table_gains_roles_and_keeps_its_tokens(tmp_path):
    with sqlite3.connect(settings_path(tmp_path)) as old:
        old.execute(
            "CREATE TABLE api_tokens (name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)"
        )
        old.execute("INSERT INTO api_tokens VALUES ('scada', 'abc', '2026-01-01T00:00:00+00:00')")
    open_settings(tmp_path).close()
    assert list_tokens(tmp_path) == [("scada", "operator", "2026-01-01T00:00:00+00:00")]
    create_token(tmp_path, "wall", "viewer")
    assert [(n, r) for n, r, _ in list_tokens(tmp_path)] == [("scada", "operator"), ("wall", "viewer")]


def test_components_opening_a_new_settings_file_at_once_all_get_it(tmp_path):
    """The alarm manager and the notifier start together; neither may fail on "locked"."""
    import asyncio

    from storage.settings_db import SCHEMA, open_settings_async

    async def open_together(path):
        results = await asyncio.gather(*(open_settings_async(path, SCHEMA) for _ in range(6)), return_exceptions=True)
        for result in results:
            if not isinstance(result, BaseException):
                await result.close()
        return [r for r in results if isinstance(r, BaseException)]

    for attempt in range(20):  # without the retry, about one start in ten failed here
        failures = asyncio.run(open_together(tmp_path / f"try{attempt}" / "settings.db"))
        assert failures == [], f"attempt {attempt}: {failures}"
