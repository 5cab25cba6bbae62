"""The Real-time pages and the kiosk over HTTP (the app in-process, no actor tree): what each level
shows, that a faulty or stale value is marked and never shown as a good number, and who may see
the kiosk."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from battery.codes import CellFault, Health
from tests.factories import make_status, ui_context
from tests.support import small_topology
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.users.book import User

CELLS = 6


def run(coro):
    return asyncio.run(coro)


def site(tmp_path: Path, kiosk_clients: tuple[str, ...] = ()):
    topology = small_topology(tmp_path, cells=CELLS)
    if kiosk_clients:
        web = replace(topology.services.web, kiosk_clients=kiosk_clients)
        topology = replace(topology, services=replace(topology.services, web=web))
    ui = ui_context(topology, tmp_path)
    app = create_app(ui, TokenVerifier(tmp_path))
    ui.users.add(User("ann", "viewer"), "a-long-password-1")
    return ui, app


def hot_cell_status(string_id: str = "U1S1", cell: int = 3):
    """A fresh scan in which `cell`'s temperature sensor reads 300.0 °C (flagged implausible)."""
    status = make_status(string_id, 1, time.time(), CELLS, ups_id="U1")
    faults = tuple(int(CellFault.TEMPERATURE_IMPLAUSIBLE) if i == cell - 1 else 0 for i in range(CELLS))
    return replace(
        status,
        cell_faults=faults,
        cell_health=tuple(int(Health.ERROR) if f else int(Health.OK) for f in faults),
        cell_temperature_dc=tuple(3000 if f else 251 for f in faults),
    )


async def get(app, ui, path: str, session: bool = True, address: str = "127.0.0.1"):
    headers = {}
    if session:
        session_id, _ = await ui.sessions.create("ann")
        headers["Cookie"] = f"btms_session={session_id}"
    async with app.test_app():
        response = await app.test_client().get(path, headers=headers, scope_base={"client": (address, 50000)})
        return response.status_code, response.headers, await response.get_data(as_text=True)


def test_string_page_marks_a_300_degree_reading_as_a_sensor_fault(tmp_path):
    ui, app = site(tmp_path)
    ui.view.site.apply_string(hot_cell_status(cell=3))
    status, _, page = run(get(app, ui, "/strings/U1S1/realtime"))
    assert status == 200
    assert "300.0" not in page and "300" not in page.split('id="realtime-model"')[0]
    row = page[page.index('<tr data-key="3">') : page.index('<tr data-key="4">')]
    assert "temperature sensor fault" in row  # the status column
    assert 'class="num value-fault"' in row and ">sensor fault<" in row
    good = page[page.index('<tr data-key="2">') : page.index('<tr data-key="3">')]
    assert ">25.1<" in good and "value-" not in good
    for header in ("Voltage (V)", "Resistance (mΩ)", "Temperature (°C)", "SOC (%)", "SOH (%)"):
        assert header in page


def test_a_string_without_present_data_shows_no_numbers(tmp_path):
    ui, app = site(tmp_path)
    ui.view.site.apply_string(make_status("U1S1", 1, time.time() - 3600, CELLS, ups_id="U1"))  # an hour old
    _, _, page = run(get(app, ui, "/strings/U1S1/realtime"))
    cells = page[page.index('data-table="children"') :]
    assert "13.5" not in cells  # no stale voltage shown as a reading
    assert cells.count("value-stale") >= CELLS * 5


def test_ups_and_site_pages_list_their_children_with_links(tmp_path):
    ui, app = site(tmp_path)
    ui.view.site.apply_string(make_status("U1S1", 1, time.time(), CELLS, ups_id="U1"))
    status, _, ups_page = run(get(app, ui, "/ups/U1/realtime"))
    assert status == 200
    assert 'href="/strings/U1S1/realtime"' in ups_page and 'href="/strings/U1S2/realtime"' in ups_page
    assert "Ambient (°C)" in ups_page
    status, _, site_page = run(get(app, ui, "/site/realtime"))
    assert status == 200 and 'href="/ups/U1/realtime"' in site_page
    assert run(get(app, ui, "/strings/NOPE/realtime"))[0] == 404


@pytest.mark.parametrize("path", ["/site/realtime", "/strings/U1S1/realtime"])
def test_pages_need_a_log_in(tmp_path, path):
    ui, app = site(tmp_path)
    status, headers, _ = run(get(app, ui, path, session=False))
    assert status == 303 and headers["Location"].startswith("/login?next=")


def test_kiosk_opens_without_log_in_only_for_listed_addresses(tmp_path):
    ui, app = site(tmp_path, kiosk_clients=("10.0.0.7",))
    ui.view.site.apply_string(hot_cell_status())
    status, _, page = run(get(app, ui, "/kiosk", session=False, address="10.0.0.7"))
    assert status == 200
    assert "String U1S1" in page and "SOC" in page and "Log out" not in page
    status, headers, _ = run(get(app, ui, "/kiosk", session=False, address="10.0.0.8"))
    assert status == 303 and headers["Location"] == "/login?next=/kiosk"
    assert run(get(app, ui, "/kiosk", session=True, address="10.0.0.8"))[0] == 200


def test_a_kiosk_address_gets_only_the_kiosk(tmp_path):
    ui, app = site(tmp_path, kiosk_clients=("10.0.0.7",))
    assert run(get(app, ui, "/site/realtime", session=False, address="10.0.0.7"))[0] == 303
    assert run(get(app, ui, "/live/site", session=False, address="10.0.0.7"))[0] == 401
    assert run(get(app, ui, "/api/v1/site", session=False, address="10.0.0.7"))[0] == 401
