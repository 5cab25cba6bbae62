"""ServedActor: the shape every SCADA/NMS protocol actor shares.

On its Init message it builds its server, starts it in the event-loop thread,
subscribes to the gateway and tells it whether the server listens (ServiceStarted) or why not
(ServiceFailed: a port in use or a missing package must stop `btms run` with a clear message).
Every SiteUpdate is unpacked into the UpsStatus and StringStatus values the servers apply; alarm
notices and the uplink's state pass as they are. Commands the server produces (a Modbus write) go to the gateway.
"""

from __future__ import annotations

from typing import Any

from actors.base.protocol_actor import ProtocolActor
from actors.messages.address import Address
from actors.messages.service import ALARMS, SITE, Subscribe
from actors.messages.up import ServiceFailed, ServiceStarted, SiteUpdate
from battery.alarms.records import AlarmNotice
from battery.served_site import UplinkLink
from battery.site import Topology


class ServedActor(ProtocolActor):
    service_name = "service"

    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        self.server: Any = None

    def make_server(self, topology: Topology) -> Any:
        """The server object: async start() and stop(), apply(message); optionally async finished(),
        which returns when it stops serving on its own."""
        raise NotImplementedError

    def describe(self, topology: Topology) -> str:
        return self.service_name

    def start_serving(self, topology: Topology, sender: Address) -> None:
        if self.server is not None:
            return
        self.gateway = sender
        self.server = self.make_server(topology)
        server = self.server

        async def main() -> None:
            try:
                await server.start()
            except (OSError, ImportError) as error:
                self.post_command(ServiceFailed(self.service_name, str(error)))
                return
            self.post_command(ServiceStarted(self.service_name, self.describe(topology)))
            try:
                import asyncio

                # Until the actor stops, or until the server ends on its own: its loop then ends and
                # the actor with it, so that the gateway re-creates it (a live actor in front of a
                # dead server would drop every message).
                finished = getattr(server, "finished", None)
                await (finished() if finished is not None else asyncio.Event().wait())
            finally:
                await server.stop()

        self.start_loop(main)
        self.send(sender, Subscribe(self.myAddress, frozenset({SITE, ALARMS})))

    def receiveMsg_SiteUpdate(self, message: SiteUpdate, sender: Address):
        if self.server is not None:
            for update in message.updates:
                self.in_loop(self.server.apply, update.ups)
                for string in update.strings:
                    self.in_loop(self.server.apply, string)
        return self.watch()

    def receiveMsg_UplinkLink(self, message: UplinkLink, sender: Address):
        if self.server is not None:
            self.in_loop(self.server.apply, message)
        return self.watch()

    def receiveMsg_AlarmNotice(self, message: AlarmNotice, sender: Address):
        if self.server is not None:
            self.in_loop(self.server.apply, message)
        return self.watch()
