"""An administrator's settings in a real Chromium against a real gateway: a new user with an
e-mail address who then logs in and changes their own password, the SMTP server set and proved
with a test e-mail to a real SMTP server (no restart), the time zone, and every section seen."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.support import wait_for
from tests.ui_support import browser_log_in as log_in
from tests.ui_support import start_ui_gateway, stop_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    process = start_ui_gateway(tmp_path_factory.mktemp("settings"))
    try:
        yield process
    finally:
        stop_gateway(process)


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_new_user_logs_in_and_changes_their_own_password(gateway, page, shoot):
    log_in(page, gateway, "root")
    page.get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"/site/settings/users$"))
    page.get_by_label("User name").fill("ana")
    page.get_by_label("Full name").fill("Ana Novak")
    page.get_by_label("Role").select_option("operator")
    page.get_by_label("E-mail", exact=True).fill("ana@example.com")
    page.get_by_label("Initial password").fill("first password 1")
    page.get_by_label("Password again").fill("first password 1")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("User added.")
    expect(page.get_by_role("row", name=re.compile("ana"))).to_contain_text("ana@example.com")
    shoot(page, "settings-users")
    page.get_by_role("link", name="Edit ana").click()
    shoot(page, "settings-user-edit")
    log_out(page)

    log_in(page, gateway, "ana", "first password 1")
    page.get_by_role("link", name=re.compile("^ana")).click()  # the user name in the header
    expect(page).to_have_url(re.compile(r"/account$"))
    page.get_by_label("Present password").fill("first password 1")
    page.get_by_label("New password", exact=True).fill("second password 2")
    page.get_by_label("New password again").fill("second password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    shoot(page, "account")
    page.goto(gateway.web_url + "/site/settings/users")  # an operator: refused, in the frame
    expect(page.get_by_role("alert")).to_contain_text("for administrators")
    log_out(page)
    log_in(page, gateway, "ana", "second password 2")


def test_the_smtp_server_is_set_and_proved_with_a_test_e_mail(gateway, page, shoot, smtp_server):
    sink, port, ca_file = smtp_server
    log_in(page, gateway, "root")
    page.goto(gateway.web_url + "/site/settings/notify")
    page.get_by_label("Server", exact=True).fill("127.0.0.1")
    page.get_by_label("Port", exact=True).fill(str(port))
    page.get_by_label("Security").select_option("starttls")
    page.get_by_label("Sender (From)").fill("btms@example.com")
    page.get_by_label("User name (empty: no log-in)").fill("btms")
    page.get_by_label("New password", exact=True).fill("s3cret")
    page.get_by_label("CA file of a private CA (PEM, on the gateway)").fill(ca_file)
    page.get_by_role("button", name="Save SMTP settings").click()
    expect(page.get_by_role("status")).to_have_text("SMTP settings saved.")
    expect(page.get_by_role("group", name=re.compile("^Password"))).to_contain_text("Password: set")
    assert "s3cret" not in page.content()

    page.get_by_label("E-mail address").fill("ops@example.com")
    page.get_by_role("button", name="Send test e-mail").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("Sent to ops@example.com"), timeout=30_000)
    wait_for(lambda: sink.messages, what="the test e-mail at the SMTP server")
    recipients, message = sink.messages[0]
    assert recipients == ["ops@example.com"] and "Test e-mail" in message["Subject"]
    shoot(page, "settings-notify")


def test_the_time_zone_shows_in_the_footer_and_in_times(gateway, page, shoot):
    log_in(page, gateway, "root")
    page.goto(gateway.web_url + "/site/settings/project")
    page.get_by_label("Project name").fill("Plant 7")
    page.get_by_label("Company").fill("ACME d.o.o.")
    page.get_by_label("Time zone").select_option("Asia/Kolkata")
    page.get_by_role("button", name="Save project settings").click()
    expect(page.get_by_role("status")).to_have_text("Project settings saved.")
    expect(page.locator("footer")).to_have_text("Times are in Asia/Kolkata.")
    expect(page.locator("header")).to_contain_text("Plant 7")
    shoot(page, "settings-project")

    page.get_by_role("link", name="Network and NTP").click()
    clock = page.get_by_text("The gateway's clock now:").text_content()
    shown = dt.datetime.strptime(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", clock).group(0), "%Y-%m-%d %H:%M:%S")
    now = dt.datetime.now(ZoneInfo("Asia/Kolkata")).replace(tzinfo=None)
    assert abs((now - shown).total_seconds()) < 120  # Kolkata's time, not UTC's (5 h 30 min apart)
    shoot(page, "settings-host")
    page.goto(gateway.web_url + "/site/settings/project")
    page.get_by_label("Time zone").select_option("UTC")
    page.get_by_role("button", name="Save project settings").click()
    expect(page.locator("footer")).to_have_text("Times are in UTC.")


def test_every_other_section_shows(gateway, page, shoot):
    log_in(page, gateway, "root")
    page.goto(gateway.web_url + "/site/settings/snmp")
    expect(page.get_by_role("heading", name="SNMP", exact=True)).to_be_visible()
    shoot(page, "settings-snmp")
    page.goto(gateway.web_url + "/site/settings/exports")
    page.get_by_role("button", name="Create export").click()
    expect(page.get_by_role("link", name=re.compile(r"^btms-strings-.*\.csv$"))).to_be_visible(timeout=30_000)
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"^btms-strings-.*\.csv$")).click()
    rows = open(download.value.path(), encoding="utf-8").read().splitlines()
    assert rows[0].startswith("time,ups,string,health,state")
    shoot(page, "settings-exports")
    page.goto(gateway.web_url + "/ups/UPS-A/settings")
    expect(page.get_by_role("link", name="Settings of string A1")).to_be_visible()
    shoot(page, "settings-ups")
