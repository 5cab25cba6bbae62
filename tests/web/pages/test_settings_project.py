"""Settings → Project and time zone, and the logo, through the app."""

from __future__ import annotations

import io

import pytest
from quart.datastructures import FileStorage

from tests.ui_support import app_csrf, app_log_in, app_with_users, run_app
from web.ui.site_logo import MAX_LOGO_BYTES

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0" + bytes(200)
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def app_ui(tmp_path):
    return app_with_users(tmp_path)


def upload(app, data: bytes, filename: str, who: str = "root"):
    async def scenario(client):
        await app_log_in(client, who)
        token = await app_csrf(client)
        answer = await client.post(
            "/site/settings/logo",
            form={"csrf_token": token},
            files={"logo": FileStorage(io.BytesIO(data), filename=filename, content_type="image/png")},
        )
        logo = await client.get("/site/logo")
        return answer.status_code, await answer.get_data(as_text=True), logo

    return run_app(app, scenario)


def test_the_time_zone_shows_in_the_footer_and_in_times(app_ui):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        form = {"project_name": "Plant 7", "company": "ACME d.o.o.", "url": "https://acme.example", "owner": "Ana"}
        answer = await client.post(
            "/site/settings/project",
            form=form | {"time_zone": "Asia/Kolkata", "csrf_token": await app_csrf(client)},
        )
        page = await (await client.get("/site/settings/host")).get_data(as_text=True)
        return answer.status_code, page

    status, page = run_app(app, scenario)
    assert status == 303
    assert "Times are in Asia/Kolkata." in page and "Plant 7" in page and "ACME d.o.o." in page
    assert ui.site_settings.read().time_zone == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"time_zone": "Mars/Olympus"}, "is not an IANA time zone"),
        ({"url": "javascript:alert(1)"}, "must start with https:// or http://"),
        ({"owner": "x" * 201}, "owner: at most 200 characters"),
    ],
)
def test_a_refused_project_setting_is_explained(app_ui, change, message):
    app, ui = app_ui

    async def scenario(client):
        await app_log_in(client, "root")
        answer = await client.post("/site/settings/project", form=change | {"csrf_token": await app_csrf(client)})
        return answer.status_code, await answer.get_data(as_text=True)

    status, body = run_app(app, scenario)
    assert status == 400 and message in body and "Traceback" not in body
    assert ui.site_settings.read().time_zone == "UTC" and ui.site_settings.read().url == ""


@pytest.mark.parametrize(("data", "kind"), [(PNG, "image/png"), (JPEG, "image/jpeg")])
def test_a_png_or_jpeg_logo_is_stored_and_served_with_its_type(app_ui, data, kind):
    app, _ = app_ui
    status, _, logo = upload(app, data, "logo.bin")
    assert status == 303
    assert logo.status_code == 200 and logo.mimetype == kind
    assert logo.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (SVG, "logo.svg", "SVG logos are refused"),
        (b"<html><script>alert(1)</script></html>", "logo.png", "neither a PNG nor a JPEG"),
        (PNG + bytes(MAX_LOGO_BYTES), "big.png", "at most 256 kB"),
    ],
)
def test_a_logo_that_is_not_a_small_png_or_jpeg_is_refused(app_ui, tmp_path, data, name, message):
    app, _ = app_ui
    status, body, logo = upload(app, data, name)
    assert status in (400, 413) and message in body and "Traceback" not in body
    assert logo.status_code == 404 and not list(tmp_path.glob("site-logo*"))


def test_the_logo_needs_a_session_and_its_upload_an_administrator(app_ui):
    app, _ = app_ui
    status, _, _ = upload(app, PNG, "logo.png", who="olga")
    assert status == 403

    async def anonymous(client):
        return await client.get("/site/logo")

    assert run_app(app, anonymous).status_code == 303  # to the log-in
