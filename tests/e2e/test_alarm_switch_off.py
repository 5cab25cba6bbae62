"""A failing battery switches its string off, end to end through the real multiprocTCPBase tree.

Simulator fault (a cell voltage sensor drifting up) -> FieldBus -> StringMaster -> CellSensor
raises "cell voltage high" after its on-delay -> UPS -> Gateway -> AlarmManager stores it and
commands the switch-off -> Gateway -> MasterController -> FieldBus writes the BM-LC output ->
the simulated breaker opens and the API reports the string's relay open.
A leak detector on a digital input raises its alarm and sounds the siren the same way.
An open cell raises "Sensor fault", never "Resistance high" with the sensor's over-range 65535.
"""

from __future__ import annotations

import signal
import sqlite3
import time

import pytest

from actors.messages.service import InjectSimFault, SetSimInput
from sim.faults import DriftingSensor, OpenCell
from tests.gateway_process import (
    GatewayProcess,
    gateway_actor,
    kill_all,
    wait_serving,
    write_demo_topology,
)
from tests.support import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(tmp_path):
    topology, data = write_demo_topology(tmp_path, cells=8, scan_period_s=0.5)
    data["upses"][0]["strings"][0]["alarm_overrides"] = {"cell_voltage_high_v": 13.95, "alarm_on_delay_s": 1}
    import yaml

    topology.write_text(yaml.safe_dump(data, sort_keys=False))
    process = GatewayProcess.start(tmp_path, topology, data)
    try:
        wait_serving(process, timeout=15)
        yield process
    finally:
        pids = process.actor_pids()
        process.stop(signal.SIGTERM)
        kill_all(pids)


def _alarms(settings_db) -> list[tuple]:
    with sqlite3.connect(settings_db) as db:
        return list(db.execute("SELECT kind, string_id, cell_index, to_time, detail FROM alarms ORDER BY id"))


def _actions(settings_db) -> list[tuple]:
    with sqlite3.connect(settings_db) as db:
        return list(db.execute("SELECT action, string_id FROM alarm_actions ORDER BY id"))


def test_cell_voltage_high_switches_its_string_off(gateway, tmp_path):
    settings_db = tmp_path / "var" / "settings.db"
    asys, gw = gateway_actor(gateway.admin_port)
    asys.tell(gw, InjectSimFault("A1", DriftingSensor(cell=3, quantity="voltage", counts_per_hour=720_000)))
    injected = time.monotonic()

    def relay_open():
        code, body = gateway.get("/api/v1/strings/A1")
        return code == 200 and body["relay_closed"] is False and body

    wait_for(relay_open, timeout=20, what="string A1's breaker to open")
    opened_after = time.monotonic() - injected
    alarms = _alarms(settings_db)
    assert ("cell_voltage_high", "A1", 3, None, "") in alarms
    assert any(a[0] == "switch_off" or "off" in a[0] for a in _actions(settings_db) if a[1] == "A1"), _actions(
        settings_db
    )
    for other in ("A2", "B1", "B2"):
        assert gateway.get(f"/api/v1/strings/{other}")[1]["relay_closed"] is True
    assert opened_after < 15


def test_leak_detector_raises_its_alarm(gateway, tmp_path):
    settings_db = tmp_path / "var" / "settings.db"
    asys, gw = gateway_actor(gateway.admin_port)
    asys.tell(gw, SetSimInput("leakage", True))
    wait_for(
        lambda: any(a[0] == "digital_input" and a[4] == "leakage" and a[3] is None for a in _alarms(settings_db)),
        timeout=15,
        what="the leakage alarm to be stored",
    )
    asys.tell(gw, SetSimInput("leakage", False))
    wait_for(
        lambda: any(a[0] == "digital_input" and a[4] == "leakage" and a[3] is not None for a in _alarms(settings_db)),
        timeout=15,
        what="the leakage alarm to be gone",
    )


def test_an_open_cell_raises_sensor_fault_not_resistance_high_with_a_sentinel(gateway, tmp_path):
    settings_db = tmp_path / "var" / "settings.db"
    asys, gw = gateway_actor(gateway.admin_port)
    asys.tell(gw, InjectSimFault("A1", OpenCell(cell=5)))  # A1's limits act after 1 s, its sensor fault after 10 s

    def cell_5_alarms():
        return {a[0] for a in _alarms(settings_db) if a[1] == "A1" and a[2] == 5}

    kinds = wait_for(
        lambda: "sensor_fault" in (k := cell_5_alarms()) and k,
        timeout=30,
        what="a 'sensor fault' alarm of A1's open cell 5",
    )
    assert "cell_resistance_high" not in kinds, kinds
    assert "cell_voltage_low" in kinds  # ~0 V is a real reading of an open cell
    code, cells = gateway.get("/api/v1/strings/A1/cells")
    assert code == 200 and cells["cells"][4]["resistance_mohm"] is None, cells["cells"][4]
