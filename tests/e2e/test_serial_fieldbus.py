"""End to end: `btms sim` serves the site as Modbus RTU slaves on pseudo-terminals and
`btms run` polls it through its real serial code, as on a site with an RS-485 adapter.

Every check goes through what a user has: the JSON API, settings.db, the simulator's fault
control channel and the `btms discover` / `btms check` commands.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from battery.alarms.kinds import AlarmKind
from sim.string_model import STRING_VOLTAGE_NOISE_CV, VOLTAGE_NOISE_MV
from tests.e2e_support import (
    SimulatorProcess,
    cli,
    running_gateway,
    running_simulator,
    stored_alarms,
    write_serial_topology,
)
from tests.gateway_process import GatewayProcess
from tests.support import wait_for

pytestmark = pytest.mark.integration

CELLS = 8
SCAN_PERIOD_S = 0.5


@dataclass
class SerialSite:
    sim: SimulatorProcess
    gateway: GatewayProcess
    data: dict
    settings_db: Path
    serving_after_s: float


@contextmanager
def serial_site(tmp_path: Path, string_overrides: dict[str, dict] | None = None) -> Iterator[SerialSite]:
    """Simulator on ptys, then the gateway on the pty of each bus; both stopped at the end."""
    topology, data, run_dir = write_serial_topology(tmp_path, CELLS, SCAN_PERIOD_S, string_overrides)
    with running_simulator(tmp_path, topology, data, run_dir) as sim:
        started = time.monotonic()
        with running_gateway(tmp_path, topology, data, serving_within_s=15) as gateway:
            yield SerialSite(sim, gateway, data, tmp_path / "var" / "settings.db", time.monotonic() - started)


def _string_with_its_cells(gateway: GatewayProcess, string_id: str) -> tuple[dict, dict] | None:
    """The string and its cells from the same scan (the two requests may straddle a new scan)."""
    code, string = gateway.get(f"/api/v1/strings/{string_id}")
    code_cells, cells = gateway.get(f"/api/v1/strings/{string_id}/cells")
    if code != 200 or code_cells != 200 or string["stale"] or string["timestamp"] != cells["timestamp"]:
        return None
    return string, cells


def _voltage_tolerance_v(cells: int) -> float:
    """What separates the string master's own voltage reading from the sum of its cells.

    Both are measured: the string voltage with its sensor's noise and 0.01 V resolution, each
    cell with its sensor's noise and 1 mV resolution. Four standard deviations of each noise
    (the simulator's published figures) plus half a resolution step each.
    """
    noise = 4 * (STRING_VOLTAGE_NOISE_CV / 100 + cells * VOLTAGE_NOISE_MV / 1000)
    rounding = 0.005 + cells * 0.0005
    return noise + rounding


def test_api_serves_fresh_values_of_every_string_read_over_the_serial_line(tmp_path):
    with serial_site(tmp_path) as site:
        assert site.serving_after_s < 15
        _, body = site.gateway.get("/api/v1/site")
        assert [s["id"] for s in body["strings"]] == ["A1", "A2", "B1", "B2"]
        status = site.sim.control("status")
        bus = status["buses"]["sim"]
        assert bus["answered"] > 0 and bus["requests"] >= bus["answered"]  # the values did cross the pty
        for string_id in ("A1", "A2", "B1", "B2"):
            string, cells = wait_for(lambda sid=string_id: _string_with_its_cells(site.gateway, sid), timeout=5,
                                     what=f"string {string_id} and its cells from the same scan")  # fmt: skip
            assert len(cells["cells"]) == CELLS
            cell_sum = sum(c["voltage_v"] for c in cells["cells"])
            assert string["voltage_v"] == pytest.approx(cell_sum, abs=_voltage_tolerance_v(CELLS)), string_id
            assert all(12.0 < c["voltage_v"] < 15.6 and not c["stale"] for c in cells["cells"])


def test_device_taken_off_line_turns_stale_raises_communication_lost_and_recovers(tmp_path):
    with serial_site(tmp_path, {"A2": {"alarm_off_delay_s": 1}}) as site:
        gateway = site.gateway
        site.sim.control("inject", string="A2", fault="offline")
        off_at = time.monotonic()

        def stale():
            code, body = gateway.get("/api/v1/strings/A2")
            return code == 200 and body["stale"] and body

        body = wait_for(stale, timeout=12 * SCAN_PERIOD_S, what="string A2 to turn stale in the API")
        assert body["voltage_v"] is None and body["current_a"] is None and body["soc_pct"] is None
        _, cells = gateway.get("/api/v1/strings/A2/cells")
        assert cells["stale"] is True and all(c["voltage_v"] is None for c in cells["cells"])
        _, other = gateway.get("/api/v1/strings/A1")
        assert other["stale"] is False  # one silent device does not blind the bus

        lost = AlarmKind.COMMUNICATION_LOST.value

        def alarm_open():
            rows = [a for a in stored_alarms(site.settings_db) if a["kind"] == lost and a["string_id"] == "A2"]
            return [a for a in rows if a["to_time"] is None]

        wait_for(alarm_open, timeout=20, interval=0.2, what="a 'communication lost' alarm of A2 in settings.db")
        assert time.monotonic() - off_at < 20

        site.sim.control("clear", string="A2")

        def fresh():
            code, body = gateway.get("/api/v1/strings/A2")
            return code == 200 and not body["stale"] and body["voltage_v"] is not None and body

        back = wait_for(fresh, timeout=12 * SCAN_PERIOD_S, what="string A2 to be fresh again")
        assert 12.0 * CELLS < back["voltage_v"] < 15.6 * CELLS
        wait_for(lambda: not alarm_open(), timeout=15, interval=0.2, what="the 'communication lost' alarm to end")


def _output_on(status: dict, module_id: str, output: int) -> bool:
    """Whether the simulator's status says relay `output` (1..8) of BM-LC `module_id` is energised."""
    modules = status.get("io_modules")
    assert modules is not None, f"the simulator's status does not report its IO modules: {status}"
    return bool(modules[module_id]["outputs"][output - 1])


def test_cell_fault_opens_the_string_breaker_over_the_serial_line(tmp_path):
    overrides = {"A1": {"cell_voltage_high_v": 13.95, "alarm_on_delay_s": 1}}
    with serial_site(tmp_path, overrides) as site:
        gateway = site.gateway
        site.sim.control("inject", string="A1", fault="drifting_sensor",
                         args={"cell": 3, "quantity": "voltage", "counts_per_hour": 720_000})  # fmt: skip
        injected = time.monotonic()

        def relay_open():
            code, body = gateway.get("/api/v1/strings/A1")
            return code == 200 and body["relay_closed"] is False and body

        wait_for(relay_open, timeout=20, what="string A1's breaker to open")
        assert time.monotonic() - injected < 15
        with sqlite3.connect(site.settings_db) as db:
            kinds = {(k, s, c) for k, s, c in db.execute("SELECT kind, string_id, cell_index FROM alarms")}
        assert (AlarmKind.CELL_VOLTAGE_HIGH.value, "A1", 3) in kinds
        for other in ("A2", "B1", "B2"):
            assert gateway.get(f"/api/v1/strings/{other}")[1]["relay_closed"] is True
        # The breaker opened because the gateway wrote the BM-LC coil over the line (output 1 = A1).
        status = site.sim.control("status")
        assert _output_on(status, "lc1", 1) is True
        assert _output_on(status, "lc1", 2) is False


def test_discover_prints_a_draft_topology_that_check_accepts(tmp_path):
    topology, data, run_dir = write_serial_topology(tmp_path, CELLS, SCAN_PERIOD_S)
    with running_simulator(tmp_path, topology, data, run_dir):
        pty = data["buses"][0]["port"]
        found = cli("discover", "--port", pty, "--addresses", "1-4,100-101", "--baudrates", "115200", timeout=50)
    assert found.returncode == 0, found.stderr
    draft = tmp_path / "draft.yaml"
    draft.write_text(found.stdout)
    checked = cli("check", str(draft))
    assert checked.returncode == 0, f"btms check refused the draft:\n{checked.stderr}\n--- draft ---\n{found.stdout}"
    assert "4 strings" in checked.stdout
    described = yaml.safe_load(found.stdout)
    strings = [s for u in described["upses"] for s in u["strings"]]
    assert sorted(s["address"] for s in strings) == [1, 2, 3, 4]
    assert all(s["battery"]["count"] == CELLS for s in strings)
    assert described["master_controller"]["address"] == 100
    assert [m["address"] for m in described["master_controller"]["io_modules"]] == [101]
