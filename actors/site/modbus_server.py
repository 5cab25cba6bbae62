"""ModbusServer actor: hosts the SCADA Modbus TCP server (protocols/scada/modbus_tcp_server.py).

A leaf: after InitModbusServer it subscribes to the gateway; the commands SCADA writes
(SetStringRelay, AcknowledgeAlarm) go to the gateway.
"""

from __future__ import annotations

from actors.base.served_actor import ServedActor
from actors.messages.address import Address
from actors.messages.down import InitModbusServer
from battery.site import Topology
from protocols.scada.modbus_tcp_server import ScadaModbusServer


class ModbusServerActor(ServedActor):
    service_name = "modbus"

    def make_server(self, topology: Topology) -> ScadaModbusServer:
        return ScadaModbusServer(topology, self.post_command)

    def describe(self, topology: Topology) -> str:
        m = topology.services.modbus
        return f"modbus://{m.host}:{m.port} (writes {'allowed for ' + ', '.join(m.write_clients) if m.write_enabled else 'refused'})"

    def receiveMsg_InitModbusServer(self, message: InitModbusServer, sender: Address):
        self.start_serving(message.topology, sender)
        return self.watch()
