"""The History and Discharge tabs in Chromium, against a running `btms run` with a year of history.

A person opens a year of a string's voltage (one bounded envelope per series, drawn in a few
seconds), zooms in by dragging, adds cells to the plot, opens a discharge event's string and
cell plots, and downloads what a plot shows; the file's rows are the API's numbers.
"""

from __future__ import annotations

import csv
import json
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.history_site import CELLS, ZONE, history_gateway, log_in

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]  # the first test writes a year of history

DAYS = 365
ONE_YEAR_S = 5.0  # the one-year plot is drawn within this, request and drawing included


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    with history_gateway(tmp_path_factory.mktemp("history-pages"), DAYS, step_s=3600) as running:
        yield running


def api(gateway, path: str) -> dict:
    request = urllib.request.Request(gateway.web_url + path, headers={"Authorization": f"Bearer {gateway.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def drawn(panel) -> None:
    expect(panel).to_have_attribute("data-state", "drawn", timeout=20_000)
    expect(panel.locator("canvas")).to_have_count(1)


def series_query(url: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def test_a_year_of_a_string_is_one_bounded_envelope_and_zooms(page, gateway, shoot) -> None:
    log_in(page, gateway, "/strings/A1/history")
    panel = page.locator("#history")
    drawn(panel)
    started = time.monotonic()
    with page.expect_response(lambda r: "/api/v1/series?" in r.url) as answer:
        page.get_by_role("button", name="1 year").click()
    expect(panel).to_have_attribute("data-state", "drawn", timeout=20_000)
    took = time.monotonic() - started
    points = answer.value.json()["points"]
    asked = series_query(answer.value.url)
    print(f"one year of A1 voltage: {len(points)} buckets, drawn {took:.2f} s after the click")
    assert 300 <= len(points) <= int(asked["points"][0]) <= 1000  # a year, as at most one bucket per pixel
    assert took <= ONE_YEAR_S
    year = datetime.fromisoformat(asked["to"][0]) - datetime.fromisoformat(asked["from"][0])
    assert abs(year - timedelta(days=365)) < timedelta(minutes=1)
    expect(page.get_by_role("status").first).to_contain_text("intervals in")
    shoot(page, "history-string-1-year")

    box = panel.locator(".u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    with page.expect_response(lambda r: "/api/v1/series?" in r.url) as zoomed:
        page.mouse.move(box["x"] + box["width"] * 0.6, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=5)
        page.mouse.up()
    expect(panel).to_have_attribute("data-state", "drawn", timeout=20_000)
    inner = series_query(zoomed.value.url)
    span = datetime.fromisoformat(inner["to"][0]) - datetime.fromisoformat(inner["from"][0])
    assert timedelta(days=20) < span < timedelta(days=60)  # a tenth of the year, at full resolution again
    assert datetime.fromisoformat(asked["from"][0]) < datetime.fromisoformat(inner["from"][0])
    assert len(zoomed.value.json()["points"]) > 300  # hourly scans: more buckets than the year had there
    shoot(page, "history-string-zoomed")
    with page.expect_response(lambda r: "/api/v1/series?" in r.url) as back:
        page.get_by_role("button", name="Zoom out").click()
    assert series_query(back.value.url)["from"] == asked["from"]


def test_choosing_cells_adds_their_series(page, gateway, shoot) -> None:
    log_in(page, gateway, "/strings/A1/history")
    panel = page.locator("#history")
    drawn(panel)
    page.get_by_label("Quantity").select_option(label="Cell voltage (V)")
    expect(page.get_by_role("group", name="Cells")).to_be_visible()
    expect(panel).to_have_attribute("data-series", "1")
    page.get_by_role("button", name="1 week").click()
    drawn(panel)
    page.get_by_label("Cell 3").check()
    page.get_by_label(f"Cell {CELLS}").check()
    expect(panel).to_have_attribute("data-series", "3", timeout=20_000)
    expect(panel.locator(".u-legend")).to_contain_text(f"Cell {CELLS}")
    shoot(page, "history-cells-1-week")


def test_the_site_plots_each_ups_and_a_ups_each_string(page, gateway) -> None:
    log_in(page, gateway, "/site/history")
    panel = page.locator("#history")
    drawn(panel)
    expect(page.get_by_label("Quantity")).to_have_value("ups:voltage")
    expect(panel).to_have_attribute("data-series", "2")
    expect(panel.locator(".u-legend")).to_contain_text("UPS B")
    page.get_by_role("navigation", name="Data center").get_by_role("link", name="UPS B").click()
    expect(page).to_have_url(f"{gateway.web_url}/ups/UPS-B/history")
    drawn(panel)
    expect(page.get_by_label("Quantity")).to_have_value("string:voltage")
    expect(panel).to_have_attribute("data-series", "2")
    expect(panel.locator(".u-legend")).to_contain_text("String B2")
    # The page's own rule for gaps: a step of more than 2.5 usual steps between intervals is not joined.
    columns = page.evaluate(
        """btms.plots.envelopeColumns([[0, 60, 120, 180, 900, 960].map(
             (t) => [new Date(t * 1000).toISOString(), 1, 2, 3])])"""
    )
    assert columns[0] == [0, 60, 120, 180, 240, 900, 960]
    assert columns[2] == [2, 2, 2, 2, None, 2, 2]


def test_a_downloaded_plot_holds_the_apis_numbers(page, gateway) -> None:
    log_in(page, gateway, "/strings/A1/history")
    panel = page.locator("#history")
    drawn(panel)
    page.get_by_label("Quantity").select_option(label="String current (A)")
    now = datetime.now(UTC)
    page.get_by_label("From").fill(_wall(now - timedelta(days=40)))
    page.get_by_label("To").fill(_wall(now - timedelta(days=30)))
    page.get_by_role("button", name="Show range").click()
    expect(panel).to_have_attribute("data-state", "drawn", timeout=20_000)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    with open(download.value.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    shown = series_query(page.get_by_role("link", name="Download CSV").get_attribute("href"))
    assert shown["id"] == ["A1"] and shown["quantity"] == ["current"]
    query = urllib.parse.urlencode({k: v[0] for k, v in shown.items()})
    answer = api(gateway, f"/api/v1/series?{query}")
    assert rows[0] == ["time", "A1 current min [A]", "A1 current avg [A]", "A1 current max [A]"]
    assert len(rows) - 1 == len(answer["points"]) > 200
    for row, (t, lo, avg, hi) in zip(rows[1:], answer["points"]):
        assert datetime.fromisoformat(row[0]) == datetime.fromisoformat(t)
        assert row[0][-6:] in ("+01:00", "+02:00")
        assert [float(v) for v in row[1:]] == [lo, avg, hi]
    # The range the person typed is a wall time of the site's zone.
    assert datetime.fromisoformat(shown["from"][0]).astimezone(_zone()).strftime("%Y-%m-%dT%H:%M") == _wall(
        now - timedelta(days=40)
    )


def test_a_discharge_events_plots_open_and_download(page, gateway, shoot) -> None:
    log_in(page, gateway, "/site/discharge")
    table = page.get_by_role("table", name="Discharge events")
    expect(table.locator("tbody tr")).to_have_count(2)
    events = api(gateway, "/api/v1/discharges")["discharges"]
    first = table.locator("tbody tr").first
    expect(first).to_contain_text("B1")
    expect(first).to_contain_text(f"{events[0]['ah']:.2f}")
    shoot(page, "discharge-table")

    page.get_by_role("button", name="String time plot of event", exact=False).first.click()
    panel = page.locator("#discharge-plot")
    drawn(panel)
    expect(panel.get_by_role("heading")).to_contain_text("String B1")
    panel.get_by_label("Quantity").select_option(label="String SOC (%)")
    drawn(panel)
    shoot(page, "discharge-string-plot")
    with page.expect_download() as download:
        panel.get_by_role("link", name="Download CSV").click()
    with open(download.value.path(), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    points = api(gateway, f"/api/v1/discharges/{events[0]['id']}/series?quantity=soc")["points"]
    assert [[float(v) for v in row[1:]] for row in rows[1:]] == [p[1:] for p in points]

    page.get_by_role("button", name="Cell time plot of event", exact=False).first.click()
    drawn(panel)
    expect(panel).to_have_attribute("data-series", "1")
    panel.get_by_label("Cell 2").check()
    expect(panel).to_have_attribute("data-series", "2", timeout=20_000)
    shoot(page, "discharge-cell-plot")
    with page.expect_download() as download:
        panel.get_by_role("link", name="Download CSV").click()
    header = download.value.path().read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("time,cell 1 voltage min [V]") and "cell 2 voltage max [V]" in header


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(ZONE)


def _wall(t: datetime) -> str:
    """A datetime-local input's value: `t` as a wall time in the site's zone."""
    return t.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M")


def test_the_tabs_fit_a_tablet(tablet_page, gateway, shoot) -> None:
    log_in(tablet_page, gateway, "/strings/A2/history")
    drawn(tablet_page.locator("#history"))
    assert tablet_page.evaluate("document.scrollingElement.scrollWidth") <= 1024  # nothing to scroll sideways
    shoot(tablet_page, "history-tablet")
    tablet_page.goto(f"{gateway.web_url}/ups/UPS-A/discharge")
    tablet_page.get_by_role("button", name="Cell time plot of event", exact=False).first.tap()
    drawn(tablet_page.locator("#discharge-plot"))
    assert tablet_page.evaluate("document.scrollingElement.scrollWidth") <= 1024
    shoot(tablet_page, "discharge-tablet")
