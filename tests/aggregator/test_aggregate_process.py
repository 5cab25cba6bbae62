"""A real `btms aggregate` with a real Mosquitto and PostgreSQL, fed by an edge node that speaks
Sparkplug B with the gateway's codec: replays stored once and in order, a seq gap asks for a
rebirth, NDEATH raises the off-line alarm and the next birth clears it; the API and /metrics."""

from __future__ import annotations

import os
import queue
import signal
import time
import urllib.request

import paho.mqtt.client as mqtt
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from protocols.uplink.payload import DataType, Metric, Payload, decode, encode
from protocols.uplink.topics import MessageType, Topic
from tests.aggregator_process import AggregatorProcess, write_aggregator_config
from tests.gateway_process import alive
from tests.support import wait_for

GROUP, NODE, DEVICE = "btms", "gw7", "UPS-A:A1"
T0_MS = 1_767_000_000_000


class EdgeNode:
    """A minimal Sparkplug edge node: births, data with seq, and it hears its NCMDs."""

    def __init__(self, port: int) -> None:
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.seq = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edge-gw7")
        self.client.on_message = lambda c, u, m: self.commands.put(decode(m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(str(Topic(GROUP, MessageType.NCMD, NODE)), qos=1)
        self.client.loop_start()

    def publish(self, kind: MessageType, metrics: tuple[Metric, ...], device: str | None = None, seq=None) -> None:
        if kind is MessageType.NBIRTH:
            self.seq = 0
        topic = Topic(GROUP, kind, NODE, device)
        payload = Payload(int(time.time() * 1000), metrics, None if kind is MessageType.NDEATH else self.seq)
        self.client.publish(str(topic), encode(payload), qos=1).wait_for_publish(5)
        self.seq = (self.seq + 1) % 256

    def birth(self, bdseq: int) -> None:
        self.publish(MessageType.NBIRTH, (Metric("bdSeq", DataType.UINT64, bdseq),))
        self.publish(MessageType.DBIRTH, (Metric("string.voltage", DataType.DOUBLE, None, T0_MS),), DEVICE)

    def data(self, i: int, historical: bool = False, state: str = "FLOAT") -> None:
        metrics = (
            Metric("string.voltage", DataType.DOUBLE, 500.0 + i, T0_MS + i * 1000, is_historical=historical),
            Metric("string.state", DataType.STRING, state, T0_MS + i * 1000, is_historical=historical),
            Metric("cell.voltage/1", DataType.DOUBLE, 12.5, T0_MS + i * 1000, is_historical=historical),
        )
        self.publish(MessageType.DDATA, metrics, DEVICE)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def stored_records(postgres) -> list[str]:
    """The edge node's stored records, oldest first: milliseconds after T0|the string voltage."""
    return postgres.psql(
        f"SELECT (extract(epoch FROM ts) * 1000)::bigint - {T0_MS}, nums[1] FROM record "
        f"WHERE edge_node = '{NODE}' AND device = '{DEVICE}' ORDER BY ts"
    ).split()


@pytest.fixture
def aggregator(tmp_path, postgres, broker):
    postgres.psql("DROP TABLE IF EXISTS record, metric_layout, offline_alarm, gateway_alarm_event CASCADE")
    config = write_aggregator_config(tmp_path, {"host": "127.0.0.1", "port": broker}, postgres.dsn)
    with AggregatorProcess.serving(config) as process:
        yield process


@pytest.mark.integration
def test_the_aggregator_stores_each_record_once_asks_for_rebirth_and_alarms_offline(
    aggregator, postgres, broker
) -> None:
    edge = None
    try:
        edge = EdgeNode(broker)
        edge.birth(bdseq=3)
        for i in range(10):
            edge.data(i)
        for i in range(5, 10):  # the outbox replays what the broker acknowledged while the host was away
            edge.data(i, historical=True)

        wait_for(lambda: len(stored_records(postgres)) >= 10, timeout=20, what="ten records stored")
        assert stored_records(postgres) == [f"{i * 1000}|{500 + i}" for i in range(10)]

        edge.seq += 3  # three messages lost: the host asks for a rebirth
        edge.data(10)
        command = edge.commands.get(timeout=10)
        assert [(m.name, m.value) for m in command.metrics] == [("Node Control/Rebirth", True)]

        site = aggregator.get_json("/api/v1/site")
        assert site["gateways"][0]["id"] == NODE and site["gateways"][0]["online"] is True
        assert aggregator.get("/api/v1/site", "wrong")[0] == 401
        pages = aggregator.get_json("/api/v1/pages/site/realtime")  # the browser UI's data, from the real tree
        assert pages["model"]["table"]["rows"][0]["key"] == NODE
        with urllib.request.urlopen(aggregator.url + "/login", timeout=5) as login:  # its users' log-in page
            assert 'name="password"' in login.read().decode()

        def scraped() -> dict:
            status, text = aggregator.get("/metrics")
            assert status == 200
            families = {f.name: f for f in text_string_to_metric_families(text)}
            voltage = families.get("btms_string_voltage_volts")
            return families if voltage and [s.value for s in voltage.samples] == [510.0] else {}

        families = wait_for(scraped, timeout=10, what="/metrics to show the newest string voltage")
        assert [s.value for s in families["btms_gateway_online"].samples] == [1.0]
        assert [s.labels for s in families["btms_cell_voltage_volts"].samples] == [
            {"gateway": NODE, "ups": "UPS-A", "string": "A1", "cell": "1"}
        ]

        edge.publish(MessageType.NDEATH, (Metric("bdSeq", DataType.UINT64, 3),))

        def offline_alarm():
            alarms = aggregator.get_json("/api/v1/alarms")["alarms"]
            return [a for a in alarms if a["kind"] == "gateway_offline"]

        raised = wait_for(lambda: [a for a in offline_alarm() if a["active"]], timeout=10, what="the off-line alarm")
        assert raised[0]["gateway"] == NODE
        assert aggregator.get_json("/api/v1/site")["gateways"][0]["online"] is False
        edge.birth(bdseq=4)
        wait_for(
            lambda: offline_alarm() and not any(a["active"] for a in offline_alarm()),
            timeout=10,
            what="the off-line alarm to clear",
        )
    finally:
        if edge is not None:
            edge.stop()
        aggregator.stop()
    assert postgres.psql(f"SELECT count(*) FROM record WHERE edge_node = '{NODE}'").strip() == "11"


@pytest.mark.integration
def test_a_killed_aggregator_takes_its_actors_with_it_and_the_next_start_replaces_a_stale_tree(
    aggregator, tmp_path
) -> None:
    pids = aggregator.actor_pids()
    assert len(pids) >= 5  # admin, logger, watchdog, aggregator, store, web, subscriber
    os.kill(aggregator.process.pid, signal.SIGKILL)
    aggregator.process.wait(5)
    wait_for(lambda: not alive(pids), timeout=6, what="the dead man's switch to stop every actor")

    again = AggregatorProcess.start(aggregator.config, name="again")
    again.wait_serving()
    stale = again.actor_pids()
    os.kill(again.admin_pid(), signal.SIGSTOP)  # the watchdog's shutdown request now goes nowhere
    os.kill(again.process.pid, signal.SIGKILL)
    again.process.wait(5)
    third = AggregatorProcess.start(aggregator.config, name="third")
    try:
        assert alive(stale)  # the stale tree: nobody to stop it but the next start
        wait_for(lambda: not alive(stale), timeout=15, what="the stale tree to be ended")
        third.wait_serving()
        assert not (third.actor_pids() & stale)
    finally:
        third.end()
        for pid in alive(stale):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.integration
def test_the_store_reconnects_when_postgresql_restarts_and_loses_nothing(aggregator, postgres, broker) -> None:
    """Records that arrive while PostgreSQL restarts wait, unacknowledged, and are stored once it is back."""
    log = aggregator.config.parent / "agg" / "log" / "gateway.jsonl"
    edge = EdgeNode(broker)
    try:
        edge.birth(bdseq=1)
        for i in range(5):
            edge.data(i)
        wait_for(lambda: len(stored_records(postgres)) == 5, timeout=20, what="five records stored")
        postgres.stop()
        try:
            for i in range(5, 10):
                edge.data(i)
            wait_for(lambda: "PostgreSQL write failed" in log.read_text(), timeout=20, what="a failed write")
        finally:
            postgres.start()
        wait_for(lambda: len(stored_records(postgres)) >= 10, timeout=20, what="the records kept while it was away")
        assert stored_records(postgres) == [f"{i * 1000}|{500 + i}" for i in range(10)]
        assert aggregator.get("/api/v1/alarms")[0] == 200  # the web's reader is back too
    finally:
        edge.stop()


@pytest.mark.integration
def test_a_record_postgresql_refuses_is_logged_and_passed_over_and_the_next_ones_are_stored(
    aggregator, postgres, broker
) -> None:
    log = aggregator.config.parent / "agg" / "log" / "gateway.jsonl"
    edge = EdgeNode(broker)
    try:
        edge.birth(bdseq=2)
        edge.data(0, state="FLO\x00AT")  # PostgreSQL's text holds no NUL
        for i in range(1, 4):
            edge.data(i)
        wait_for(lambda: len(stored_records(postgres)) >= 3, timeout=20, what="the records after the refused one")
        assert stored_records(postgres) == [f"{i * 1000}|{500 + i}" for i in range(1, 4)]
        assert "PostgreSQL refused a record; passed over" in log.read_text()
    finally:
        edge.stop()
