"""Settings → E-mail and SMS through the app: saved, checked, credentials write-only."""

from __future__ import annotations

import pytest

from storage.settings_db import settings_path
from tests.ui_support import app_csrf, app_log_in, app_with_users, run_app

SMTP_FORM = {
    "host": "mail.example.com",
    "port": "465",
    "security": "tls",
    "sender": "btms@example.com",
    "username": "btms",
    "password": "pa55-Sm7p-Very-Secret",
    "timeout_s": "5",
    "ca_file": "",
}


@pytest.fixture
def app_ui(tmp_path):
    return app_with_users(tmp_path)


def post_as(app, who, path, form):
    async def scenario(client):
        await app_log_in(client, who)
        answer = await client.post(path, form=form | {"csrf_token": await app_csrf(client)})
        page = await client.get("/site/settings/notify")
        return answer.status_code, await answer.get_data(as_text=True), await page.get_data(as_text=True)

    return run_app(app, scenario)


def test_smtp_settings_are_saved_and_the_password_never_shown(app_ui, tmp_path, capsys):
    app, ui = app_ui
    status, _, page = post_as(app, "root", "/site/settings/notify/smtp", SMTP_FORM)
    assert status == 303
    assert 'value="mail.example.com"' in page and 'value="465"' in page
    assert 'Password: <span class="secret-state">set</span>' in page
    assert SMTP_FORM["password"] not in page
    assert SMTP_FORM["password"].encode() not in settings_path(tmp_path).read_bytes()
    assert SMTP_FORM["password"] in (tmp_path / "secrets.json").read_text()
    assert SMTP_FORM["password"] not in capsys.readouterr().out  # nor in the log lines


def test_an_empty_password_field_keeps_the_password_and_the_tick_removes_it(app_ui, tmp_path):
    app, _ = app_ui
    post_as(app, "root", "/site/settings/notify/smtp", SMTP_FORM)
    post_as(app, "root", "/site/settings/notify/smtp", SMTP_FORM | {"password": "", "host": "mail2.example.com"})
    assert SMTP_FORM["password"] in (tmp_path / "secrets.json").read_text()
    _, _, page = post_as(
        app, "root", "/site/settings/notify/smtp", SMTP_FORM | {"password": "", "clear_password": "on"}
    )
    assert 'Password: <span class="secret-state">not set</span>' in page
    assert SMTP_FORM["password"] not in (tmp_path / "secrets.json").read_text()


@pytest.mark.parametrize(
    ("form", "change", "message"),
    [
        ("smtp", {"port": "70000"}, "smtp.port = 70000: must be 1..65535"),
        ("smtp", {"port": "abc"}, "smtp.port = &#39;abc&#39;"),
        ("smtp", {"security": "ssl3"}, "smtp.security"),
        ("smtp", {"host": "a\r\nRCPT TO:<x@y>"}, "smtp.host: at most 300 characters on one line"),
        ("sms", {"method": "pigeon"}, "sms.method"),
        ("sms", {"http_url": "ftp://x"}, "must start with https:// or http://"),
    ],
)
def test_a_bad_value_is_named_next_to_its_form_and_nothing_is_saved(app_ui, form, change, message):
    app, _ = app_ui
    base = SMTP_FORM if form == "smtp" else {"method": "http", "http_url": "https://sms.example.com"}
    status, body, page = post_as(app, "root", f"/site/settings/notify/{form}", base | change)
    assert status == 400 and message in body and 'role="alert"' in body and "Traceback" not in body
    assert 'value="mail.example.com"' not in page and 'value="https://sms.example.com"' not in page


@pytest.mark.parametrize("who", ["olga", "vera"])
def test_only_an_administrator_changes_or_tests_notifications(app_ui, who):
    app, _ = app_ui
    saved, _, page = post_as(app, who, "/site/settings/notify/smtp", SMTP_FORM)
    tested, _, _ = post_as(app, who, "/site/settings/notify-test", {"channel": "email", "contact": "a@b.c"})
    assert (saved, tested) == (403, 403) and 'value="mail.example.com"' not in page


def test_sms_credentials_are_write_only_too(app_ui, tmp_path):
    app, _ = app_ui
    form = {"method": "modem", "modem_port": "/dev/ttyUSB2", "modem_pin": "4321", "http_token": "tok-abc-123"}
    status, _, page = post_as(app, "root", "/site/settings/notify/sms", form)
    assert status == 303
    assert 'SIM PIN: <span class="secret-state">set</span>' in page
    assert 'Token: <span class="secret-state">set</span>' in page
    assert "4321" not in page and "tok-abc-123" not in page
