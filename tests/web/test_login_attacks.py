"""An attacker with raw HTTP against a running gateway: guessed passwords, forged forms, replayed cookies."""

from __future__ import annotations

import pytest

from tests.ui_support import PASSWORD, RawBrowser, start_ui_gateway, stop_gateway
from web.access import SESSION_COOKIE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    process = start_ui_gateway(tmp_path_factory.mktemp("attacks"))
    try:
        yield process
    finally:
        stop_gateway(process)


def port_of(gateway) -> int:
    return gateway.data["services"]["web"]["port"]


def test_twenty_wrong_passwords_lock_the_user_out_and_the_right_one_then_waits(gateway):
    attacker = RawBrowser(port_of(gateway))
    answers = [attacker.log_in("olga", f"guess number {n}").status for n in range(20)]
    assert answers[:5] == [401] * 5
    assert set(answers[5:]) == {429}
    locked = attacker.log_in("olga", PASSWORD)
    assert locked.status == 429
    assert int(locked.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in attacker.cookies
    assert "Too many failed log-ins" in locked.body
    assert RawBrowser(port_of(gateway)).log_in("vera").status == 303  # other users are not locked out


def test_a_forged_form_with_the_victims_cookie_but_no_token_changes_nothing(gateway):
    victim = RawBrowser(port_of(gateway))
    assert victim.log_in("root").status == 303
    forged = RawBrowser(port_of(gateway), cookies=dict(victim.cookies))
    logout = forged.request("POST", "/logout", {"csrf_token": "guessed"})
    acknowledge = forged.request("POST", "/api/v1/alarms/1/acknowledge")
    assert logout.status == 403 and acknowledge.status == 403
    assert "CSRF" in acknowledge.body
    assert victim.request("GET", "/site/realtime").status == 200  # the forged log-out did not end it


def test_a_cookie_replayed_after_log_out_opens_nothing(gateway):
    browser = RawBrowser(port_of(gateway))
    assert browser.log_in("vera").status == 303
    stolen = dict(browser.cookies)
    assert browser.request("POST", "/logout", {"csrf_token": browser.csrf()}).status == 303
    replay = RawBrowser(port_of(gateway), cookies=stolen)
    page = replay.request("GET", "/site/realtime")
    assert page.status == 303 and page.headers["location"].startswith("/login")
    assert replay.request("GET", "/api/v1/site").status == 401
