"""The Alarm tab and a string's Settings tab in Debian's Chromium, against a real `btms run` on the
simulator, with a real SMTP server (aiosmtpd) for the alarm e-mails.

As people would use them: an administrator lowers a string's voltage limit in the settings page
and finds the alarm in the Alarm tab; an operator acknowledges an alarm with its button, a
viewer has no button and a forged POST is refused; a user with an e-mail address gets the alarm
e-mail and finds it in the E-mails log. The simulator floats 8 x 12 V batteries at ~109 V.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
import yaml
from aiosmtpd.controller import Controller
from playwright.sync_api import Page, expect

from storage.notification_settings import NotificationSettings, SmtpSettings
from storage.notification_store import NotificationStore
from storage.settings_db import settings_path
from tests.browser_support import watched_page
from tests.gateway_process import REPO, GatewayProcess, btms, kill_all, wait_serving, write_demo_topology
from tests.notify_support import Sink
from tests.support import free_port, run_apart, wait_for
from tests.ui_support import browser_log_in

pytestmark = pytest.mark.integration

PASSWORD = "a long enough password"
USERS = (("ada", "--admin", "ada@example.com"), ("otto", "--role=operator", ""), ("vera", "--role=viewer", ""))
SHOWN_WITHIN_S = 25.0  # settings poll + on-delay + scans + (for e-mail) the batching window


@pytest.fixture(scope="module")
def smtp():
    sink, port = Sink(), free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    server.start()
    yield sink, port
    server.stop()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, smtp):
    tmp_path = tmp_path_factory.mktemp("alarm-ui")
    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    for string in (s for ups in data["upses"] for s in ups["strings"]):
        string["alarm_overrides"] = {"alarm_on_delay_s": 1, "alarm_off_delay_s": 1}
    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    for name, role, email in USERS:
        args = ["user", "add", name, role, "--topology", str(topology)] + (["--email", email] if email else [])
        done = subprocess.run(
            [sys.executable, "-m", "btms.cli", *args], cwd=REPO, input=f"{PASSWORD}\n{PASSWORD}\n", text=True
        )
        assert done.returncode == 0
    run_apart(_configure_smtp(settings_path(tmp_path / "var"), smtp[1]))
    process = GatewayProcess.start(tmp_path, topology, data)
    try:
        wait_serving(process, timeout=30)
        yield process
    finally:
        pids = process.actor_pids()
        process.stop(signal.SIGTERM)
        kill_all(pids)


async def _configure_smtp(db, port: int) -> None:
    """What the SMTP settings page (or a script) stores: a plain local relay, a short batch window."""
    store = await NotificationStore.open(db)
    try:
        smtp = SmtpSettings(host="127.0.0.1", port=port, sender="btms@example.com", security="none")
        await store.save_settings(NotificationSettings(smtp=smtp, batch_window_s=1.0))
    finally:
        await store.close()


def log_in(page: Page, gateway: GatewayProcess, user: str, path: str) -> None:
    browser_log_in(page, gateway, user, PASSWORD, path)


def active_alarms(gateway: GatewayProcess, string: str, kind: str) -> list[dict]:
    code, body = gateway.get(f"/api/v1/alarms?string={string}&kind={kind}&active=1")
    assert code == 200, body
    return body["alarms"]


def until_shown(page: Page, locator_of, what: str) -> None:
    """Reload the page until the locator finds something (the table is not a live view)."""

    def shown() -> bool:
        page.reload()
        return locator_of(page).count() > 0

    wait_for(shown, timeout=SHOWN_WITHIN_S, interval=0.5, what=what)


def test_an_administrator_lowers_a_limit_and_finds_the_alarm(page, gateway, shoot):
    log_in(page, gateway, "ada", "/strings/A1/settings")
    field = page.get_by_role("textbox", name="String voltage high limit")
    expect(field).to_have_value("117.6")  # 8 batteries x 6 cells x 2.45 V
    field.fill("100")
    page.get_by_role("button", name="Save limits").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("Alarm limits saved"))
    limits = page.get_by_role("region", name="Alarm limits")
    expect(limits.get_by_role("row", name=re.compile("String voltage high limit"))).to_contain_text("runtime")
    shoot(page, "string-settings")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Alarm").click()
    until_shown(
        page,
        lambda p: p.get_by_role("row").filter(has_text="Voltage high").filter(has_text="active"),
        "A1's Voltage high alarm in its Alarm tab",
    )
    assert active_alarms(gateway, "A1", "string_voltage_high")[0]["limit"] == 100.0
    shoot(page, "alarm-table")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link").first.click()  # a level up: the site
    expect(page.get_by_role("heading", name=re.compile("data center – Alarms"))).to_be_visible()
    page.get_by_label("Active only").check()
    page.get_by_label("Alarm", exact=True).select_option(label="String: Voltage high")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(re.compile(r"Showing 1 to \d+ of \d+ entries"))).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Voltage high")).not_to_have_count(0)


def test_an_operator_acknowledges_and_a_viewer_is_refused(browser, gateway, shoot):
    done = btms("limits", "set", "A2", "string_voltage_high_v", "100", "--topology", str(gateway.topology))
    assert done.returncode == 0, done.stderr
    alarm = wait_for(
        lambda: active_alarms(gateway, "A2", "string_voltage_high"), timeout=SHOWN_WITHIN_S, what="A2's alarm"
    )[0]
    with watched_page(browser) as (viewer, watch):
        log_in(viewer, gateway, "vera", "/strings/A2/alarm")
        expect(viewer.get_by_role("row").filter(has_text=f"{alarm['id']}")).not_to_have_count(0)
        expect(viewer.get_by_role("button", name=re.compile("Acknowledge"))).to_have_count(0)
        csrf = viewer.locator('meta[name="csrf-token"]').get_attribute("content")
        forged = viewer.request.post(
            gateway.web_url + "/alarm/acknowledge", form={"alarm": str(alarm["id"]), "csrf_token": csrf}
        )
        assert forged.status == 403 and "operator" in forged.json()["error"]["message"]
    watch.check()
    with watched_page(browser) as (operator, watch):
        log_in(operator, gateway, "otto", "/strings/A2/alarm")
        operator.get_by_role("button", name=f"Acknowledge alarm {alarm['id']}").click()
        row = operator.get_by_role("row").filter(has=operator.get_by_role("cell", name=str(alarm["id"]), exact=True))
        expect(row).to_contain_text("otto")
        expect(operator.get_by_role("button", name=f"Acknowledge alarm {alarm['id']}")).to_have_count(0)
        shoot(operator, "alarm-acknowledged")
    watch.check()
    _, body = gateway.get("/api/v1/alarms?string=A2&kind=string_voltage_high&active=1")
    assert body["alarms"][0]["acknowledged_by"] == "otto"


def test_the_alarm_email_reaches_the_smtp_server_and_the_email_log(page, gateway, smtp, shoot):
    sink, _ = smtp
    done = btms("limits", "set", "B1", "string_voltage_high_v", "100", "--topology", str(gateway.topology))
    assert done.returncode == 0, done.stderr

    def mail_to_ada():
        texts = [m.get_payload(decode=True).decode() for to, m in sink.messages if "ada@example.com" in to]
        return [t for t in texts if "B1" in t]

    mails = wait_for(mail_to_ada, timeout=SHOWN_WITHIN_S + 30, what="the alarm e-mail for B1 at the SMTP server")
    assert "Voltage high" in mails[0]
    log_in(page, gateway, "ada", "/site/alarm")
    page.get_by_role("link", name="E-mails").click()
    row = page.get_by_role("row").filter(has_text="ada@example.com").filter(has_text="sent")
    expect(row.first).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="failed")).to_have_count(0)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("#,UPS,String,Cell,Alarm,Time,Contact,Status,Error") and "ada@example.com" in text
    shoot(page, "email-log")
