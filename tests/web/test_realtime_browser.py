"""The Real-time pages and the kiosk in Debian's Chromium against a real `btms run` on its simulator:
a person logs in, walks the tree to a string, watches a value change when the simulator changes it,
sees a 300 °C sensor reading marked as a sensor fault, pages, sorts and downloads the table, and
reads the kiosk without logging in from a listed address."""

from __future__ import annotations

import csv
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from actors.messages.service import InjectSimFault
from sim.faults import DriftingSensor, ImplausibleValue
from tests.e2e_support import save_topology
from tests.gateway_process import GatewayProcess, gateway_actor, kill_all, wait_serving, write_demo_topology
from tests.support import wait_for

pytestmark = pytest.mark.integration

CELLS = 12
USER, PASSWORD = "olga", "olga-password-1"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("realtime")
    topology, data = write_demo_topology(tmp, cells=CELLS, scan_period_s=0.5)
    data["services"]["web"]["kiosk_clients"] = ["127.0.0.1"]
    save_topology(topology, data)
    added = subprocess.run(
        [*btms_command(), "user", "add", USER, "--admin", "--topology", str(topology)],
        input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    gateway = GatewayProcess.start(tmp, topology, data)
    pids: set[int] = set()
    try:
        wait_serving(gateway, timeout=30)
        pids = gateway.actor_pids()
        yield gateway
    finally:
        pids |= gateway.actor_pids()
        gateway.stop(signal.SIGTERM)
        kill_all(pids)


def btms_command() -> list[str]:
    import sys

    return [sys.executable, "-m", "btms.cli"]


def log_in(page: Page, gateway: GatewayProcess) -> None:
    page.goto(gateway.web_url + "/")
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Demo data center")


def inject(gateway: GatewayProcess, string_id: str, fault) -> None:
    asys, gw = gateway_actor(gateway.admin_port)
    asys.tell(gw, InjectSimFault(string_id, fault))


def cell_row(page: Page, cell: int):
    return page.locator(f'table[data-table="children"] tbody tr[data-key="{cell}"]')


def test_walk_the_tree_and_watch_a_value_change_live(page: Page, gateway, shoot):
    log_in(page, gateway)
    expect(page.locator(".live-status")).to_have_text("Live")
    expect(page.get_by_role("link", name="UPS A").first).to_be_visible()
    shoot(page, "realtime-site")
    page.locator("nav.tree").get_by_role("link", name="UPS A").click()
    expect(page.get_by_role("link", name="String A1").first).to_be_visible()
    expect(page.locator(".live-status")).to_have_text("Live")
    shoot(page, "realtime-ups")
    page.locator("nav.tree").get_by_role("link", name="String A1").click()
    expect(page.get_by_role("heading", level=3, name="Cells")).to_be_visible()
    expect(page.locator(".live-status")).to_have_text("Live")
    page.evaluate("window.notReloaded = true")
    voltage = cell_row(page, 2).locator("td").nth(1)
    before = float(voltage.text_content())
    inject(gateway, "A1", DriftingSensor(cell=2, quantity="voltage", counts_per_hour=3_600_000))  # +1 V/s
    wait_for(lambda: float(voltage.text_content()) > before + 1.5, timeout=20, what="cell 2's voltage to rise")
    assert page.evaluate("window.notReloaded") is True  # updated in place, not by reloading
    shoot(page, "realtime-string")


def test_a_300_degree_reading_shows_as_a_sensor_fault(page: Page, gateway, shoot, tmp_path):
    inject(gateway, "A2", ImplausibleValue(cell=3))  # 300.0 °C, as in the manual
    log_in(page, gateway)
    page.goto(gateway.web_url + "/strings/A2/realtime")
    temperature = cell_row(page, 3).locator("td").nth(3)
    expect(temperature).to_have_text("sensor fault", timeout=15_000)
    expect(temperature).to_have_class(re.compile(r"\bvalue-fault\b"))
    assert "outside" in temperature.get_attribute("title")
    expect(cell_row(page, 3).locator("td").first).to_contain_text("temperature sensor fault")
    expect(page.locator("table").filter(has_text="300.0")).to_have_count(0)
    page.get_by_role("combobox", name=re.compile("^Parameter")).select_option("temperature")
    expect(page.locator(".plot-note")).to_contain_text("#003 sensor fault")
    expect(page.locator(".plot-note")).to_have_class(re.compile(r"\bvalue-stale\b"))
    shoot(page, "realtime-string-sensor-fault")

    with page.expect_download() as download:
        page.locator('[data-download="table"]').click()
    rows = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["Cell", "Status", "Voltage (V)", "Resistance (mOhm)", "Temperature (degC)", "SOC (%)", "SOH (%)"]
    assert len(rows) == CELLS + 1
    assert rows[3][0] == "#003" and rows[3][4] == "sensor fault"
    assert all(re.fullmatch(r"\d+\.\d", r[4]) for r in rows[1:] if r[0] != "#003")

    with page.expect_download() as download:
        page.locator('[data-download="plot"]').click()
    bars = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8").splitlines()))
    assert bars[0] == ["Cell", "Temperature (degC)", "High limit (degC)"]
    assert bars[3][:2] == ["#003", "sensor fault"] and len(bars) == CELLS + 1


def test_show_n_entries_pages_and_sorting(page: Page, gateway):
    log_in(page, gateway)
    page.goto(gateway.web_url + "/strings/B1/realtime")
    page.get_by_role("combobox", name=re.compile("^Show")).select_option("10")
    expect(page.locator(".showing")).to_have_text(f"Showing 1 to 10 of {CELLS} entries")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".showing")).to_have_text(f"Showing 11 to {CELLS} of {CELLS} entries")
    expect(page.locator('table[data-table="children"] tbody tr')).to_have_count(CELLS - 10)
    page.get_by_role("combobox", name=re.compile("^Show")).select_option("0")
    header = page.get_by_role("button", name="Resistance (mΩ)")
    header.click()
    header.click()
    expect(page.locator('table[data-table="children"] th[aria-sort="descending"]')).to_have_text("Resistance (mΩ)")
    values = [
        float(t) for t in page.locator('table[data-table="children"] tbody tr td:nth-of-type(3)').all_text_contents()
    ]
    assert len(values) == CELLS and values == sorted(values, reverse=True)


