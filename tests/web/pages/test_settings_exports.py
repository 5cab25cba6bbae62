"""Settings → Data exports: made in a worker thread, bounded, listed, downloaded, deleted; no name
given back by a browser reaches a file outside the export folder."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from storage.export_folder import ExportError, export_path, list_exports, write_export
from tests.factories import write_past_days
from tests.support import wait_for
from tests.ui_support import app_csrf, app_log_in, app_with_users, run_app

STRINGS = [("U1S1", 1, "U1"), ("U1S2", 2, "U1")]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Two stored days of two strings (10-minute scans); copied per test, never changed."""
    folder = tmp_path_factory.mktemp("history")
    days = write_past_days(folder, STRINGS, days=2, step_s=600.0, cells=4)
    return folder, days


@pytest.fixture
def app_ui(tmp_path, history):
    import shutil

    shutil.copytree(history[0], tmp_path, dirs_exist_ok=True)
    return app_with_users(tmp_path)


def day_range(days):
    start = dt.datetime.fromtimestamp(days[0] * 86400, dt.UTC)
    return start, start + dt.timedelta(days=2)


def test_an_export_is_made_listed_downloaded_and_deleted(app_ui, history):
    app, ui = app_ui
    start, end = day_range(history[1])

    async def scenario(client):
        await app_log_in(client, "root")
        token = await app_csrf(client)
        form = {"start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M")}
        made = await client.post(
            "/site/settings/exports", form=form | {"kind": "both", "where": "string:U1S2", "csrf_token": token}
        )
        import asyncio

        for _ in range(600):  # the worker thread: wait until the page no longer says it runs
            page = await (await client.get("/site/settings/exports")).get_data(as_text=True)
            if "An export is running" not in page:
                break
            await asyncio.sleep(0.05)
        names = re.findall(r'href="/site/exports/([^"]+)"', page)
        download = await client.get(f"/site/exports/{names[0]}")
        body = await download.get_data(as_text=True)
        deleted = await client.post(f"/site/settings/exports/{names[0]}/delete", form={"csrf_token": token})
        return made.status_code, page, names, download, body, deleted.status_code

    made, page, names, download, body, deleted = run_app(app, scenario)
    assert made == 303 and "The last export failed" not in page
    assert sorted(n.split("-")[1] for n in names) == ["cells", "strings"]
    assert all("-U1S2" in n for n in names)
    assert download.headers["Content-Disposition"] == f'attachment; filename="{names[0]}"'
    assert download.mimetype == "text/csv"
    rows = body.splitlines()
    assert rows[0].startswith("time,ups,string,") and len(rows) > 100
    assert all(",U1S2," in row for row in rows[1:])  # only the string asked for
    assert deleted == 303 and len(list_exports(ui.storage_dir)) == 1


@pytest.mark.parametrize(
    "name",
    ["..%2Fsettings.db", "%2E%2E%2Fsecrets.json", "settings.db", "btms-strings-x.csv", "..", "%2Fetc%2Fpasswd"],
)
def test_a_download_or_delete_of_anything_but_an_export_is_refused(app_ui, name):
    app, ui = app_ui
    (ui.storage_dir / "secrets.json").write_text('{"smtp.password": "no"}')

    async def scenario(client):
        await app_log_in(client, "root")
        got = await client.get(f"/site/exports/{name}")
        gone = await client.post(f"/site/settings/exports/{name}/delete", form={"csrf_token": await app_csrf(client)})
        return got.status_code, await got.get_data(as_text=True), gone.status_code

    got, body, gone = run_app(app, scenario)
    assert got == 404 and gone == 404 and "smtp.password" not in body
    assert (ui.storage_dir / "secrets.json").exists() and (ui.storage_dir / "settings.db").exists()


@pytest.mark.parametrize("name", ["../settings.db", "/etc/passwd", "btms-cells-20261201T0000-20261202T0000/../x.csv"])
def test_export_path_takes_only_export_names(tmp_path, name):
    with pytest.raises(ExportError):
        export_path(tmp_path, name)


@pytest.mark.parametrize(
    ("start", "end", "where", "message"),
    [
        ("2026-12-02T00:00", "2026-12-01T00:00", "", "must be after the start"),
        ("2024-01-01T00:00", "2026-01-01T00:00", "", "at most 366 days in one export"),
        ("yesterday", "2026-12-01T00:00", "", "is not a date and time"),
        ("2026-11-01T00:00", "2026-11-02T00:00", "string:../../etc", "is not a UPS or a string of this site"),
    ],
)
def test_a_bad_range_or_filter_is_refused_with_its_reason(app_ui, start, end, where, message):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        form = {"start": start, "end": end, "kind": "strings", "where": where, "csrf_token": await app_csrf(client)}
        answer = await client.post("/site/settings/exports", form=form)
        return answer.status_code, await answer.get_data(as_text=True)

    status, body = run_app(app, scenario)
    assert status == 400 and message in body and "Traceback" not in body
    assert list_exports(ui.storage_dir) == []


def test_an_export_that_would_pass_the_cap_stops_and_leaves_no_partial_file(app_ui, history):
    _, ui = app_ui
    start, end = day_range(history[1])
    with pytest.raises(ExportError, match="exports would pass"):
        write_export(ui.storage_dir, ("strings", "cells"), start, end, cap_bytes=20_000)
    assert list((ui.storage_dir / "exports").iterdir()) == []


def test_a_second_export_waits_for_the_first(app_ui, history, monkeypatch):
    """One export at a time: while one runs, another is answered 409 with the reason."""
    import threading

    app, ui = app_ui
    release = threading.Event()
    started = threading.Event()

    def slow_export(*args, **kwargs):
        started.set()
        release.wait(30)
        return []

    monkeypatch.setattr("web.pages.settings_exports.write_export", slow_export)
    start, end = day_range(history[1])
    form = {"start": start.strftime("%Y-%m-%dT%H:%M"), "end": end.strftime("%Y-%m-%dT%H:%M"), "kind": "strings"}

    async def scenario(client):
        import asyncio

        await app_log_in(client, "root")
        token = await app_csrf(client)
        first = await client.post("/site/settings/exports", form=form | {"csrf_token": token})
        await asyncio.to_thread(wait_for, started.is_set, 10.0)
        second = await client.post("/site/settings/exports", form=form | {"csrf_token": token})
        page = await (await client.get("/site/settings/exports")).get_data(as_text=True)
        release.set()
        return first.status_code, second.status_code, await second.get_data(as_text=True), page

    first, second, body, page = run_app(app, scenario)
    assert (first, second) == (303, 409) and "An export is running: wait until it is done." in body
    assert 'id="export-running"' in page
