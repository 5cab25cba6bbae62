"""The uplink server against a real Mosquitto: the primary host's STATE gates everything live,
a rebirth request repeats the births, and an outbox that overflows raises and clears its alarm."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.served_site import LinkState, UplinkLink
from battery.site import ServicesConfig, StorageConfig, UplinkConfig
from protocols.uplink.host_state import HostState
from protocols.uplink.payload import DataType, Metric, Payload, decode, encode
from protocols.uplink.topics import MessageType, Topic
from protocols.uplink.uplink_server import UplinkServer
from tests.factories import make_status, sample_topology, sample_ups_status
from tests.mqtt_support import Broker, Collector
from tests.support import free_port

pytestmark = pytest.mark.integration


def topology_for(tmp_path: Path, port: int, **uplink):
    config = UplinkConfig(broker=f"127.0.0.1:{port}", group_id="g", data_period_s=0.1, **uplink)
    topology = sample_topology(upses=1, strings_per_ups=1, cells=3)
    return replace(topology, services=ServicesConfig(uplink=config), storage=StorageConfig(path=str(tmp_path / "var")))


async def until(condition, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def of_type(collector: Collector, kind: MessageType) -> list[Payload]:
    return [decode(p) for t, p, _ in collector.snapshot() if "STATE" not in t and Topic.parse(t).message_type is kind]


def feed(server: UplinkServer, topology, k: int) -> None:
    server.apply(make_status("s1", 1, time.time(), cells=3, ups_id="ups1", voltage_mv=13500 + 10 * k))
    server.apply(replace(sample_ups_status(topology, "ups1"), timestamp=time.time()))


def states(posted: list) -> list[LinkState]:
    return [m.state for m in posted if isinstance(m, UplinkLink)]


def test_nothing_live_before_the_primary_host_is_online_and_nothing_kept_from_it_after(tmp_path: Path):
    with Broker.start(tmp_path / "broker") as broker:
        collector = Collector(broker, "spBv1.0/#")
        host = broker.client("scada-host")
        host.connect("127.0.0.1", broker.port)
        host.loop_start()
        topology = topology_for(tmp_path, broker.port, primary_host_id="scada")
        posted: list = []

        def say_state(online: bool) -> None:
            state = HostState(online, int(time.time() * 1000))
            host.publish("spBv1.0/STATE/scada", state.encode(), qos=1, retain=True).wait_for_publish(5)

        async def scenario() -> None:
            server = UplinkServer(topology, posted.append)
            await server.start()
            try:
                for k in range(5):
                    feed(server, topology, k)
                    await asyncio.sleep(0.15)
                await until(lambda: LinkState.WAITING in states(posted), what="waiting for the host")
                assert of_type(collector, MessageType.NBIRTH) == [] and server.edge.outbox.records >= 5
                say_state(True)
                await until(lambda: of_type(collector, MessageType.NBIRTH), what="NBIRTH once the host is online")
                await until(lambda: server.edge.outbox.records == 0, what="the outbox sent")
                data = of_type(collector, MessageType.DDATA)
                assert data and all(m.is_historical for m in data[0].metrics)  # made before the birth
                bdseq = of_type(collector, MessageType.NBIRTH)[0].metrics[0].value

                # the host asks for a rebirth: NBIRTH again, same bdSeq, seq from 0
                rebirth = encode(Payload(1, (Metric("Node Control/Rebirth", DataType.BOOLEAN, True),)))
                host.publish("spBv1.0/g/NCMD/gw", rebirth, qos=1).wait_for_publish(5)
                births = await until(
                    lambda: len(of_type(collector, MessageType.NBIRTH)) == 2 and of_type(collector, MessageType.NBIRTH)
                )
                assert births[1].seq == 0 and births[1].metrics[0].value == bdseq

                # the host goes offline: NDEATH, and records wait in the outbox again
                say_state(False)
                await until(lambda: of_type(collector, MessageType.NDEATH), what="NDEATH when the host leaves")
                feed(server, topology, 9)
                await until(lambda: server.edge.outbox.records >= 2, what="records kept while the host is away")
                await until(lambda: states(posted)[-1] is LinkState.WAITING, what="waiting again")
            finally:
                await server.stop()

        try:
            asyncio.run(scenario())
        finally:
            host.loop_stop()
            collector.close()


def test_an_overflowing_outbox_raises_its_alarm_and_clears_it_once_sent_empty(tmp_path: Path):
    port = free_port()  # no broker yet: the link is down and the outbox fills
    topology = topology_for(tmp_path, port, outbox_max_mb=8 / 1024)  # 8 KiB: a few records
    posted: list = []

    async def scenario() -> None:
        server = UplinkServer(topology, posted.append)
        await server.start()
        try:
            for k in range(40):
                feed(server, topology, k)
                await asyncio.sleep(0.12)
                if any(isinstance(m, AlarmRaised) for m in posted):
                    break
            (raised,) = [m for m in posted if isinstance(m, AlarmRaised)]
            assert raised.kind == "uplink_buffer_overflow" and raised.value >= 1 and raised.limit == 8 / 1024
            assert server.edge.status().dropped_records >= 1
            with Broker.start(tmp_path / "broker", port=port):
                await until(lambda: any(isinstance(m, AlarmCleared) for m in posted), timeout=40, what="the clear")
        finally:
            await server.stop()

    asyncio.run(scenario())
    assert [type(m) for m in posted if isinstance(m, AlarmRaised | AlarmCleared)] == [AlarmRaised, AlarmCleared]


def test_a_missing_certificate_stops_the_uplink_naming_the_file(tmp_path: Path):
    topology = topology_for(tmp_path, free_port(), tls_ca="no-such-ca.pem")

    async def start() -> None:
        await UplinkServer(topology, [].append).start()

    with pytest.raises(OSError, match=r"services.uplink.tls_ca .*no-such-ca.pem: No such file or directory"):
        asyncio.run(start())
