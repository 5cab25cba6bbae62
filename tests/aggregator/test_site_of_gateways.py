"""A site of three real gateways and one aggregator, all real processes on loopback.

A Mosquitto with TLS, a password per gateway and ACLs; a PostgreSQL cluster in a temporary
directory; three `btms run` on the simulator publishing through their uplink; one
`btms aggregate`. Then: the broker is cut and started again, one gateway's whole tree is
SIGKILLed and started again, the aggregator is restarted. Afterwards PostgreSQL holds every
record the gateways' outboxes sent, exactly once and in order; the off-line alarm of the killed
gateway came and went; a client with wrong credentials and one publishing outside its ACL were
refused.
"""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from protocols.uplink.payload import DataType, Metric, Payload, encode
from storage.outbox import OUTBOX_FILE
from tests.aggregator_process import AggregatorProcess, write_aggregator_config
from tests.gateway_process import GatewayProcess, alive, wait_serving, write_demo_topology
from tests.mqtt_support import Broker
from tests.support import wait_for

pytestmark = pytest.mark.integration

GROUP, HOST_ID = "site1", "agg1"
NODES = ("gw1", "gw2", "gw3")
USERS = {**{n: f"{n}-Secret-pw" for n in NODES}, "agg": "agg-Secret-pw"}
ACL = [
    line
    for n in NODES
    for line in (f"user {n}", f"topic readwrite spBv1.0/{GROUP}/+/{n}/#", "topic read spBv1.0/STATE/#")
] + ["user agg", "topic readwrite spBv1.0/#"]
FORGED_TS_MS = 1_600_000_000_000  # a time no gateway scans at: a forged record would show


def start_gateway(directory: Path, node: str, broker: Broker, token: str | None = None) -> GatewayProcess:
    directory.mkdir(exist_ok=True)
    topology = directory / "topology.yaml"
    if not topology.exists():
        path, data = write_demo_topology(directory, cells=4, scan_period_s=0.5)
        data["services"]["uplink"] = {
            "broker": f"127.0.0.1:{broker.port}",
            "group_id": GROUP,
            "edge_node_id": node,
            "primary_host_id": HOST_ID,
            "tls_ca": str(broker.ca),
            "username": node,
            "password": USERS[node],
            "data_period_s": 0.5,
            "keepalive_s": 5,
        }
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    data = yaml.safe_load(topology.read_text())
    if token is None:
        return GatewayProcess.start(directory, topology, data)
    return GatewayProcess.launch(directory, topology, data, token, name="again")


