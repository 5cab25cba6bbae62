"""The SNMP agent with net-snmp's own tools (numeric OIDs), snmptrapd, and a pysmi-compiled MIB."""

from __future__ import annotations

import dataclasses
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from battery.alarms.records import AlarmNotice
from battery.codes import CellFault, Health
from battery.site import BusConfig, SnmpConfig, Topology
from protocols.scada import snmp_oids as so
from protocols.scada.snmp_ber import ber_oid_body
from tests.factories import (
    sample_string_status,
    sample_topology,
    sample_ups_status,
)
from tests.scada_support import USER, AgentThread, start_snmptrapd, varbinds
from tests.support import REPO

pytestmark = pytest.mark.integration
ENT = ".".join(map(str, so.ENTERPRISE))
RAISED, CLEARED = ".".join(map(str, so.ALARM_RAISED)), ".".join(map(str, so.ALARM_CLEARED))

# Minimal stand-ins for the SMIv2 base modules (Debian ships none, pysmi 2 needs their symbols
# to resolve imports). Written here: they declare only the names our MIB imports.
BASE_MODULES = {
    "SNMPv2-SMI": """SNMPv2-SMI DEFINITIONS ::= BEGIN
org OBJECT IDENTIFIER ::= { iso 3 }
dod OBJECT IDENTIFIER ::= { org 6 }
internet OBJECT IDENTIFIER ::= { dod 1 }
private OBJECT IDENTIFIER ::= { internet 4 }
enterprises OBJECT IDENTIFIER ::= { private 1 }
MODULE-IDENTITY MACRO ::= BEGIN END
OBJECT-TYPE MACRO ::= BEGIN END
NOTIFICATION-TYPE MACRO ::= BEGIN END
END
""",
    "SNMPv2-TC": "SNMPv2-TC DEFINITIONS ::= BEGIN\nTEXTUAL-CONVENTION MACRO ::= BEGIN END\nEND\n",
    "SNMPv2-CONF": """SNMPv2-CONF DEFINITIONS ::= BEGIN
OBJECT-GROUP MACRO ::= BEGIN END
NOTIFICATION-GROUP MACRO ::= BEGIN END
MODULE-COMPLIANCE MACRO ::= BEGIN END
END
""",
}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def site() -> Topology:
    return sample_topology(upses=2, strings_per_ups=2, cells=3)


@pytest.fixture
def agent(site: Topology) -> Iterator[AgentThread]:
    a = AgentThread(site, v3_users=[USER])
    a.apply(*(sample_string_status(site, s.id) for s in site.strings))
    a.apply(sample_string_status(site, "s2", health=Health.STALE))
    a.apply(*(sample_ups_status(site, u.id) for u in site.upses))
    yield a
    a.close()


