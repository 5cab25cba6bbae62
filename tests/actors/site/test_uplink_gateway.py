"""The uplink of a real `btms run` to a real Mosquitto with TLS, per-gateway passwords and ACLs.

A subscriber of the aggregator's user decodes what arrives. The broker is stopped (by its PID)
and started again: what the gateway buffered meanwhile arrives after the new births, in order,
flagged historical, and nothing is missing. A wrong password, or publishing outside the ACL,
is refused, and the gateway keeps its records.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from protocols.scada import snmp_oids
from protocols.uplink.payload import Payload, decode
from protocols.uplink.topics import MessageType, Topic
from storage.outbox import OUTBOX_FILE
from tests.gateway_process import REPO, GatewayProcess, wait_serving, write_demo_topology
from tests.mqtt_support import Broker, Collector
from tests.scada_support import mbpoll, mbpoll_values
from tests.support import free_port, wait_for

pytestmark = pytest.mark.integration

GROUP = "site1"
COMMUNITY = "btms-uplink-test"
DATA_PERIOD_S = 0.5
USERS = {"gw1": "gw1-Secret-pw", "agg": "agg-Secret-pw"}
ACL = [
    "user gw1",
    f"topic readwrite spBv1.0/{GROUP}/+/gw1/#",
    "topic read spBv1.0/STATE/#",
    "user agg",
    "topic readwrite spBv1.0/#",
]


@pytest.fixture
def broker(tmp_path: Path):
    with Broker.start(tmp_path / "broker", users=USERS, acl=ACL, tls=True) as started:
        yield started


def start_gateway(tmp_path: Path, broker: Broker, scada: bool = False, **uplink) -> GatewayProcess:
    """`scada`: Modbus TCP and SNMP on too, on free ports."""
    path, data = write_demo_topology(tmp_path, cells=4, scan_period_s=0.25)
    if scada:
        data["services"]["modbus"]["enabled"] = True
        data["services"]["snmp"] = {"enabled": True, "port": free_port(), "read_community": COMMUNITY}
    data["services"]["uplink"] = {
        "broker": f"127.0.0.1:{broker.port}",
        "group_id": GROUP,
        "tls_ca": str(broker.ca),
        "username": "gw1",
        "data_period_s": DATA_PERIOD_S,
        **uplink,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    if "password" not in uplink:  # the password from the secrets file, as an installer sets it
        stored = subprocess.run(
            [sys.executable, "-m", "btms.cli", "secret", "set", "uplink.password", "--topology", str(path)],
            cwd=REPO,
            input=USERS["gw1"] + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert stored.returncode == 0, stored.stderr
    gateway = GatewayProcess.start(tmp_path, path, data)
    wait_serving(gateway, timeout=60)
    return gateway


def outbox_ever_stored(tmp_path: Path) -> tuple[int, int]:
    """(records ever stored in the outbox, records in it now)."""
    with sqlite3.connect(f"file:{tmp_path / 'var' / OUTBOX_FILE}?mode=ro", uri=True, timeout=5) as db:
        (stored,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        (left,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
    return stored, left


def outbox_records(tmp_path: Path) -> int:
    path = tmp_path / "var" / OUTBOX_FILE
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return db.execute("SELECT COUNT(*) FROM records").fetchone()[0]


def decoded(collector: Collector) -> list[tuple[Topic, Payload]]:
    return [(Topic.parse(t), decode(p)) for t, p, _ in collector.snapshot() if not t.startswith("spBv1.0/STATE")]


def records_of(messages: list[tuple[Topic, Payload]]) -> set[tuple]:
    """The distinct outbox records among the messages (births are not outbox records)."""
    data = (MessageType.DDATA, MessageType.NDATA)
    return {
        (t.device_id, p.timestamp_ms, tuple((m.name, m.value) for m in p.metrics))
        for t, p in messages
        if t.message_type in data
    }


def births(messages: list[tuple[Topic, Payload]]) -> list[int]:
    return [i for i, (t, _) in enumerate(messages) if t.message_type is MessageType.NBIRTH]


def test_births_and_data_reach_a_subscriber_over_tls_named_from_the_registry(tmp_path: Path, broker: Broker):
    collector = Collector(broker, f"spBv1.0/{GROUP}/#", "agg", USERS["agg"])
    gateway = start_gateway(tmp_path, broker)
    try:
        wait_for(
            lambda: sum(t.message_type is MessageType.DDATA for t, _ in decoded(collector)) >= 10,
            timeout=60,
            what="DDATA from the gateway",
        )
        messages = decoded(collector)
        first = births(messages)[0]
        node = {m.name: m for m in messages[first][1].metrics}
        assert node["bdSeq"].value is not None and node["Node Control/Rebirth"].value is False
        devices = {t.device_id: p for t, p in messages if t.message_type is MessageType.DBIRTH}
        assert set(devices) == {"UPS-A", "UPS-B", "UPS-A:A1", "UPS-A:A2", "UPS-B:B1", "UPS-B:B2"}
        string_birth = {m.name: m for m in devices["UPS-A:A1"].metrics}
        assert {f"cell.voltage/{n}" for n in range(1, 5)} <= set(string_birth)
        assert ("engUnit", "V") in string_birth["string.voltage"].properties
        # seq: 0 on NBIRTH, then one more per message of the session, whatever its device
        seqs = [p.seq for _, p in messages[first:]]
        assert seqs[0] == 0 and seqs == [n % 256 for n in range(len(seqs))]
        data = [p for t, p in messages if t.message_type is MessageType.DDATA and t.device_id == "UPS-A:A1"]
        voltages = [m.value for p in data for m in p.metrics if m.name == "string.voltage"]
        assert voltages and all(40 < v < 65 for v in voltages)  # 4 x 12 V batteries, in volts
        assert not any(m.is_historical for p in data for m in p.metrics)
        link = gateway.get("/api/v1/site")[1]["gateway"]["uplink"]
        assert link["state"] == "connected" and link["detail"] == f"mqtts://127.0.0.1:{broker.port}"
    finally:
        gateway.stop()
        collector.close()
    # a clean stop says goodbye: NDEATH with the session's bdSeq
    wait_for(lambda: any(t.message_type is MessageType.NDEATH for t, _ in decoded(collector)), timeout=10)


def test_a_broker_outage_loses_nothing_and_the_buffer_arrives_in_order_as_history(tmp_path: Path, broker: Broker):
    collector = Collector(broker, f"spBv1.0/{GROUP}/#", "agg", USERS["agg"])
    gateway = start_gateway(tmp_path, broker)
    try:
        wait_for(lambda: len(decoded(collector)) >= 20, timeout=60, what="the gateway publishing")
        broker.stop()
        wait_for(lambda: outbox_records(tmp_path) >= 30, timeout=60, what="records buffered in the outbox")
        broker.restart()
        wait_for(lambda: len(births(decoded(collector))) >= 2, timeout=90, what="a new NBIRTH after the outage")
        wait_for(lambda: outbox_records(tmp_path) == 0, timeout=60, what="the outbox sent empty")
    finally:
        gateway.stop()
    stored, left = outbox_ever_stored(tmp_path)
    # what the gateway stored and sent arrived: every record once at least (a record whose
    # PUBACK the outage cut is sent again), told apart by device, time and metrics
    sent = stored - left
    wait_for(lambda: len(records_of(decoded(collector))) >= sent, timeout=20, what=f"{sent} records")
    messages = decoded(collector)
    collector.close()
    assert len(records_of(messages)) == sent
    first, second = births(messages)[:2]
    assert messages[second][1].metrics[0].name == "bdSeq"
    assert messages[second][1].metrics[0].value != messages[first][1].metrics[0].value  # a new session
    after = [(t, p) for t, p in messages[second:] if t.message_type is MessageType.DDATA]
    historical = [(t, p) for t, p in after if p.metrics and p.metrics[0].is_historical]
    assert len(historical) >= 10
    assert all(m.is_historical for _, p in historical for m in p.metrics)  # a record is flagged whole
    # in order: each device's historical records come oldest first
    for device in {t.device_id for t, _ in historical}:
        stamps = [p.timestamp_ms for t, p in historical if t.device_id == device]
        assert stamps == sorted(stamps), device
    # none lost: a string's records before, during and after the outage leave no hole
    stamps = sorted(
        m.timestamp_ms
        for t, p in messages
        if t.message_type is MessageType.DDATA and t.device_id == "UPS-A:A1"
        for m in p.metrics
        if m.name == "string.voltage"
    )
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    assert max(gaps) <= (DATA_PERIOD_S + 1.0) * 1000, gaps


def uplink_of(gateway: GatewayProcess) -> dict:
    return gateway.get("/api/v1/site")[1]["gateway"]["uplink"]


def test_a_wrong_password_is_refused_and_every_interface_shows_the_link_down(tmp_path: Path, broker: Broker):
    collector = Collector(broker, "spBv1.0/#", "agg", USERS["agg"])
    gateway = start_gateway(tmp_path, broker, scada=True, password="not-the-password")
    try:
        wait_for(lambda: outbox_records(tmp_path) >= 10, timeout=60, what="records kept in the outbox")
        assert "not authorised" in broker.log.read_text().lower()
        link = wait_for(lambda: uplink_of(gateway)["outbox_records"] >= 10 and uplink_of(gateway), timeout=10)
        assert link["state"] == "down" and "not authorized" in link["detail"].lower(), link
        modbus = mbpoll(gateway.data["services"]["modbus"]["port"], 100, 13, 3)
        registers = mbpoll_values(modbus.stdout)
        assert registers[13] == 1, modbus.stdout  # 1 down
        assert (registers[14] << 16) + registers[15] >= 10  # uplink_outbox_records, high word first
        oid = ".".join(map(str, snmp_oids.column("btmsGwUplinkState").oid + (0,)))
        snmp = subprocess.run(
            [
                "snmpget",
                "-v2c",
                "-c",
                COMMUNITY,
                "-On",
                "-m",
                "",
                f"127.0.0.1:{gateway.data['services']['snmp']['port']}",
                oid,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert snmp.stdout.strip().endswith("INTEGER: 1"), snmp.stdout + snmp.stderr
        assert decoded(collector) == []
    finally:
        gateway.stop()
        collector.close()


def test_publishing_outside_its_acl_is_refused_and_nothing_is_delivered(tmp_path: Path, broker: Broker):
    collector = Collector(broker, "spBv1.0/#", "agg", USERS["agg"])
    gateway = start_gateway(tmp_path, broker, group_id="other-site")  # gw1 may publish in site1 only
    try:
        wait_for(lambda: "denied publish" in broker.log.read_text().lower(), timeout=60, what="the broker denying")
        wait_for(lambda: outbox_records(tmp_path) >= 10, timeout=60, what="records kept in the outbox")
        assert decoded(collector) == []
    finally:
        gateway.stop()
        collector.close()