def outbox_counts(directory: Path) -> tuple[int, int, int]:
    """(records the outbox ever stored, records in it now, records it dropped)."""
    with sqlite3.connect(f"file:{directory / 'var' / OUTBOX_FILE}?mode=ro", uri=True, timeout=5) as db:
        (stored,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'records'").fetchone()
        (left,) = db.execute("SELECT COUNT(*) FROM records").fetchone()
        (dropped,) = db.execute("SELECT COALESCE(SUM(value), 0) FROM counters WHERE name LIKE 'dropped%'").fetchone()
    return stored, left, dropped


def stored_per_node(postgres) -> dict[str, int]:
    """Rows per edge node: data records and gateway alarm events (each one outbox record)."""
    rows = postgres.psql(
        "SELECT edge_node, count(*) FROM (SELECT edge_node FROM record UNION ALL "
        "SELECT edge_node FROM gateway_alarm_event) r GROUP BY edge_node"
    ).split()
    return {node: int(n) for node, n in (r.split("|") for r in rows)}


def mqtt_client(broker: Broker, user: str, password: str) -> tuple[mqtt.Client, list]:
    """An MQTT 5 client (the PUBACK says why a publish was refused); its outcomes in a list."""
    outcomes: list = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{user}", protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(broker.ca))
    client.username_pw_set(user, password)
    client.on_connect = lambda c, u, f, reason, p: outcomes.append(("connect", str(reason)))
    client.on_publish = lambda c, u, mid, reason, p: outcomes.append(("publish", str(reason)))
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client, outcomes


def test_three_gateways_and_an_aggregator_survive_outages_with_every_record_once_and_in_order(
    tmp_path: Path, postgres
) -> None:
    broker = Broker.start(tmp_path / "broker", users=USERS, acl=ACL, tls=True)
    (tmp_path / "agg.pass").write_text(USERS["agg"] + "\n")
    config = write_aggregator_config(
        tmp_path,
        {"host": "127.0.0.1", "port": broker.port, "tls_ca": str(broker.ca), "username": "agg"}
        | {"password_file": str(tmp_path / "agg.pass")},
        postgres.dsn,
        host_id=HOST_ID,
        group_id=GROUP,
        offline_after_s=30,
    )
    aggregators = [AggregatorProcess.start(config)]
    gateways: dict[str, GatewayProcess] = {}
    try:
        run_the_site(tmp_path, broker, postgres, aggregators, gateways)
        for gateway in gateways.values():
            gateway.stop()
        check_what_was_stored(tmp_path, postgres)
    finally:
        for gateway in gateways.values():
            for pid in gateway.processes():
                os.kill(pid, signal.SIGKILL)
        for aggregator in aggregators:
            aggregator.end()
        broker.stop()


def run_the_site(tmp_path: Path, broker: Broker, postgres, aggregators: list, gateways: dict) -> None:
    aggregators[0].wait_serving()
    for node in NODES:
        gateways[node] = start_gateway(tmp_path / node, node, broker)
    for gateway in gateways.values():
        wait_serving(gateway, timeout=60)
    wait_for(lambda: set(stored_per_node(postgres)) == set(NODES), timeout=60, what="records of every gateway")

    # The broker is cut (a minute in production; the invariant does not depend on the duration,
    # only on records being held in the outboxes while it is away) and started again.
    broker.stop()
    wait_for(
        lambda: all(outbox_counts(tmp_path / n)[1] >= 10 for n in NODES), timeout=30, what="records in every outbox"
    )
    broker.restart()

    # gw2's whole tree is killed, then started again: its NDEATH (the broker's will) raises
    # the off-line alarm, its birth clears it.
    wait_for(lambda: outbox_counts(tmp_path / "gw2")[1] < 5, timeout=60, what="gw2's outbox sent")
    victim = gateways["gw2"]
    tree = victim.processes()
    for pid in tree:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(tree), timeout=10, what="gw2's tree to die")
    wait_for(lambda: active_offline(postgres) == ["gw2"], timeout=30, what="gw2's off-line alarm")
    gateways["gw2"] = start_gateway(tmp_path / "gw2", "gw2", broker, token=victim.token)
    wait_serving(gateways["gw2"], timeout=60)

    # The aggregator is restarted.
    aggregators[-1].stop()
    aggregators.append(AggregatorProcess.start(aggregators[-1].config, name="again"))
    aggregators[-1].wait_serving()

    # Wrong credentials are refused; a gateway's credentials used outside its ACL too.
    intruder, outcomes = mqtt_client(broker, "gw1", "wrong-password")
    wait_for(lambda: outcomes, timeout=10, what="the broker's answer to a wrong password")
    intruder.loop_stop()
    assert outcomes[0][0] == "connect" and outcomes[0][1] in ("Bad user name or password", "Not authorized")
    forger, outcomes = mqtt_client(broker, "gw1", USERS["gw1"])
    wait_for(lambda: ("connect", "Success") in outcomes, timeout=10, what="gw1's probe connected")
    forged = Payload(FORGED_TS_MS, (Metric("string.voltage", DataType.DOUBLE, 1.0, FORGED_TS_MS),), 1)
    forger.publish(f"spBv1.0/{GROUP}/DDATA/gw3/UPS-A:A1", encode(forged), qos=1)
    wait_for(lambda: len(outcomes) >= 2, timeout=10, what="the PUBACK of a publish outside the ACL")
    forger.loop_stop()
    forger.disconnect()
    assert outcomes[1] == ("publish", "Not authorized")

    wait_for(lambda: all(outbox_counts(tmp_path / n)[1] < 5 for n in NODES), timeout=60, what="every outbox sent")
    wait_for(lambda: active_offline(postgres) == [], timeout=30, what="every off-line alarm cleared")


def active_offline(postgres) -> list[str]:
    return postgres.psql("SELECT edge_node FROM offline_alarm WHERE cleared_at IS NULL ORDER BY 1").split()


def check_what_was_stored(tmp_path: Path, postgres) -> None:
    """Every record the gateways' outboxes sent is in PostgreSQL once, each series in order.

    A record still in an outbox when its gateway stopped may have been stored already (its
    PUBACK was on the way): it is sent again at the next start and stored once. So a gateway's
    rows are at least what it sent and at most what its outbox ever held."""
    sent, held = {}, {}
    for node in NODES:
        stored, left, dropped = outbox_counts(tmp_path / node)
        assert dropped == 0 and left < 50
        sent[node], held[node] = stored - left, stored

    def all_stored() -> bool:
        rows = stored_per_node(postgres)
        return all(sent[n] <= rows.get(n, 0) <= held[n] for n in NODES)

    try:
        wait_for(all_stored, timeout=30, what="the records sent")
    except AssertionError:
        detail = postgres.psql(
            "SELECT edge_node, device, layout, count(*), min(ts), max(ts) FROM record GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ) + postgres.psql("SELECT edge_node, alarm_id, event FROM gateway_alarm_event ORDER BY 1, 2")
        raise AssertionError(f"sent {sent}, held {held}, stored {stored_per_node(postgres)}:\n{detail}") from None
    # Exactly once: the primary key holds each (node, device, scan time, layout) once, and no
    # more rows than the outboxes held. In order: each series was stored oldest first.
    out_of_order = postgres.psql(
        "SELECT count(*) FROM (SELECT ts, lag(ts) OVER w AS before FROM record "
        "WINDOW w AS (PARTITION BY edge_node, device, layout ORDER BY stored_at)) s WHERE ts <= before"
    )
    assert out_of_order.strip() == "0"
    assert postgres.psql(f"SELECT count(*) FROM record WHERE ts = to_timestamp({FORGED_TS_MS} / 1000.0)") == "0\n"
    # gw2's off-line alarm (its kill) came and went; the stop of every gateway raised the last ones
    alarms = postgres.psql("SELECT edge_node, cleared_at IS NOT NULL FROM offline_alarm ORDER BY id").split()
    assert "gw2|t" in alarms, alarms
