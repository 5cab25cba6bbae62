"""An operator at the aggregator in a real Chromium: log in, walk site -> gateway -> string ->
alarms, see values refresh, filter the alarms by gateway and download what a table shows; a
user changes their own password on the account page; a gateway's history is plotted and downloaded; its discharge events listed; an administrator adds a user."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from playwright.sync_api import expect

from aggregator.site_view import AggregatedSite
from tests.aggregator_ui_support import (
    HOSTILE,
    NOW_MS,
    PASSWORD,
    add_user,
    alarm_event,
    apply_views,
    gateway_view,
    record,
    served,
    store_alarms,
    store_records,
    string_metrics,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def aggregator(tmp_path_factory, postgres):
    storage = tmp_path_factory.mktemp("aggregator-ui")
    add_user(storage, "olga", "operator")
    add_user(storage, "ivan", "viewer")
    add_user(storage, "root", "admin")
    asyncio.run(
        store_alarms(
            postgres.dsn,
            [
                ("gw-north", alarm_event(1, "Cell voltage high")),
                ("gw-south", alarm_event(2, "Cell temperature high", string_id="S1", cell=7)),
                ("gw-north", alarm_event(3, "Cell voltage low", event="cleared")),
            ],
            offline=[("gw-south", NOW_MS / 1000 - 30, "no message for 30 s")],
        )
    )
    hour_ago_ms = int(time.time() - 3600) * 1000  # the History page opens on the last day
    stored = [
        record("gw-north", device, hour_ago_ms + k * 60_000, {key: base + k % 5})
        for k in range(60)
        for device, key, base in (("UPS-A", "ups.voltage", 400.0), ("UPS-A:A1", "string.voltage", 54.0))
    ]
    for kind, at_ms in (("start", hour_ago_ms), ("end", hour_ago_ms + 1_800_000)):
        body = json.dumps({"event": kind, "ups_id": "UPS-A", "string_id": "A1", "time": at_ms / 1000})
        stored.append(record("gw-north", "", at_ms, {}, {"event/discharge": body}))
    asyncio.run(store_records(postgres.dsn, stored))
    site = AggregatedSite()
    apply_views(
        site,
        gateway_view("gw-north", {"A1": string_metrics(12, null_cell=5), "A2": string_metrics(12, voltage=53.1)}),
        gateway_view("gw-south", {"S1": string_metrics(12)}, online=False),
        gateway_view("gw-east", {"E1": string_metrics(12)}),
        gateway_view(HOSTILE, {HOSTILE: string_metrics(2)}),
    )
    with served(site, storage, postgres.dsn) as url:
        yield url, site


def log_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/site/realtime$"))


def test_a_user_changes_their_password_on_the_account_page(aggregator, page, shoot):
    url, _ = aggregator
    log_in(page, url, "ivan")
    page.get_by_role("link", name=re.compile("^ivan")).click()  # the user name in the header
    expect(page).to_have_url(re.compile(r"/account$"))
    page.get_by_label("Present password").fill("not the password")
    page.get_by_label("New password", exact=True).fill("second password 2")
    page.get_by_label("New password again").fill("second password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text("The present password is not right.")
    page.get_by_label("Present password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("second password 2")
    page.get_by_label("New password again").fill("second password 2")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    shoot(page, "aggregator-account")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    log_in(page, url, "ivan", "second password 2")


def test_an_operator_walks_site_gateway_string_and_alarms(aggregator, page, shoot, tmp_path):
    url, site = aggregator
    page.goto(url + "/gateways/gw-north/realtime")
    expect(page).to_have_url(re.compile(r"/login\?next=/gateways/gw-north/realtime$"))
    page.get_by_label("User name").fill("olga")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/gateways/gw-north/realtime$"))  # back where the bookmark pointed

    tree = page.get_by_role("navigation", name="Data center")
    tree.get_by_role("link", name="All gateways").click()
    expect(page).to_have_url(re.compile(r"/site/realtime$"))
    gateways = page.get_by_role("table", name="Gateways")
    south = gateways.get_by_role("row").filter(has_text="gw-south")
    expect(south.get_by_role("cell", name="Off-line")).to_have_class(re.compile("value-stale"))
    expect(page.get_by_role("status")).to_have_text("Live")  # the first poll answered
    shoot(page, "aggregator-site")

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    tree.get_by_role("link", name=HOSTILE, exact=True).click()  # a name from MQTT is text, never markup
    expect(page.get_by_role("heading", name=f"Gateway {HOSTILE}")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Live")  # its page's data URL is quoted too
    assert dialogs == []
    tree.get_by_role("link", name="All gateways").click()

    gateways.get_by_role("link", name="gw-north").click()
    expect(page).to_have_url(re.compile(r"/gateways/gw-north/realtime$"))
    strings = page.get_by_role("table", name="Strings")
    a1 = strings.get_by_role("row").filter(has_text="UPS-A / A1")
    expect(a1.get_by_role("cell", name="54.20")).to_be_visible()
    changed = {"A1": string_metrics(12, voltage=55.5, null_cell=5), "A2": string_metrics(12, voltage=53.1)}
    site.apply(gateway_view("gw-north", changed))
    expect(a1.get_by_role("cell", name="55.50")).to_be_visible(timeout=15_000)  # refreshed by polling
    shoot(page, "aggregator-gateway")

    strings.get_by_role("link", name="UPS-A / A1").click()
    expect(page).to_have_url(re.compile(r"/gateways/gw-north/strings/UPS-A/A1/realtime$"))
    cells = page.get_by_role("table", name="Cells")
    expect(cells.get_by_role("row").filter(has_text="#005").get_by_role("cell").nth(1)).to_have_class(
        re.compile("value-implausible")
    )  # the gateway sent no voltage of cell 5
    shoot(page, "aggregator-string")

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Alarm").click()
    expect(page).to_have_url(re.compile(r"/gateways/gw-north/strings/UPS-A/A1/alarm$"))
    alarms = page.get_by_role("table", name="Alarms, newest first")
    expect(alarms.get_by_role("row")).to_have_count(3)  # the header and gw-north's two A1 alarms

    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="All gateways").click()
    expect(page).to_have_url(re.compile(r"/site/alarm$"))
    expect(alarms.get_by_role("row")).to_have_count(5)
    expect(alarms.get_by_role("row").nth(1)).to_contain_text("Gateway off-line")  # newest first
    page.get_by_label("Gateway").select_option("gw-south")
    page.get_by_label("Active only").check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/site/alarm\?gateway=gw-south&active=1$"))  # bookmarkable
    expect(alarms.get_by_role("row")).to_have_count(3)
    expect(alarms).not_to_contain_text("gw-north")
    shoot(page, "aggregator-alarms")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").nth(1).click()
    csv_file = tmp_path / "alarms.csv"
    download.value.save_as(csv_file)
    lines = csv_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Gateway,Raised,Cleared,State,Alarm,Where"
    assert len(lines) == 3 and all(line.startswith("gw-south,") for line in lines[1:])


def test_a_gateways_history_is_plotted_and_downloaded(aggregator, page, shoot, tmp_path):
    url, _ = aggregator
    log_in(page, url, "olga")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"/site/history$"))
    page.get_by_role("main").get_by_role("link", name="gw-north").click()  # the site's history is kept per gateway
    expect(page).to_have_url(re.compile(r"/gateways/gw-north/history$"))
    panel = page.locator("#history")
    expect(panel).to_have_attribute("data-state", "drawn", timeout=20_000)  # the UPSes' voltage, the last day
    expect(panel.locator("canvas")).to_have_count(1)
    expect(panel).to_have_attribute("data-series", "1")  # UPS-A
    expect(page.locator("#history-status")).to_contain_text("intervals in")
    with page.expect_response(lambda r: "/api/v1/gateways/gw-north/series?" in r.url) as answer:
        page.locator("#history-quantity").select_option(value="string:voltage")
    expect(panel).to_have_attribute("data-series", "2", timeout=20_000)  # A1 and A2
    assert answer.value.json()["points"]  # A1's hour
    expect(panel.locator(".u-legend")).to_contain_text("UPS-A / A2")
    shoot(page, "aggregator-history")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    csv_file = tmp_path / "history.csv"
    download.value.save_as(csv_file)
    lines = csv_file.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("time,UPS-A:A1 voltage min [V],UPS-A:A1 voltage avg [V],UPS-A:A1 voltage max [V],")
    assert len(lines) > 2


def test_a_gateways_discharge_events_are_listed_and_downloaded(aggregator, page, shoot, tmp_path):
    url, _ = aggregator
    log_in(page, url, "olga")
    page.get_by_role("navigation", name="Data center").get_by_role("link", name="gw-north").click()
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Discharge").click()
    expect(page).to_have_url(re.compile(r"/gateways/gw-north/discharge$"))
    events = page.get_by_role("table", name="Discharge events")
    a1 = events.get_by_role("row").filter(has_text="A1")
    expect(a1).to_have_count(1)
    expect(a1.get_by_role("cell", name="0:30:00")).to_be_visible()  # its duration
    expect(a1.get_by_role("cell", name="54.00", exact=True)).to_be_visible()  # its lowest string voltage
    shoot(page, "aggregator-discharge")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    csv_file = tmp_path / "discharges.csv"
    download.value.save_as(csv_file)
    lines = csv_file.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("gateway,ups,string,start,end,duration [s],")
    assert len(lines) == 2 and lines[1].startswith("gw-north,UPS-A,A1,") and ",1800.0," in lines[1]


def test_an_administrator_adds_a_user_in_the_settings(aggregator, page, shoot):
    url, _ = aggregator
    log_in(page, url, "root")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"/site/settings/users$"))
    page.get_by_label("User name").fill("maja")
    page.get_by_label("Role").select_option("operator")
    page.get_by_label("Initial password").fill("maja password 1")
    page.get_by_label("Password again").fill("maja password 1")
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_have_text("User added.")
    expect(page.get_by_role("row").filter(has_text="maja")).to_contain_text("operator")
    shoot(page, "aggregator-settings-users")
    page.get_by_role("button", name="Log out").click()
    log_in(page, url, "maja", "maja password 1")
