"""Alarms never depend on the disk, end to end: `btms sim` + `btms run` with storage on an 8 MiB tmpfs.

The disk is filled with a file. "Storage space low" is raised (the historian's free-space check
does not need a commit to succeed) and the alarm store gives up its space reserve to write it.
With the disk filled again and no reserve left, a cell goes over its limit: the alarm is in the
API, Modbus counts it, the siren sounds and the string's breaker opens, though settings.db has
no row for it. When the disk is freed the row is written, the reserve is made again and
"Storage space low" clears.
"""

from __future__ import annotations

import urllib.request

import pytest

from tests.e2e_support import (
    mbpoll,
    running_gateway,
    running_simulator,
    save_topology,
    stored_alarms,
    write_serial_topology,
)
from tests.support import fill_disk, free_port, small_disk, wait_for

pytestmark = pytest.mark.integration

CELLS = 8
GATEWAY_UNIT = 100
ALARM_ACTIVE_COUNT = 6  # gateway register (docs/modbus.md)
SIREN_OUTPUT, A1_BREAKER_OUTPUT = 8, 1  # lc1's outputs in the demo topology


@pytest.fixture
def site(tmp_path):
    with small_disk(tmp_path / "var", "8m") as storage:
        overrides = {"A1": {"cell_voltage_high_v": 13.95, "alarm_on_delay_s": 1}}
        topology, data, run_dir = write_serial_topology(tmp_path, CELLS, 0.5, overrides)
        data["storage"].update(min_free_mb=2, alarm_reserve_mb=1, commit_interval_s=1)
        data["services"]["modbus"].update(enabled=True, host="127.0.0.1", port=free_port())
        save_topology(topology, data)
        with (
            running_simulator(tmp_path, topology, data, run_dir) as sim,
            running_gateway(tmp_path, topology, data, serving_within_s=20) as gateway,
        ):
            yield sim, gateway, storage


def _active(gateway) -> dict[tuple, dict]:
    code, body = gateway.get("/api/v1/alarms?active=1&limit=1000")
    assert code == 200, body
    return {(a["kind"], a["string_id"], a["cell"]): a for a in body["alarms"]}


def _output_on(sim, output: int) -> bool:
    return bool(sim.control("status")["io_modules"]["lc1"]["outputs"][output - 1])


def _stored(storage, kind: str, string_id=None, cell=None) -> list[dict]:
    return [
        a
        for a in stored_alarms(storage / "settings.db")
        if a["kind"] == kind and a["string_id"] == string_id and a["cell_index"] == cell
    ]


def test_an_alarm_raised_on_a_full_disk_is_served_sounds_the_siren_and_is_stored_later(site):
    sim, gateway, storage = site
    reserve = storage / "alarm-reserve.bin"
    wait_for(reserve.exists, timeout=10, what="the alarm store's space reserve")
    storage_low = ("storage_space_low", None, None)
    cell_high = ("cell_voltage_high", "A1", 3)

    fillers = [fill_disk(storage, "filler-1.bin")]
    low = wait_for(lambda: _active(gateway).get(storage_low), timeout=20, what="'Storage space low' in the API")
    wait_for(lambda: not reserve.exists(), timeout=10, what="the reserve given up to store that alarm")
    fillers.append(fill_disk(storage, "filler-2.bin"))  # the reserve's space is gone too: nothing is left
    gateway_post(gateway, f"/api/v1/alarms/{low['id']}/acknowledge")
    wait_for(lambda: not _output_on(sim, SIREN_OUTPUT), timeout=10, what="the siren to stop after the acknowledgement")

    sim.control("inject", string="A1", fault="drifting_sensor",
                args={"cell": 3, "quantity": "voltage", "counts_per_hour": 720_000})  # fmt: skip
    alarm = wait_for(lambda: _active(gateway).get(cell_high), timeout=20, what="cell 3's alarm in the API")
    assert alarm["status"] == "active" and alarm["acknowledged_by"] is None
    wait_for(lambda: _output_on(sim, SIREN_OUTPUT), timeout=10, what="the siren for cell 3's alarm")
    wait_for(lambda: _output_on(sim, A1_BREAKER_OUTPUT), timeout=10, what="A1's breaker to open")
    port = int(gateway.data["services"]["modbus"]["port"])
    wait_for(lambda: mbpoll(port, GATEWAY_UNIT, ALARM_ACTIVE_COUNT, 1).registers.get(ALARM_ACTIVE_COUNT) == 2,
             timeout=10, what="Modbus to count both active alarms")  # fmt: skip
    assert _stored(storage, *cell_high) == []  # the disk is full: the alarm lives in memory only
    assert (storage / "filler-2.bin").exists()

    for filler in fillers:
        filler.unlink()
    row = wait_for(lambda: _stored(storage, *cell_high), timeout=20, what="cell 3's alarm written to settings.db")
    assert row[0]["id"] == alarm["id"] and row[0]["to_time"] is None
    wait_for(reserve.exists, timeout=20, what="the space reserve made again")
    wait_for(lambda: storage_low not in _active(gateway), timeout=20, what="'Storage space low' to clear")
    stored_low = _stored(storage, *storage_low)
    assert [(a["ack_by"] is not None, a["to_time"] is not None) for a in stored_low] == [(True, True)]


def gateway_post(gateway, path: str) -> None:
    request = urllib.request.Request(gateway.web_url + path, method="POST", data=b"")
    request.add_header("Authorization", f"Bearer {gateway.token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202, response.read()
