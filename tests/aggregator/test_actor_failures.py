"""A GatewayProxy or the Store SIGKILLed while it holds messages, and a message the proxy fails
on: a real `btms aggregate` with a real Mosquitto and PostgreSQL stores everything else that was
published, once and in order, and keeps acknowledging (the broker sends at most 20
unacknowledged messages) without a restart; the poison message is kept in `skipped_message`."""

from __future__ import annotations

import json
import os
import queue
import signal
import time

import paho.mqtt.client as mqtt
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from protocols.uplink.payload import DataType, Metric, Payload, encode
from protocols.uplink.topics import MessageType, Topic
from tests.aggregator_process import AggregatorProcess, write_aggregator_config
from tests.support import wait_for

GROUP, NODE, DEVICE = "btms", "gw-d", "UPS-A:A1"
T0_MS = 1_767_000_000_000
INFLIGHT = 20  # Mosquitto's max_inflight_messages (tests/aggregator/conftest.py): a stall shows past it


class Edge:
    """An edge node that publishes its birth and numbered data, and a witness subscribed to the
    same topics: what the witness heard, the broker has sent the aggregator too."""

    def __init__(self, port: int) -> None:
        self.seq = 0
        self.heard: queue.SimpleQueue = queue.SimpleQueue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edge-gw-d")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.witness = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="witness-gw-d")
        self.witness.on_message = lambda c, u, m: self.heard.put(m.topic)
        self.witness.connect("127.0.0.1", port)
        self.witness.subscribe(f"spBv1.0/{GROUP}/+/{NODE}/#", qos=1)
        self.witness.loop_start()

    def _publish(self, kind: MessageType, metrics: tuple[Metric, ...], device: str | None = None) -> None:
        seq = None if kind is MessageType.NDEATH else self.seq
        payload = Payload(int(time.time() * 1000), metrics, seq)
        self.client.publish(str(Topic(GROUP, kind, NODE, device)), encode(payload), qos=1).wait_for_publish(5)
        if seq is not None:
            self.seq = (self.seq + 1) % 256

    def birth(self) -> None:
        self._publish(MessageType.NBIRTH, (Metric("bdSeq", DataType.UINT64, 1),))
        self._publish(MessageType.DBIRTH, (Metric("string.voltage", DataType.DOUBLE, None, T0_MS),), DEVICE)

    def data(self, numbers: range) -> None:
        for i in numbers:
            self._publish(MessageType.DDATA, (Metric("string.voltage", DataType.DOUBLE, 500.0 + i, T0_MS + i),), DEVICE)

    def death_with_a_text_bdseq(self) -> None:
        """An NDEATH whose bdSeq is a text: the proxy's comparison with its number raises."""
        self._publish(MessageType.NDEATH, (Metric("bdSeq", DataType.STRING, "one"),))

    def wait_heard(self, count: int) -> None:
        def heard() -> bool:
            nonlocal count
            while count and not self.heard.empty():
                self.heard.get()
                count -= 1
            return count == 0

        wait_for(heard, timeout=10, what="the witness to hear what was published")

    def stop(self) -> None:
        for client in (self.client, self.witness):
            client.loop_stop()
            client.disconnect()


def stored(postgres) -> list[str]:
    """The edge node's records in the order they were written: number|voltage."""
    return postgres.psql(
        f"SELECT (extract(epoch FROM ts) * 1000)::bigint - {T0_MS}, nums[1] FROM record "
        f"WHERE edge_node = '{NODE}' ORDER BY stored_at, ts"
    ).split()


def expected(count: int) -> list[str]:
    return [f"{i}|{500 + i}" for i in range(count)]


