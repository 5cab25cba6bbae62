"""Who may ask what, through the app itself: log-in, sessions, CSRF, roles, tokens, headers."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.factories import ui_context
from tests.support import small_topology
from web.access import SESSION_COOKIE
from web.api_tokens import TokenVerifier, create_token
from web.app import create_app
from web.users.book import User

PASSWORD = "correct horse battery"


@pytest.fixture
def gateway_app(tmp_path):
    ui = ui_context(small_topology(tmp_path), tmp_path)
    ui.users.add(User("root", "admin"), PASSWORD)
    ui.users.add(User("olga", "operator"), PASSWORD)
    ui.users.add(User("vera", "viewer"), PASSWORD)
    return create_app(ui, TokenVerifier(tmp_path)), ui


async def log_in(client, name, password=PASSWORD, next_path="/site/realtime"):
    form = await (await client.get("/login")).get_data(as_text=True)
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    return await client.post(
        "/login", form={"username": name, "password": password, "login_csrf": token, "next": next_path}
    )


def csrf_of(page: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def run(app, scenario):
    async def outer():
        async with app.test_app():
            return await scenario(app.test_client())

    return asyncio.run(outer())


def test_a_page_without_a_session_goes_to_the_log_in_and_back(gateway_app):
    app, _ = gateway_app

    async def scenario(client):
        first = await client.get("/strings/U1S1/realtime")
        logged = await log_in(client, "vera", next_path=first.headers["Location"].split("next=")[1])
        page = await client.get(logged.headers["Location"])
        return first, logged, page

    first, logged, page = run(app, scenario)
    assert first.status_code == 303 and first.headers["Location"] == "/login?next=/strings/U1S1/realtime"
    assert logged.status_code == 303 and logged.headers["Location"] == "/strings/U1S1/realtime"
    cookie = logged.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert page.status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_after_log_in_the_browser_never_leaves_the_gateway(gateway_app, target):
    app, _ = gateway_app
    response = run(app, lambda client: log_in(client, "vera", next_path=target))
    assert response.headers["Location"] == "/site/realtime"


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(gateway_app):
    app, _ = gateway_app

    async def scenario(client):
        wrong = await log_in(client, "vera", "wrong password!")
        unknown = await log_in(client, "nobody", "wrong password!")
        return [
            (r.status_code, "Wrong user name or password" in await r.get_data(as_text=True)) for r in (wrong, unknown)
        ]

    assert run(app, scenario) == [(401, True), (401, True)]


def test_a_log_in_form_without_its_token_is_refused(gateway_app):
    app, _ = gateway_app

    async def scenario(client):
        return await client.post("/login", form={"username": "vera", "password": PASSWORD})

    response = run(app, scenario)
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.headers.get("Set-Cookie", "")


def test_changes_with_a_session_need_its_csrf_token_and_the_role(gateway_app):
    app, _ = gateway_app

    async def scenario(client):
        await log_in(client, "vera")
        page = await (await client.get("/site/realtime")).get_data(as_text=True)
        forged = await client.post("/api/v1/alarms/1/acknowledge")
        as_viewer = await client.post("/api/v1/alarms/1/acknowledge", headers={"X-CSRF-Token": csrf_of(page)})
        return forged, as_viewer

    forged, as_viewer = run(app, scenario)
    assert forged.status_code == 403 and "CSRF" in asyncio.run(forged.get_data(as_text=True))
    assert as_viewer.status_code == 403 and "viewer" in asyncio.run(as_viewer.get_data(as_text=True))


def test_the_api_takes_a_session_or_a_token_and_answers_401_in_json_otherwise(gateway_app, tmp_path):
    app, _ = gateway_app
    token = create_token(tmp_path, "scada", "viewer")

    async def scenario(client):
        nobody = await client.get("/api/v1/site")
        with_token = await client.get("/api/v1/site", headers={"Authorization": f"Bearer {token}"})
        await log_in(client, "vera")
        with_session = await client.get("/api/v1/site")
        return nobody, with_token, with_session

    nobody, with_token, with_session = run(app, scenario)
    assert nobody.status_code == 401 and nobody.mimetype == "application/json"
    assert with_token.status_code == 200 and with_session.status_code == 200


def test_after_log_out_the_same_cookie_opens_nothing(gateway_app):
    app, _ = gateway_app

    async def scenario(client):
        logged = await log_in(client, "olga")
        cookie = re.search(rf"{SESSION_COOKIE}=([^;]+)", logged.headers["Set-Cookie"]).group(1)
        page = await (await client.get("/site/realtime")).get_data(as_text=True)
        out = await client.post("/logout", form={"csrf_token": csrf_of(page)})
        replayed = app.test_client()
        replayed.set_cookie("localhost", SESSION_COOKIE, cookie)
        return out, await replayed.get("/site/realtime"), await replayed.get("/api/v1/site")

    out, page, api = run(app, scenario)
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert page.status_code == 303 and page.headers["Location"].startswith("/login")
    assert api.status_code == 401


def test_every_page_carries_the_security_headers(gateway_app):
    app, _ = gateway_app
    response = run(app, lambda client: client.get("/login"))
    headers = response.headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be wrong


def test_an_unknown_string_is_a_404_not_an_error(gateway_app):
    app, _ = gateway_app

    async def scenario(client):
        await log_in(client, "vera")
        return await client.get("/strings/nope/realtime")

    assert run(app, scenario).status_code == 404


def test_under_tls_the_cookie_is_secure_and_hsts_is_sent(tmp_path):
    ui = ui_context(small_topology(tmp_path), tmp_path)
    ui.tls = True
    ui.users.add(User("vera", "viewer"), PASSWORD)
    app = create_app(ui, TokenVerifier(tmp_path))
    response = run(app, lambda client: log_in(client, "vera"))
    assert "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
