"""End to end: a real `btms aggregate` with a `modbus:` section, a real Mosquitto and PostgreSQL, an
edge node speaking Sparkplug B with the gateway's codec, and mbpoll reading the view; the view's
actor is killed and the root creates it again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import paho.mqtt.client as mqtt
import psutil
import pytest
import yaml

from aggregator.modbus_registers import BY_NAME, base_address, decode_text
from battery.quantities import quantity
from protocols.scada import modbus_map as mm
from protocols.uplink.payload import DataType, Metric, Payload, encode
from protocols.uplink.topics import MessageType, Topic
from tests.aggregator_process import AggregatorProcess, write_aggregator_config
from tests.scada_support import mbpoll, mbpoll_values
from tests.support import free_port, wait_for

GROUP, NODE = "btms", "gw-m"


def publish(client: mqtt.Client, kind: MessageType, seq: int | None, metrics: tuple, device: str | None = None) -> None:
    payload = Payload(int(time.time() * 1000), metrics, seq)
    client.publish(str(Topic(GROUP, kind, NODE, device)), encode(payload), qos=1).wait_for_publish(5)


def string_metrics(voltage: float) -> tuple[Metric, ...]:
    t = int(time.time() * 1000)
    return (
        Metric("string.voltage", DataType.DOUBLE, voltage, t),
        Metric("string.soc", DataType.DOUBLE, 77.0, t),
        Metric("string.state", DataType.STRING, "FLOAT", t),
        Metric("string.health", DataType.STRING, "OK", t),
    )


def read(port: int, unit: int, name: str) -> list[int] | None:
    """One register's words (block 1), or None when mbpoll got no answer."""
    r = BY_NAME[name]
    address = base_address(r)
    done = mbpoll(port, unit, address, r.size)
    if done.returncode != 0:
        return None
    values = mbpoll_values(done.stdout)
    return [values[a] & 0xFFFF for a in range(address, address + r.size)]


def modbus_pid(aggregator: AggregatorProcess, port: int) -> int:
    """The actor process that listens on the Modbus port."""
    pids = aggregator.actor_pids()
    return next(
        c.pid
        for c in psutil.net_connections("tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid in pids
    )


@pytest.fixture
def aggregator(tmp_path, postgres, broker):
    config = write_aggregator_config(tmp_path, {"host": "127.0.0.1", "port": broker}, postgres.dsn)
    settings = yaml.safe_load(config.read_text())
    settings["modbus"] = {"host": "127.0.0.1", "port": free_port(), "gateways": [NODE, "gw-absent"]}
    config.write_text(yaml.safe_dump(settings))
    with AggregatorProcess.serving(config) as process:
        yield process


@pytest.mark.integration
def test_mbpoll_reads_the_site_from_a_real_aggregator_and_the_view_survives_its_actor(aggregator, broker) -> None:
    port = aggregator.settings["modbus"]["port"]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edge-gw-m")
    client.connect("127.0.0.1", broker)
    client.loop_start()
    try:
        publish(client, MessageType.NBIRTH, 0, (Metric("bdSeq", DataType.UINT64, 1),))
        publish(client, MessageType.DBIRTH, 1, string_metrics(401.25), "UPS-A:A1")
        publish(client, MessageType.DDATA, 2, string_metrics(402.5), "UPS-A:A1")
        volts = mm.encode(mm.RegType.INT32, quantity("string.voltage").to_wire(402.5))
        wait_for(lambda: read(port, 1, "string_voltage") == list(volts), timeout=20, what="the string's voltage")
        assert read(port, 1, "gateway_online") == [1] and read(port, 1, "string_status") == [1]
        assert read(port, 1, "string_soc") == [77]
        assert decode_text(read(port, 100, "directory_gateway_id") or []) == NODE
        assert read(port, 2, "gateway_online") == [0]  # listed, never heard of
        wait_for(lambda: read(port, 1, "gateway_alarm_active_count") == [0], timeout=10, what="alarms read")

        write = subprocess.run(
            ["mbpoll", "-m", "tcp", "-a", "1", "-0", "-r", "2", "-t", "4", "-1", "-p", str(port), "127.0.0.1", "5"],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert write.returncode != 0 and "Illegal function" in write.stdout + write.stderr

        killed = modbus_pid(aggregator, port)
        os.kill(killed, signal.SIGKILL)
        # The root creates the actor again and names it to the proxy, which sends the view at once
        # (the edge node sends nothing meanwhile).
        wait_for(lambda: read(port, 1, "string_voltage") == list(volts), timeout=30, what="the view to come back")
        assert modbus_pid(aggregator, port) != killed

        publish(client, MessageType.NDEATH, None, (Metric("bdSeq", DataType.UINT64, 1),))
        wait_for(lambda: read(port, 1, "gateway_online") == [0], timeout=15, what="the gateway off-line")
        assert read(port, 1, "string_voltage") == list(mm.RegType.INT32.not_available)
        assert read(port, 1, "string_status") == [2]
        wait_for(
            lambda: read(port, 1, "gateway_alarm_active_count") == [1],
            timeout=15,
            what="the off-line alarm counted from PostgreSQL",
        )
        assert read(port, 100, "site_alarm_active_count") == [1]
    finally:
        client.loop_stop()
        client.disconnect()


@pytest.mark.integration
def test_a_modbus_port_in_use_stops_the_start_with_a_clear_message(tmp_path, postgres, broker) -> None:
    config = write_aggregator_config(tmp_path, {"host": "127.0.0.1", "port": broker}, postgres.dsn)
    settings = yaml.safe_load(config.read_text())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        settings["modbus"] = {"port": taken.getsockname()[1]}
        config.write_text(yaml.safe_dump(settings))
        process = AggregatorProcess.start(config)
        try:
            assert process.process.wait(60) == 1
        finally:
            process.end()
    out = process.output.read_text()
    assert "not started: modbus: Modbus TCP server: cannot listen on 127.0.0.1:" in out, out
