"""MqttSubscriber: the aggregator's one MQTT connection, as the Sparkplug primary host.

On every connection it subscribes to its group's namespace (`spBv1.0/<group>/#`, QoS 1) and
publishes its STATE `{"online": true}` retained, with the same STATE `online: false` as the
connection's last will (Sparkplug 3.0), so the gateways hold their live data until a host
listens. The session is persistent (clean session off, the host id as client id): while the
aggregator is away the broker keeps its QoS 1 messages. Messages are acknowledged by hand,
once stored (Handled from the Store), in the order they arrived (aggregator/ack_order.py): a
message the aggregator never stored comes again.

Messages go, undecoded, to their edge node's GatewayProxy in batches (aggregator/inbox.py):
what arrived together is one ReceivedBatch per node. Messages of a node that has no proxy yet
wait here until the Aggregator created it. Each message given to a proxy is kept until it is
stored (aggregator/delivery.py): a proxy that died is replaced (ProxyFor with a new address) and
the new one given them again; a re-created Store (StoreAt) is named to every proxy, which is
then given again what the dead Store held; a message that kills its proxy over and over, or
that its proxy cannot handle, is logged, kept in PostgreSQL as it came (`skipped_message`) and
then acknowledged, so that the stream goes on without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from thespian.actors import PoisonMessage

from actors.base.protocol_actor import ProtocolActor
from aggregator.ack_order import AckOrder
from aggregator.config import AggregatorConfig
from aggregator.delivery import Delivery, Step
from aggregator.inbox import Inbox
from aggregator.messages import (
    Handled,
    InitService,
    NeedProxy,
    ProxyFor,
    Publish,
    Received,
    ReceivedBatch,
    ServiceUp,
    SkippedMessage,
    StoreAt,
)
from aggregator.skipping import give_up
from observability.log import get_logger
from protocols.uplink.host_state import HostState
from protocols.uplink.payload import decode
from protocols.uplink.topics import NAMESPACE, state_topic


@dataclass(frozen=True)
class _Incoming:
    topic: str
    payload: bytes
    mid: int  # 0 for QoS 0: nothing to acknowledge


@dataclass(frozen=True)
class _Connected:
    code: str


class MqttSubscriber(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.log = get_logger("btms.aggregator.mqtt")
        self.client: mqtt.Client | None = None
        self.proxies: dict = {}
        self.waiting: dict[str, list[Received]] = {}
        self.deliveries: dict[str, Delivery] = {}
        self.skipping: dict[int, SkippedMessage] = {}  # token -> given up on, until the Store kept it
        self.store = None
        self.inbox = Inbox()
        self.root = None
        self.acks = AckOrder()

    def receiveMsg_InitService(self, message: InitService, sender):
        if self.client is not None:
            return self.watch()
        self.root, self.store = sender, message.store
        self.client = self._client(message.config)
        config = message.config

        async def main() -> None:
            import asyncio

            self.client.connect_async(config.broker.host, config.broker.port, config.broker.keepalive_s)
            self.client.loop_start()
            try:
                await asyncio.Event().wait()
            finally:
                self._go_offline(config)

        self.start_loop(main)
        return self.watch()

    def _client(self, config: AggregatorConfig) -> mqtt.Client:
        b = config.broker
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=config.host_id, clean_session=False, manual_ack=True
        )
        client.reconnect_delay_set(0.5, 5)
        if b.tls_ca is not None:
            client.tls_set(ca_certs=b.tls_ca, certfile=b.tls_cert, keyfile=b.tls_key)
        if b.username is not None:
            client.username_pw_set(b.username, b.password)
        self.birth_ms = int(time.time() * 1000)
        client.will_set(state_topic(config.host_id), HostState(False, self.birth_ms).encode(), qos=1, retain=True)

        def on_connect(client, userdata, flags, reason_code, properties):
            if reason_code.is_failure:
                self.post_command(_Connected(str(reason_code)))
                return
            client.subscribe(f"{NAMESPACE}/{config.group_id}/#", qos=1)
            client.publish(state_topic(config.host_id), HostState(True, self.birth_ms).encode(), qos=1, retain=True)
            self.post_command(_Connected(""))

        def on_message(client, userdata, msg):
            self.post_command(_Incoming(msg.topic, bytes(msg.payload), msg.mid if msg.qos > 0 else 0))

        client.on_connect = on_connect
        client.on_message = on_message
        return client

    def _go_offline(self, config: AggregatorConfig) -> None:
        """A clean stop says offline itself (the will is only for a vanished host)."""
        client = self.client
        if client is None:
            return
        info = client.publish(state_topic(config.host_id), HostState(False, self.birth_ms).encode(), qos=1, retain=True)
        try:
            info.wait_for_publish(2)
        except (RuntimeError, ValueError):
            pass
        client.disconnect()
        client.loop_stop()

    def on_command(self, message) -> None:
        if isinstance(message, _Incoming):
            self._route(message)
        elif isinstance(message, _Connected):
            if message.code:
                self.log.error("broker refused the connection", reason=message.code)
            else:
                self.log.info("connected to the broker")
                self.acks.connected()
                self.deliveries.clear()  # the broker sends again what was not acknowledged
                self.skipping.clear()
                self.send(self.root, ServiceUp("mqtt", "connected"))
        else:
            super().on_command(message)

    def _route(self, message: _Incoming) -> None:
        mid = self.acks.arrived(message.mid)
        parts = message.topic.split("/")
        if len(parts) < 4:
            self._ack((mid,))
            return
        node = parts[3]
        full = self.inbox.add(node, Received(message.topic, message.payload, mid, time.time()))
        if full is not None:
            self._hand_over(node, full)

    def on_commands_drained(self) -> None:
        """Every MQTT message that queued meanwhile is in the inbox: one batch per node."""
        for node, batch in self.inbox.take_all().items():
            self._hand_over(node, batch)

    def _hand_over(self, node: str, batch: list[Received]) -> None:
        if node in self.proxies:
            self._follow(node, self._delivery(node).give(batch))
            return
        if node not in self.waiting:
            self.send(self.root, NeedProxy(node))
        self.waiting.setdefault(node, []).extend(batch)

    def receiveMsg_ProxyFor(self, message: ProxyFor, sender):
        node = message.edge_node
        before = self.proxies.get(node)
        self.proxies[node] = message.proxy
        if before is not None and before != message.proxy:
            delivery = self._delivery(node)
            self.log.warning(
                "gateway proxy replaced; giving it again what it held", edge_node=node, messages=len(delivery.given)
            )
            self._follow(node, delivery.proxy_died())
        waiting = self.waiting.pop(node, [])
        if waiting:
            self._follow(node, self._delivery(node).give(waiting))
        return self.watch()

    def receiveMsg_StoreAt(self, message: StoreAt, sender):
        """The Store died holding records: every proxy gets the new one, then what it lost."""
        self.store = message.store
        for skipped in self.skipping.values():
            self.send(self.store, skipped)
        for node, proxy in self.proxies.items():
            self.send(proxy, message)
            for batch in self._delivery(node).replay():
                self.send(proxy, ReceivedBatch(batch, replay=True))
        return self.watch()

    def receiveMsg_PoisonMessage(self, message: PoisonMessage, sender):
        """A proxy failed on a batch twice (Thespian gives it back): its messages one by one."""
        batch = message.poisonMessage
        if isinstance(batch, ReceivedBatch) and batch.messages and not batch.replay:
            node = next((n for n, proxy in self.proxies.items() if proxy == sender), None)
            if node is not None:
                self.log.warning(
                    "gateway proxy failed on a batch",
                    edge_node=node,
                    messages=len(batch.messages),
                    details=str(message.details)[-500:],
                )
                self._follow(node, self._delivery(node).poisoned(batch.messages))
        return self.watch()

    def receiveMsg_Handled(self, message: Handled, sender):
        self._ack(message.mids)
        for token in message.mids:
            self.skipping.pop(token, None)
        for node, delivery in self.deliveries.items():
            self._follow(node, delivery.stored(message.mids))
        return self.watch()

    def _delivery(self, node: str) -> Delivery:
        return self.deliveries.setdefault(node, Delivery())

    def _follow(self, node: str, step: Step) -> None:
        for batch in step.batches:
            self.send(self.proxies[node], ReceivedBatch(batch))
        for message, reason in step.skipped:
            self._skip(node, message, reason)

    def _skip(self, node: str, message: Received, reason: str) -> None:
        """Given up on: logged, kept in PostgreSQL as it came, then acknowledged (by the Store)."""
        skipped = give_up(self.log, node, message, _seq(message.payload), reason, self.myAddress)
        if message.mid:
            self.skipping[message.mid] = skipped
        if self.store is not None:
            self.send(self.store, skipped)
        self._follow(node, self._delivery(node).stored((message.mid,)))

    def receiveMsg_Publish(self, message: Publish, sender):
        if self.client is not None:
            self.client.publish(message.topic, message.payload, qos=0)
        return self.watch()

    def _ack(self, tokens: tuple[int, ...]) -> None:
        for mid in self.acks.handled(tokens):
            if self.client is not None:
                self.client.ack(mid, 1)


def _seq(payload: bytes) -> int | None:
    try:
        return decode(payload).seq
    except ValueError:
        return None