def log_events(aggregator: AggregatorProcess) -> list[dict]:
    text = (aggregator.config.parent / "agg" / "log" / "gateway.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def actor_pid(aggregator: AggregatorProcess, logger: str) -> int:
    """The live actor process that logged as `logger` (every log line carries its pid)."""
    pids = aggregator.actor_pids()
    found = {e["pid"] for e in log_events(aggregator) if e.get("logger") == logger and e.get("pid") in pids}
    assert len(found) == 1, f"{logger}: {found}"
    return found.pop()


@pytest.fixture
def aggregator(tmp_path, postgres, broker):
    postgres.psql(
        "DROP TABLE IF EXISTS record, metric_layout, offline_alarm, gateway_alarm_event, skipped_message CASCADE"
    )
    config = write_aggregator_config(tmp_path, {"host": "127.0.0.1", "port": broker}, postgres.dsn)
    with AggregatorProcess.serving(config) as process:
        yield process


def kill_holding(aggregator: AggregatorProcess, edge: Edge, pid: int, numbers: range) -> None:
    """Stop the actor, let the aggregator take `numbers` (it hands them on to the stopped actor),
    then SIGKILL it: it dies holding them."""
    os.kill(pid, signal.SIGSTOP)
    try:
        edge.data(numbers)
        edge.wait_heard(len(numbers))
    finally:
        os.kill(pid, signal.SIGKILL)


def assert_all_stored_without_restart(aggregator, edge: Edge, postgres, start: int, connections: int = 1) -> None:
    edge.data(range(start, start + 2 * INFLIGHT))  # more than the broker sends unacknowledged
    total = start + 2 * INFLIGHT
    wait_for(lambda: len(stored(postgres)) >= total, timeout=40, what=f"{total} records stored")
    assert stored(postgres) == expected(total)
    assert postgres.psql(f"SELECT count(*) FROM record WHERE edge_node = '{NODE}'").strip() == str(total)
    assert aggregator.process.poll() is None
    assert sum(e.get("event") == "connected to the broker" for e in log_events(aggregator)) == connections


@pytest.mark.integration
def test_a_proxy_killed_holding_messages_is_given_them_again(aggregator, postgres, broker) -> None:
    edge = Edge(broker)
    try:
        edge.birth()
        edge.data(range(5))
        wait_for(lambda: len(stored(postgres)) == 5, timeout=20, what="five records stored")
        proxy = actor_pid(aggregator, "btms.aggregator.proxy")
        kill_holding(aggregator, edge, proxy, range(5, 15))
        wait_for(lambda: proxy not in aggregator.actor_pids(), timeout=10, what="the proxy to be gone")
        assert_all_stored_without_restart(aggregator, edge, postgres, 15)
    finally:
        edge.stop()


@pytest.mark.integration
def test_a_store_killed_holding_records_is_replaced_and_they_are_stored(aggregator, postgres, broker) -> None:
    edge = Edge(broker)
    try:
        edge.birth()
        edge.data(range(5))
        wait_for(lambda: len(stored(postgres)) == 5, timeout=20, what="five records stored")
        store = actor_pid(aggregator, "btms.aggregator.store")
        kill_holding(aggregator, edge, store, range(5, 15))
        assert_all_stored_without_restart(aggregator, edge, postgres, 15)
    finally:
        edge.stop()


@pytest.mark.integration
def test_a_subscriber_killed_holding_messages_is_replaced_and_the_proxies_answer_the_new_one(
    aggregator, postgres, broker
) -> None:
    """The broker gives the new subscriber (the same persistent session) what the dead one had
    not acknowledged; the proxies must send the new one its acknowledgements."""
    edge = Edge(broker)
    try:
        edge.birth()
        edge.data(range(5))
        wait_for(lambda: len(stored(postgres)) == 5, timeout=20, what="five records stored")
        subscriber = actor_pid(aggregator, "btms.aggregator.mqtt")
        kill_holding(aggregator, edge, subscriber, range(5, 15))
        wait_for(
            lambda: sum(e.get("event") == "connected to the broker" for e in log_events(aggregator)) == 2,
            timeout=20,
            what="the new subscriber to connect",
        )
        assert_all_stored_without_restart(aggregator, edge, postgres, 15, connections=2)
    finally:
        edge.stop()


@pytest.mark.integration
def test_a_message_the_proxy_fails_on_is_kept_aside_and_the_rest_is_stored(aggregator, postgres, broker) -> None:
    edge = Edge(broker)
    try:
        edge.birth()
        edge.data(range(5))
        wait_for(lambda: len(stored(postgres)) == 5, timeout=20, what="five records stored")
        edge.death_with_a_text_bdseq()
        assert_all_stored_without_restart(aggregator, edge, postgres, 5)
        topic = f"spBv1.0/{GROUP}/NDEATH/{NODE}"
        assert postgres.psql(f"SELECT topic, seq IS NULL FROM skipped_message WHERE edge_node = '{NODE}'").split() == [
            f"{topic}|t"
        ]
        skipped = [e for e in log_events(aggregator) if e.get("event") == "message skipped"]
        assert [(e["topic"], e["seq"], e["edge_node"]) for e in skipped] == [(topic, None, NODE)]
        status, text = aggregator.get("/metrics")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert [(s.labels, s.value) for s in families["btms_aggregator_skipped_messages"].samples] == [
            ({"gateway": NODE}, 1.0)
        ]
    finally:
        edge.stop()