def test_kiosk_without_log_in_from_a_listed_address(page: Page, gateway, shoot):
    page.goto(gateway.web_url + "/kiosk")
    expect(page).to_have_url(gateway.web_url + "/kiosk")  # no log-in: 127.0.0.1 is listed
    expect(page.locator(".live-status")).to_have_text("Live")
    expect(page.locator(".kiosk-string")).to_have_count(4)
    expect(page.locator('.kiosk-string[data-string="A1"] .kiosk-soc')).to_contain_text("SOC")
    shoot(page, "kiosk")
    page.goto(gateway.web_url + "/site/realtime")
    expect(page).to_have_url(re.compile(r"/login\?next=/site/realtime$"))  # only the kiosk is open


def test_sigterm_ends_the_gateway_promptly_with_streams_open(tmp_path):
    import socket
    import time

    topology, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.5)
    gateway = GatewayProcess.start(tmp_path, topology, data)
    pids: set[int] = set()
    streams = []
    try:
        wait_serving(gateway, timeout=30)
        pids = gateway.actor_pids()
        port = data["services"]["web"]["port"]
        for path in ("/live/site", "/live/ups/UPS-A", "/live/strings/A1"):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gateway.token}\r\n\r\n".encode())
            assert b"event: model" in s.recv(65536) or b"event: model" in s.recv(65536)
            streams.append(s)
        started = time.monotonic()
        gateway.process.send_signal(signal.SIGTERM)
        gateway.process.wait(10)
        assert time.monotonic() - started < 5.0, "btms run took 5 s or more to stop with live streams open"
    finally:
        for s in streams:
            s.close()
        pids |= gateway.actor_pids()
        gateway.stop(signal.SIGKILL)
        kill_all(pids)
