"""SnmpAgent actor: hosts the SNMP agent (protocols/scada/snmp_agent.py): tables, UPS-MIB, traps.

A leaf: after InitSnmpAgent it subscribes to the gateway; an AlarmNotice "raised"/"cleared"
becomes a trap or inform to the configured receivers. SetSnmpConfig (the settings changed at run
time) is taken by the running agent in place, on the same port.
"""

from __future__ import annotations

from actors.base.served_actor import ServedActor
from actors.messages.address import Address
from actors.messages.down import InitSnmpAgent, SetSnmpConfig
from battery.site import Topology
from protocols.scada.snmp_agent import BtmsSnmpAgent, v3_users_of


class SnmpAgentActor(ServedActor):
    service_name = "snmp"

    def make_server(self, topology: Topology) -> BtmsSnmpAgent:
        snmp = topology.services.snmp
        return BtmsSnmpAgent(
            topology,
            self.post_command,
            v3_users=v3_users_of(snmp),
            trap_community=snmp.trap_community,
            notify_type=snmp.notify_type,
        )

    def describe(self, topology: Topology) -> str:
        s = topology.services.snmp
        return f"snmp://{s.host}:{s.port} (v2c {'on' if s.read_community else 'off'}, {len(s.v3_users)} v3 user(s))"

    def receiveMsg_InitSnmpAgent(self, message: InitSnmpAgent, sender: Address):
        self.start_serving(message.topology, sender)
        return self.watch()

    def receiveMsg_SetSnmpConfig(self, message: SetSnmpConfig, sender: Address):
        if self.server is not None:
            self.in_loop(self.server.change_settings, message.config)
        return self.watch()
