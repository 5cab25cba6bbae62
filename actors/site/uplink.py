"""Uplink actor: hosts the gateway's Sparkplug B edge node (protocols/uplink/uplink_server.py).

Created by the gateway only when the topology has `services.uplink`. A leaf like the other
protocol actors: after InitUplink it subscribes to the gateway's site updates and alarms; what
comes back from its loop (the link's state, the "Uplink buffer overflow" alarm) goes to the
gateway, which serves the one and hands the other to the alarm manager.
"""

from __future__ import annotations

from actors.base.served_actor import ServedActor
from actors.messages.address import Address
from actors.messages.down import InitUplink
from battery.site import Topology
from protocols.uplink.uplink_server import UplinkServer


class UplinkActor(ServedActor):
    service_name = "uplink"

    def make_server(self, topology: Topology) -> UplinkServer:
        return UplinkServer(topology, self.post_command)

    def describe(self, topology: Topology) -> str:
        uplink = topology.services.uplink
        server = self.server
        where = server.where if server is not None and server.where else (uplink.broker if uplink else "")
        return f"{where} (group {uplink.group_id if uplink else '?'})"

    def receiveMsg_InitUplink(self, message: InitUplink, sender: Address):
        self.start_serving(message.topology, sender)
        return self.watch()
