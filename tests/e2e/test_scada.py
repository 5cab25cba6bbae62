"""End to end: SCADA and NMS clients against a running `btms run` (sim:// bus).

mbpoll (libmodbus) reads the Modbus TCP map and net-snmp's tools read the SNMP agent; every
value is compared with what the JSON API serves for the same scan, scaled as docs/modbus.md
and the MIB say. snmptrapd receives the notification of an alarm raised by a simulator fault.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from actors.messages.service import InjectSimFault
from protocols.scada import snmp_oids as so
from sim.faults import DriftingSensor
from tests.e2e_support import (
    int16,
    int32,
    mbpoll,
    net_snmp,
    running_gateway,
    save_topology,
    snmptrapd,
    uint32,
)
from tests.gateway_process import GatewayProcess, gateway_actor, write_demo_topology
from tests.support import free_port, free_udp_port, wait_for

pytestmark = pytest.mark.integration

CELLS = 4
SCAN_PERIOD_S = 1.0
COMMUNITY = "e2e-nms-reads"  # our own: the loader refuses well-known ones like "public"
ENT = ".".join(map(str, so.ENTERPRISE))
RAISED = ".".join(map(str, so.ALARM_RAISED))
STRING_UNIT_A1 = 101  # 100 + string index (docs/modbus.md)
UPS_UNIT_A = 1


def _scada_topology(tmp_path: Path, trap_port: int | None = None) -> tuple[Path, dict]:
    topology, data = write_demo_topology(tmp_path, cells=CELLS, scan_period_s=SCAN_PERIOD_S)
    data["services"]["modbus"].update({"enabled": True, "host": "127.0.0.1", "port": free_port()})
    data["services"]["snmp"] = {
        "enabled": True, "host": "127.0.0.1", "port": free_udp_port(), "read_community": COMMUNITY,
        "trap_receivers": [f"127.0.0.1:{trap_port}"] if trap_port else [],
    }  # fmt: skip
    if trap_port:
        data["upses"][0]["strings"][0]["alarm_overrides"] = {"cell_voltage_high_v": 13.95, "alarm_on_delay_s": 1}
    save_topology(topology, data)
    return topology, data


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[GatewayProcess]:
    topology, data = _scada_topology(tmp_path)
    with running_gateway(tmp_path, topology, data) as process:
        yield process


def _modbus_port(gateway: GatewayProcess) -> int:
    return int(gateway.data["services"]["modbus"]["port"])


def _snmp_port(gateway: GatewayProcess) -> int:
    return int(gateway.data["services"]["snmp"]["port"])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _string_same_scan(gateway: GatewayProcess) -> tuple[dict, dict, dict[int, int], list[dict[int, int]]] | None:
    """String A1 and its cells through the API and through Modbus, all from one scan, or None.

    The scan counter (string unit, address 18) is read before and after the cell registers;
    the API's scan_no before and after its cells: all four must name the same scan.
    """
    port = _modbus_port(gateway)
    _, api_string = gateway.get("/api/v1/strings/A1")
    _, api_cells = gateway.get("/api/v1/strings/A1/cells")
    head = mbpoll(port, STRING_UNIT_A1, 0, 22)
    cells = [mbpoll(port, STRING_UNIT_A1, 100 * n, 9) for n in range(1, CELLS + 1)]
    tail = mbpoll(port, STRING_UNIT_A1, 0, 22)
    _, api_again = gateway.get("/api/v1/strings/A1")
    for read in (head, tail, *cells):
        assert read.returncode == 0, f"mbpoll failed: {read.stdout}{read.stderr}"
    scan = api_string.get("scan_no")
    same = (
        scan is not None
        and api_again.get("scan_no") == scan
        and api_cells["timestamp"] == api_string["timestamp"]
        and head.registers[18] == tail.registers[18] == scan & 0xFFFF
    )
    return (api_string, api_cells, head.registers, [c.registers for c in cells]) if same else None


def test_mbpoll_reads_ups_string_and_cells_equal_to_the_api(gateway):
    api_string, api_cells, s, cells = wait_for(
        lambda: _string_same_scan(gateway), timeout=20, interval=0.1,
        what="mbpoll and the API to read string A1 from the same scan",
    )  # fmt: skip
    assert s[0] == UPS_UNIT_A  # string_ups_id
    assert s[1] == 1 and s[15] == 0  # status OK, not stale
    assert int32(s, 2) == round(api_string["voltage_v"] * 100)
    assert int32(s, 4) == round(api_string["current_a"] * 100)
    assert s[6] == round(api_string["soc_pct"])
    assert s[7] == round(api_string["balance_pct"] * 100)
    assert s[10] == CELLS
    assert int16(s, 11) == round(api_string["ambient_temperature_c"] * 10)
    assert s[12] == round(api_string["ambient_humidity_pct"] * 10)
    assert s[13] == int(api_string["relay_closed"]) == 1
    assert uint32(s, 16) == int(_epoch(api_string["timestamp"]))
    assert s[19] == round(api_string["soh_pct"])
    for n, (regs, api_cell) in enumerate(zip(cells, api_cells["cells"], strict=True), start=1):
        base = 100 * n
        assert api_cell["index"] == n
        assert regs[base] == 1  # cell_status OK
        assert regs[base + 1] == round(api_cell["voltage_v"] * 1000)  # 0.001 V
        assert uint32(regs, base + 2) == round(api_cell["resistance_mohm"] * 1000)  # 0.001 mΩ
        assert int16(regs, base + 4) == round(api_cell["temperature_c"] * 10)  # 0.1 °C
        assert (regs[base + 5], regs[base + 6]) == (api_cell["soc_pct"], api_cell["soh_pct"])

    def ups_same_update():
        """UPS A through Modbus between two identical API answers, read well after its last update."""
        _, before = gateway.get("/api/v1/ups/UPS-A")
        if time.time() - _epoch(before["timestamp"]) < 0.3:
            return None  # its strings are being scanned right now: the next answer may differ
        u = mbpoll(_modbus_port(gateway), UPS_UNIT_A, 0, 10)
        _, after = gateway.get("/api/v1/ups/UPS-A")
        assert u.returncode == 0, u.stdout + u.stderr
        same = after["timestamp"] == before["timestamp"] and uint32(u.registers, 7) == int(_epoch(before["timestamp"]))
        return (before, u.registers) if same else None

    ups, u = wait_for(ups_same_update, timeout=20, interval=0.1, what="mbpoll and the API to read the same UPS update")
    assert u[0] == 1 and u[6] == 0  # OK, fresh
    assert int32(u, 1) == round(ups["voltage_v"] * 100)
    assert int32(u, 3) == round(ups["current_a"] * 100)
    assert u[5] == round(ups["soc_pct"])
    assert u[9] == 2  # strings of UPS A


def test_unknown_unit_and_illegal_address_give_the_documented_exceptions(gateway):
    port = _modbus_port(gateway)
    unknown_unit = mbpoll(port, 99, 0, 1)  # units: 1..2 UPS, 100 gateway, 101..104 strings
    assert unknown_unit.returncode != 0
    assert "Gateway path unavailable" in unknown_unit.stdout + unknown_unit.stderr  # exception 10
    past_last_cell = mbpoll(port, STRING_UNIT_A1, 100 * (CELLS + 1), 1)
    assert past_last_cell.returncode != 0
    assert "Illegal data address" in past_last_cell.stdout + past_last_cell.stderr  # exception 2
    assert mbpoll(port, STRING_UNIT_A1, 100 * CELLS, 9).returncode == 0  # the last cell itself is readable


def test_snmpget_string_voltage_and_snmpwalk_of_the_ups_table(gateway):
    port = _snmp_port(gateway)
    voltage_oid, scan_oid = f"{ENT}.1.1.3.1.5.1", f"{ENT}.1.1.3.1.17.1"  # btmsStringVoltage/ScanCounter.A1

    def same_scan():
        _, before = gateway.get("/api/v1/strings/A1")
        got = net_snmp("snmpget", COMMUNITY, port, voltage_oid, scan_oid)
        _, after = gateway.get("/api/v1/strings/A1")
        same = before.get("scan_no") == after.get("scan_no") and got[scan_oid] == f"Gauge32: {before.get('scan_no')}"
        return (before, got) if same else None

    api, got = wait_for(same_scan, timeout=20, interval=0.1, what="snmpget and the API to see the same scan of A1")
    assert got[voltage_oid] == f"INTEGER: {round(api['voltage_v'] * 100)}"  # 0.01 V

    def ups_table_same_update():
        """The UPS table walked between two identical API answers whose timestamps it shows too."""
        _, before = gateway.get("/api/v1/site")
        if time.time() - max(_epoch(u["timestamp"]) for u in before["upses"]) < 0.3:
            return None  # strings are being scanned right now: the next answers may differ
        walk = net_snmp("snmpwalk", COMMUNITY, port, f"{ENT}.1.1.2")
        _, after = gateway.get("/api/v1/site")
        stamps = [u["timestamp"] for u in before["upses"]]
        same = stamps == [u["timestamp"] for u in after["upses"]] and all(
            walk.get(f"{ENT}.1.1.2.1.7.{u['index']}") == f"Gauge32: {int(_epoch(u['timestamp']))}"
            for u in before["upses"]
        )
        return (before, walk) if same else None

    site, walk = wait_for(ups_table_same_update, timeout=20, interval=0.1,
                          what="snmpwalk and the API to see the same UPS updates")  # fmt: skip
    assert len(walk) == 2 * 6  # columns 2..7 of both UPS rows
    for ups in site["upses"]:
        row = ups["index"]
        assert walk[f"{ENT}.1.1.2.1.2.{row}"] == f'STRING: "{ups["name"]}"'
        assert walk[f"{ENT}.1.1.2.1.3.{row}"] == "INTEGER: 1"  # ok(1)
        assert walk[f"{ENT}.1.1.2.1.4.{row}"] == f"INTEGER: {round(ups['voltage_v'] * 100)}"  # 0.01 V
        assert walk[f"{ENT}.1.1.2.1.5.{row}"] == f"INTEGER: {round(ups['current_a'] * 100)}"  # 0.01 A
        assert walk[f"{ENT}.1.1.2.1.6.{row}"] == f"INTEGER: {round(ups['soc_pct'])}"


def test_snmptrapd_receives_the_alarm_raised_by_a_simulator_fault(tmp_path):
    trap_port = free_udp_port()
    topology, data = _scada_topology(tmp_path, trap_port=trap_port)
    with snmptrapd(tmp_path, COMMUNITY, trap_port) as log, running_gateway(tmp_path, topology, data) as gateway:
        asys, gw = gateway_actor(gateway.admin_port)
        asys.tell(gw, InjectSimFault("A1", DriftingSensor(cell=3, quantity="voltage", counts_per_hour=720_000)))
        wait_for(lambda: f"OID: .{RAISED}" in log.read_text(), timeout=20, interval=0.1,
                 what="snmptrapd to log btmsAlarmRaised")  # fmt: skip
        text = log.read_text()
        # Varbinds are btmsAlarmTable columns, instance = alarm id (docs/snmp.md).
        varbinds = dict(re.findall(r"\.(\S+) = ([^\t\n]+)", text))
        table = f"{ENT}.1.1.5.1"
        alarm = next(oid.rsplit(".", 1)[1] for oid, value in varbinds.items()
                     if oid.startswith(f"{table}.2.") and value == 'STRING: "cell_voltage_high"')  # fmt: skip
        assert varbinds[f"{table}.4.{alarm}"] == "INTEGER: 1"  # UPS index of A1
        assert varbinds[f"{table}.5.{alarm}"] == "INTEGER: 1"  # string index of A1
        assert varbinds[f"{table}.6.{alarm}"] == "INTEGER: 3"  # the drifting cell
        assert varbinds[f"{table}.8.{alarm}"].endswith('"13950"')  # the per-string limit, mV
        walk = net_snmp("snmpwalk", COMMUNITY, int(data["services"]["snmp"]["port"]), f"{ENT}.1.1.5.1.2")
        assert walk.get(f"{ENT}.1.1.5.1.2.{alarm}") == 'STRING: "cell_voltage_high"'  # btmsAlarmTable lists it
