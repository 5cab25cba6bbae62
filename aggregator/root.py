"""Aggregator: the root of the aggregator's actor tree.

It creates the Store, the web server, the Modbus view if configured, and the MQTT subscriber
(last: the subscriber only starts taking messages once there is somewhere to put them), one
GatewayProxy per edge node the subscriber hears of, and answers the main program once every
service is up. A child that dies is created again and given what it had: a new proxy is named
to the subscriber, which gives it every message the dead one held that is not stored yet (it
asks for a birth, see edge_node.py); a new Store, once connected, is named to the subscriber,
which names it to every proxy and gives them again what the dead Store held
(aggregator/delivery.py); a new Modbus view is named to every proxy, which sends it its view at
once.
"""

from __future__ import annotations

import os

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited

from actors.messages.down import Heartbeat
from actors.messages.up import HeartbeatAnswer
from aggregator.gateway_proxy import GatewayProxy
from aggregator.messages import (
    AggregatorFailed,
    AggregatorReady,
    InitAggregator,
    InitProxy,
    InitService,
    NeedProxy,
    ProxyFor,
    ServiceDown,
    ServiceUp,
    StoreAt,
    ViewTo,
)
from aggregator.modbus_actor import AggregatorModbus
from aggregator.store_actor import StoreActor
from aggregator.subscriber import MqttSubscriber
from aggregator.web_actor import AggregatorWeb
from observability.log import configure_structlog, get_logger

SERVICES = ("store", "web", "mqtt")
# The services each GatewayProxy sends its live view to, and whether with the batteries' values
# (the web shows them; the Modbus view serves no battery, and they are most of a view's size).
VIEWERS = {"web": True, "modbus": False}
KINDS = {"store": StoreActor, "web": AggregatorWeb, "mqtt": MqttSubscriber, "modbus": AggregatorModbus}


class Aggregator(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.log = get_logger("btms.aggregator")
        self.config = None
        self.asker = None
        self.up: dict[str, str] = {}
        self.children: dict[str, object] = {}
        self.proxies: dict[str, object] = {}
        self.exiting = False

    def receiveMsg_InitAggregator(self, message: InitAggregator, sender):
        if self.config is not None:
            return
        self.config, self.asker = message.config, sender
        self._start("store")
        self._start("web")
        if message.config.modbus is not None:
            self._start("modbus")

    def _services(self) -> set[str]:
        return {*SERVICES, "modbus"} if self.config is not None and self.config.modbus is not None else set(SERVICES)

    def _start(self, name: str) -> None:
        child = self.createActor(KINDS[name])
        self.children[name] = child
        self.send(child, InitService(self.config, web=self.children.get("web"), store=self.children.get("store")))
        if name in VIEWERS:
            for proxy in self.proxies.values():
                self.send(proxy, ViewTo(name, child, cells=VIEWERS[name]))

    def receiveMsg_ServiceUp(self, message: ServiceUp, sender):
        first = message.name not in self.up
        self.up[message.name] = message.where
        self.log.info("service up", service=message.name, where=message.where)
        if not first and message.name == "store" and "mqtt" in self.children:
            # a re-created Store: the subscriber names it to the proxies and replays what the dead one held
            self.send(self.children["mqtt"], StoreAt(self.children["store"]))
        if (
            first
            and message.name in ("store", "web")
            and {"store", "web"} <= set(self.up)
            and "mqtt" not in self.children
        ):
            self._start("mqtt")
        if first and self._services() <= set(self.up) and self.asker is not None:
            self.send(self.asker, AggregatorReady(self.up["web"]))
            self.asker = None

    def receiveMsg_ServiceDown(self, message: ServiceDown, sender):
        self.log.error("service failed", service=message.name, reason=message.reason)
        if self.asker is not None:
            self.send(self.asker, AggregatorFailed(f"{message.name}: {message.reason}"))
            self.asker = None

    def receiveMsg_NeedProxy(self, message: NeedProxy, sender):
        proxy = self.proxies.get(message.edge_node)
        if proxy is None:
            proxy = self._proxy(message.edge_node)
        self.send(sender, ProxyFor(message.edge_node, proxy))

    def _proxy(self, edge_node: str):
        proxy = self.createActor(GatewayProxy)
        self.proxies[edge_node] = proxy
        self.send(
            proxy,
            InitProxy(edge_node, self.config, self.children["store"], self.children["mqtt"]),
        )
        for name, cells in VIEWERS.items():
            if name in self.children:
                self.send(proxy, ViewTo(name, self.children[name], cells))
        return proxy

    def receiveMsg_Heartbeat(self, message: Heartbeat, sender):
        """The main program's probe (actors/runtime/tree_monitor.py): the tree still runs."""
        self.send(sender, HeartbeatAnswer(message.sequence, "aggregator", os.getpid(), os.getppid()))

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        self.exiting = True  # the system stops: its children exit with it, none is re-created

    def receiveMsg_ChildActorExited(self, message: ChildActorExited, sender):
        if self.config is None or self.exiting:
            return
        for name, child in list(self.children.items()):
            if child == message.childAddress:
                self.log.error("service actor exited; creating it again", service=name)
                self._start(name)
                if name == "mqtt":
                    for edge_node, proxy in self.proxies.items():
                        self.send(self.children["mqtt"], ProxyFor(edge_node, proxy))
                return
        for edge_node, proxy in list(self.proxies.items()):
            if proxy == message.childAddress:
                self.log.error("gateway proxy exited; creating it again", edge_node=edge_node)
                self.send(self.children["mqtt"], ProxyFor(edge_node, self._proxy(edge_node)))
                return
