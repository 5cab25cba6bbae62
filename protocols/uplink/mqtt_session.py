"""One MQTT connection of the edge node, driven from the uplink's event loop.

paho-mqtt does the protocol. Each connection gets a new paho client and its own network
thread, which ends with the connection: paho's automatic reconnection would resend the old
connection's unacknowledged messages before the new NBIRTH, with old sequence numbers, which
a Sparkplug host must reject. The uplink reconnects by opening a new session instead.

paho's callbacks run in the network thread; they only hand events to the loop
(`call_soon_threadsafe`), where all the Sparkplug logic runs.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

LOOP_TIMEOUT_S = 0.1  # how long the network thread waits in select(); bounds how fast it sees a stop


@dataclass(frozen=True)
class Connected:
    pass


@dataclass(frozen=True)
class Refused:
    """The connection could not be made or the broker refused it (CONNACK failure)."""

    reason: str


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes


@dataclass(frozen=True)
class Acknowledged:
    """A PUBACK; `refused` is the broker's reason when it did not take the message (MQTT 5)."""

    mid: int
    refused: str | None = None


@dataclass(frozen=True)
class Ended:
    reason: str


Event = Connected | Refused | Received | Acknowledged | Ended


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes


class MqttSession:
    def __init__(
        self,
        *,
        client_id: str,
        host: str,
        port: int,
        keepalive_s: int,
        will: Will,
        tls: ssl.SSLContext | None,
        username: str | None,
        password: str | None,
        max_inflight: int = 20,
    ) -> None:
        self.host, self.port, self.keepalive_s = host, port, keepalive_s
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._disconnected = ""  # the broker's reason, when it closed the connection with one
        # MQTT 5: a broker refusing a publish (its ACL) says so in the PUBACK; under 3.1.1 it
        # acknowledges and drops it, and the outbox would delete a record nobody received.
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, reconnect_on_failure=False
        )
        client.connect_timeout = 10.0
        if tls is not None:
            client.tls_set_context(tls)
        if username is not None:
            client.username_pw_set(username, password)
        client.will_set(will.topic, will.payload, qos=1, retain=False)
        client.max_inflight_messages_set(max_inflight)  # QoS 1 publishes sent before their PUBACKs
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        # Only the network thread may touch the socket: without a loop_start() thread paho's
        # publish() writes at once from the caller's thread, and a TLS socket written from one
        # thread while the other reads corrupts the stream (the broker sees "bad record mac" and
        # drops the connection). With this callback set, publish() only queues the packet and
        # wakes the network thread's select(), which writes it.
        client.on_socket_register_write = _written_by_the_network_thread
        self.client = client

    # -- network thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._network, name="uplink-mqtt", daemon=True)
        self._thread.start()

    def _network(self) -> None:
        try:
            self.client.connect(self.host, self.port, self.keepalive_s, clean_start=True)
        except (OSError, ValueError) as error:  # refused, unreachable, TLS (ssl.SSLError is an OSError)
            self._post(Refused(f"{type(error).__name__}: {error}"))
            return
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        while not self._stop.is_set():
            rc = self.client.loop(timeout=LOOP_TIMEOUT_S)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
        if self._stop.is_set() or self._closing:
            self._post(Ended("stopped"))
        else:
            self._post(Ended(f"connection lost ({self._disconnected or mqtt.error_string(rc)})"))

    def _post(self, event: Event) -> None:
        try:
            self._loop.call_soon_threadsafe(self.events.put_nowait, event)
        except RuntimeError:  # the loop closed while the thread was ending
            pass

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._post(
            Refused(f"the broker refused the connection: {reason_code}") if reason_code.is_failure else Connected()
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._disconnected = f"the broker said: {reason_code}"

    def _on_message(self, client, userdata, message) -> None:
        self._post(Received(message.topic, bytes(message.payload)))

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        self._post(Acknowledged(mid, str(reason_code) if reason_code.is_failure else None))

    # -- from the loop ----------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, qos: int) -> int | None:
        """The message id to wait for (QoS 1), or None when the connection cannot take it."""
        info = self.client.publish(topic, payload, qos=qos, retain=False)
        return info.mid if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def subscribe(self, topic: str) -> bool:
        rc, _ = self.client.subscribe(topic, qos=1)
        return rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    async def close(self, timeout_s: float = 5.0) -> None:
        """Disconnect cleanly (the broker then drops the will) and wait for the thread to end.

        The network thread writes the DISCONNECT and then ends by itself; it is told to stop
        only if it has not within a second (a connection that no longer writes)."""
        self._closing = True
        try:
            self.client.disconnect()
        except (OSError, ValueError):
            pass
        thread = self._thread
        if thread is not None:
            await asyncio.to_thread(thread.join, min(1.0, timeout_s))
        self._stop.set()
        if thread is not None:
            await asyncio.to_thread(thread.join, timeout_s)


def _written_by_the_network_thread(client, userdata, sock) -> None:
    """paho's hook for an external loop: nothing to register, the network thread writes."""