def net_snmp(tool: str, port: int, *args: str, community: str = "public") -> dict[str, str]:
    out = subprocess.run(
        [tool, "-v2c", "-c", community, "-On", "-t", "2", "-r", "1", *args[:-1], f"127.0.0.1:{port}", args[-1]]
        if tool != "snmpget"
        else [tool, "-v2c", "-c", community, "-On", "-t", "2", "-r", "1", f"127.0.0.1:{port}", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return varbinds(out)


def test_snmpget_values_equal_the_status(agent: AgentThread, site: Topology) -> None:
    s1 = sample_string_status(site, "s1")
    v = net_snmp(
        "snmpget",
        agent.port,
        f"{ENT}.1.1.3.1.5.1",
        f"{ENT}.1.1.3.1.6.1",
        f"{ENT}.1.1.4.1.4.1.3",
        f"{ENT}.1.1.4.1.5.1.1",
        f"{ENT}.1.1.3.1.5.2",
        f"{ENT}.1.1.3.1.4.2",
    )
    assert v[f"{ENT}.1.1.3.1.5.1"] == f"INTEGER: {round(s1.voltage_v * 100)}"
    assert v[f"{ENT}.1.1.3.1.6.1"] == f"INTEGER: {round(s1.current_a * 100)}"
    assert v[f"{ENT}.1.1.4.1.4.1.3"] == f"INTEGER: {s1.cell_resistance_uohm[2]}"
    assert v[f"{ENT}.1.1.4.1.5.1.1"] == f"INTEGER: {s1.cell_temperature_dc[0]}"
    assert "No Such Instance" in v[f"{ENT}.1.1.3.1.5.2"]  # stale string: no value served
    assert v[f"{ENT}.1.1.3.1.4.2"] == "INTEGER: 3"  # ... and its status says stale(3)


def test_bulkwalk_and_walk_read_every_table(agent: AgentThread, site: Topology) -> None:
    bulk = net_snmp("snmpbulkwalk", agent.port, "-Cr64", ENT)
    walk = net_snmp("snmpwalk", agent.port, ENT)
    assert bulk == walk
    cells = [k for k in bulk if k.startswith(f"{ENT}.1.1.4.1.")]
    fresh_strings = len(site.strings) - 1
    assert len(cells) == 3 * fresh_strings * 7 + 3  # stale string: the status column only
    assert len([k for k in bulk if k.startswith(f"{ENT}.1.1.2.1.")]) == 2 * 7  # with btmsUpsRuntime
    oids = [tuple(map(int, k.split("."))) for k in bulk]
    assert oids == sorted(oids)


def test_ups_mib_battery_group_per_ups_context(agent: AgentThread, site: Topology) -> None:
    ups2 = sample_ups_status(site, "ups2")
    v2c = net_snmp("snmpwalk", agent.port, "1.3.6.1.2.1.33.1.2", community="public@ups2")
    assert v2c["1.3.6.1.2.1.33.1.2.1.0"] == "INTEGER: 2"  # batteryNormal
    assert v2c["1.3.6.1.2.1.33.1.2.4.0"] == f"INTEGER: {round(ups2.soc_pct)}"
    assert v2c["1.3.6.1.2.1.33.1.2.5.0"] == f"INTEGER: {round(ups2.voltage_v * 10)}"
    assert v2c["1.3.6.1.2.1.33.1.2.6.0"] == f"INTEGER: {round(ups2.current_a * 10)}"
    # the analytics' runtime (Peukert), not SOC x C / I; on battery since its strings' discharge began
    assert v2c["1.3.6.1.2.1.33.1.2.3.0"] == f"INTEGER: {round(ups2.runtime_min)}"
    assert int(v2c["1.3.6.1.2.1.33.1.2.2.0"].split(": ")[1]) >= 0
    assert len(v2c) == 7
    v3 = subprocess.run(
        [
            "snmpget",
            "-v3",
            "-u",
            USER.name,
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            USER.auth_key,
            "-x",
            "AES",
            "-X",
            USER.priv_key,
            "-n",
            "ups2",
            "-On",
            "-t",
            "2",
            f"127.0.0.1:{agent.port}",
            "1.3.6.1.2.1.33.1.2.5.0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert f"INTEGER: {round(ups2.voltage_v * 10)}" in v3
    wrong = subprocess.run(
        [
            "snmpget",
            "-v3",
            "-u",
            USER.name,
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            "not-the-key",
            "-x",
            "AES",
            "-X",
            USER.priv_key,
            "-On",
            "-t",
            "1",
            "-r",
            "0",
            f"127.0.0.1:{agent.port}",
            f"{ENT}.1.1.1.2.0",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert wrong.returncode != 0


def test_trap_reaches_snmptrapd_when_an_alarm_is_raised(site: Topology, tmp_path: Path) -> None:
    trap_port = free_udp_port()
    trapd, log = start_snmptrapd(trap_port, tmp_path)
    t = sample_topology(
        upses=1,
        strings_per_ups=1,
        cells=3,
        snmp=SnmpConfig(
            enabled=True, host="127.0.0.1", port=0, read_community="public", trap_receivers=(f"127.0.0.1:{trap_port}",)
        ),
    )
    a = AgentThread(t)
    try:
        deadline = time.monotonic() + 10
        while not (log.exists() and "NET-SNMP version" in log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for snmptrapd's start-up line (a condition, with a deadline)
        raised = AlarmNotice(
            event="raised",
            alarm_id=41,
            kind="cell_temperature_high",
            title="Temperature high",
            ups_id="ups1",
            string_id="s1",
            cell_index=3,
            value=612.0,
            limit=550.0,
            from_time=time.time(),
            to_time=None,
            acknowledged_by=None,
            acknowledged_at=None,
        )
        a.apply(raised)
        table = net_snmp("snmpwalk", a.port, f"{ENT}.1.1.5")
        assert table[f"{ENT}.1.1.5.1.2.41"] == 'STRING: "cell_temperature_high"'
        assert table[f"{ENT}.1.1.5.1.6.41"] == "INTEGER: 3"
        a.apply(AlarmNotice(**{**raised.__dict__, "event": "cleared", "to_time": time.time()}))
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text()
            if f"OID: .{CLEARED}" in text:
                break
            time.sleep(0.05)
        assert f"OID: .{RAISED}" in text and f"OID: .{CLEARED}" in text
        assert f'.{ENT}.1.1.5.1.2.41 = STRING: "cell_temperature_high"' in text
        assert not net_snmp("snmpwalk", a.port, f"{ENT}.1.1.5").get(f"{ENT}.1.1.5.1.2.41")
    finally:
        a.close()
        trapd.terminate()
        trapd.wait(timeout=5)


def compile_mib(tmp_path: Path) -> Path:
    base = tmp_path / "base"
    base.mkdir()
    for name, text in BASE_MODULES.items():
        (base / name).write_text(text)
    out = tmp_path / "compiled"
    mibdump = shutil.which("mibdump")
    assert mibdump, "pysmi's mibdump is not installed"
    result = subprocess.run(
        [
            mibdump,
            "--strict",
            f"--mib-source=file://{REPO / 'docs' / 'mibs'}",
            f"--mib-source=file://{base}",
            f"--mib-borrower=file://{tmp_path / 'no-borrower'}",
            "--destination-format=pysnmp",
            f"--destination-directory={out}",
            "BTMS-GATEWAY-MIB",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        "Failed MIBs: \n" in result.stdout
        or "Failed MIBs:\n" in result.stdout
        or (out / "BTMS-GATEWAY-MIB.py").exists()
    ), result.stdout
    assert "warn" not in (result.stdout + result.stderr).lower()
    assert (out / "BTMS-GATEWAY-MIB.py").exists(), result.stdout + result.stderr
    return out


def test_mib_compiles_and_every_served_oid_has_its_type(agent: AgentThread, tmp_path: Path) -> None:
    from pysnmp.smi import builder, view

    out = compile_mib(tmp_path)
    mib = builder.MibBuilder()
    mib.add_mib_sources(builder.DirMibSource(str(out)))
    mib.load_modules("BTMS-GATEWAY-MIB")
    mib_view = view.MibViewController(mib)
    walked = subprocess.run(
        ["snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Oe", "-Cr64", f"127.0.0.1:{agent.port}", ENT],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    wire_names = {
        "INTEGER": ("Integer32", "TruthValue", "Integer"),
        "Gauge32": ("Unsigned32",),
        "STRING": ("DisplayString", "OctetString"),
    }
    served = re.findall(r"^\.(\S+) = (\w+):", walked, re.MULTILINE)
    assert len(served) > 100
    for oid_text, wire in served:
        oid = tuple(int(x) for x in oid_text.split("."))
        _, label, suffix = mib_view.get_node_name(oid)
        (node,) = mib.import_symbols("BTMS-GATEWAY-MIB", label[-1])
        assert node.name == oid[: len(node.name)], oid_text
        assert type(node.syntax).__name__ in wire_names[wire] or any(
            c.__name__ in wire_names[wire] for c in type(node.syntax).__mro__
        ), f"{oid_text} served as {wire}, MIB says {type(node.syntax).__name__}"
        assert so.column(label[-1]).oid == node.name


def _dotted(oid: tuple[int, ...]) -> str:
    return ".".join(map(str, oid))


def test_a_300_degree_cell_is_absent_and_not_the_ups_battery_temperature(site: Topology) -> None:
    a = AgentThread(site)
    try:
        s1 = sample_string_status(site, "s1")
        s1 = dataclasses.replace(
            s1, cell_faults=(int(CellFault.TEMPERATURE_IMPLAUSIBLE), 0, 0), cell_temperature_dc=(3000, 251, 262)
        )
        s2 = dataclasses.replace(sample_string_status(site, "s2"), cell_temperature_dc=(230, 240, 255))
        a.apply(s1, s2, sample_ups_status(site, "ups1"))
        temp, volt = so.column("btmsCellTemperature").oid, so.column("btmsCellVoltage").oid
        v = net_snmp("snmpget", a.port, _dotted(temp + (1, 1)), _dotted(volt + (1, 1)), _dotted(temp + (1, 3)))
        assert "No Such Instance" in v[_dotted(temp + (1, 1))]
        assert v[_dotted(volt + (1, 1))] == f"INTEGER: {s1.cell_voltage_mv[0]}"
        assert v[_dotted(temp + (1, 3))] == "INTEGER: 262"
        battery_temp = next(c.oid for c in so.UPS_BATTERY if c.name == "upsBatteryTemperature")
        ups = net_snmp("snmpget", a.port, _dotted(battery_temp + (0,)), community="public@ups1")
        assert ups[_dotted(battery_temp + (0,))] == "INTEGER: 26"  # 26.2 °C, not 300
    finally:
        a.close()


def test_alarm_sync_sends_no_trap_and_a_late_acknowledge_does_not_revive_a_cleared_alarm(site: Topology) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(10)
        t = dataclasses.replace(
            site,
            services=dataclasses.replace(
                site.services,
                snmp=SnmpConfig(
                    enabled=True,
                    host="127.0.0.1",
                    port=0,
                    read_community="public",
                    trap_receivers=(f"127.0.0.1:{receiver.getsockname()[1]}",),
                ),
            ),
        )
        a = AgentThread(t)
        try:
            raised = AlarmNotice(
                event="raised",
                alarm_id=51,
                kind="cell_temperature_high",
                title="Temperature high",
                ups_id="ups1",
                string_id="s1",
                cell_index=3,
                value=612.0,
                limit=550.0,
                from_time=time.time(),
                to_time=None,
                acknowledged_by=None,
                acknowledged_at=None,
            )
            a.apply(
                dataclasses.replace(
                    raised, alarm_id=50, event="active", acknowledged_by="op", acknowledged_at=time.time()
                )
            )
            a.apply(raised)
            kind = so.column("btmsAlarmKind").oid
            synced, news = ber_oid_body(kind + (50,)), ber_oid_body(kind + (51,))
            datagrams: list[bytes] = []
            while not any(news in d for d in datagrams):  # recv's 10 s timeout is the deadline
                datagrams.append(receiver.recv(65535))
            assert not any(synced in d for d in datagrams), "the state sync of alarm 50 sent a trap"

            ended = time.time()
            a.apply(dataclasses.replace(raised, event="cleared", to_time=ended))
            a.apply(
                dataclasses.replace(
                    raised, event="acknowledged", to_time=ended, acknowledged_by="op", acknowledged_at=ended + 1
                )
            )
            table = net_snmp("snmpwalk", a.port, f"{ENT}.1.1.5")
            assert table[_dotted(kind + (50,))] == 'STRING: "cell_temperature_high"'
            assert _dotted(kind + (51,)) not in table
            counts = net_snmp(
                "snmpget",
                a.port,
                _dotted(so.column("btmsGwActiveAlarms").oid + (0,)),
                _dotted(so.column("btmsGwUnacknowledgedAlarms").oid + (0,)),
            )
            assert list(counts.values()) == ["Gauge32: 1", "Gauge32: 0"]  # active, unacknowledged
        finally:
            a.close()


def test_snmp_stale_threshold_comes_from_the_bus_scan_period(site: Topology) -> None:
    t = dataclasses.replace(site, buses=(BusConfig(id="bus1", port="sim://bus1", scan_period_s=6.0),))  # 18 s
    a = AgentThread(t)
    try:
        a.apply(sample_string_status(t, "s1"))
        received = time.monotonic()
        status = _dotted(so.column("btmsStringStatus").oid + (1,))

        async def tick(at: float) -> None:
            a.agent.tick(now=at)

        a.call(tick(received + 17.0))
        assert net_snmp("snmpget", a.port, status)[status] == "INTEGER: 1"
        a.call(tick(received + 19.0))
        assert net_snmp("snmpget", a.port, status)[status] == "INTEGER: 3"  # stale(3)
    finally:
        a.close()
