"""The protocol actors: Init -> Subscribe to the gateway, statuses reach the served data."""

from __future__ import annotations

import time

import pytest
from pymodbus.client import ModbusTcpClient
from thespian.actors import ActorExitRequest, ActorSystem

from actors.messages.down import InitModbusServer
from actors.messages.service import Subscribe
from actors.messages.up import SiteUpdate, UpsUpdate
from actors.site.modbus_server import ModbusServerActor
from battery.site import ModbusTcpConfig
from tests.factories import sample_string_status, sample_topology, sample_ups_status

pytestmark = pytest.mark.integration


def free_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_modbus_actor_subscribes_and_serves_what_it_receives() -> None:
    port = free_tcp_port()
    t = sample_topology(upses=1, strings_per_ups=1, cells=2, modbus=ModbusTcpConfig(host="127.0.0.1", port=port))
    system = ActorSystem("simpleSystemBase", transientUnique=True, logDefs=False)
    try:
        actor = system.createActor(ModbusServerActor)
        reply = system.ask(actor, InitModbusServer(t), 10)
        assert isinstance(reply, Subscribe) and reply.subscriber == actor
        status = sample_string_status(t, "s1")
        system.tell(
            actor, SiteUpdate((UpsUpdate(sample_ups_status(t, status.ups_id), (status,)),))
        )  # as the gateway sends it
        client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        deadline = time.monotonic() + 10
        while not client.connect() and time.monotonic() < deadline:  # the loop binds after Init returns
            system.listen(0.05)
        assert client.connected
        try:
            deadline = time.monotonic() + 10
            regs: list[int] = []
            while time.monotonic() < deadline:
                regs = client.read_holding_registers(100, count=2, device_id=101).registers
                if regs[0] == 1:
                    break
                system.listen(0.05)  # lets the simple base run the actor's queued work
            assert regs == [1, status.cell_voltage_mv[0]]
        finally:
            client.close()
        system.tell(actor, ActorExitRequest())
    finally:
        system.shutdown()
