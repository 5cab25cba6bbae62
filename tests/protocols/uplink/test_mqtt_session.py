"""The uplink's MQTT session over TLS: only its network thread writes to the socket.

paho without its own loop thread writes a publish at once from the caller's thread; a TLS
socket written from the event loop while the network thread reads and writes corrupts the
stream (the broker logs "bad record mac" and drops the gateway mid-replay). Every write is
watched here, and every message must still be acknowledged."""

from __future__ import annotations

import asyncio
import ssl
import threading
from pathlib import Path

import pytest

from protocols.uplink.mqtt_session import Acknowledged, Connected, Ended, MqttSession, Will
from tests.mqtt_support import Broker

pytestmark = pytest.mark.integration

MESSAGES = 500


def test_only_the_network_thread_writes_to_the_tls_socket_and_every_publish_is_acknowledged(tmp_path: Path):
    writers: set[str] = set()

    with Broker.start(tmp_path / "broker", tls=True) as broker:

        async def scenario() -> tuple[int, list]:
            session = MqttSession(
                client_id="tls-writer",
                host="127.0.0.1",
                port=broker.port,
                keepalive_s=30,
                will=Will("w/will", b""),
                tls=ssl.create_default_context(cafile=str(broker.ca)),
                username=None,
                password=None,
            )
            session.start()
            assert isinstance(await asyncio.wait_for(session.events.get(), 10), Connected)
            sock = session.client.socket()
            send = sock.send

            def watched_send(data, *args):
                writers.add(threading.current_thread().name)
                return send(data, *args)

            sock.send = watched_send
            assert session.subscribe("w/#")  # the broker sends every message back: the thread reads
            acknowledged, ended = 0, []
            for i in range(MESSAGES):
                while session.publish("w/data", b"x" * 400 + str(i).encode(), qos=1) is None:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0)
            while acknowledged < MESSAGES:
                event = await asyncio.wait_for(session.events.get(), 20)
                if isinstance(event, Acknowledged):
                    acknowledged += event.refused is None
                elif isinstance(event, Ended):
                    ended.append(event)
                    break
            await session.close()
            return acknowledged, ended

        acknowledged, ended = asyncio.run(scenario())
    assert ended == [] and acknowledged == MESSAGES
    assert writers == {"uplink-mqtt"}
