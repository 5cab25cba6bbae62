"""Modbus RTU over a serial line (`/dev/tty...`, a pty, `socket://` for an RS-485/Ethernet converter).

pymodbus's AsyncModbusSerialClient carries the requests: the sync client is pathological over
`socket://` and the async one measured 1.10× wire time on a paced line (PROTOCOLS.md §2). The
transport keeps a private event loop and runs each request to completion on it, so the bus
scheduler's thread sees plain blocking calls; nothing else may run on that loop.

Registers are turned into values by protocols/fieldbus/rtu_codec.py; a string master is read in
as few requests as its map allows (header and cells are contiguous; 125 registers per request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType

from battery.readings import StringScan
from battery.site import BusConfig, StringConfig
from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.rtu_codec import (
    DecodeError,
    IoModuleState,
    decode_io_module,
    decode_string_master,
    string_master_cell_count,
)
from protocols.fieldbus.transport import FieldBusTransport, NoAnswer, PortLost, TransportError


class ModbusRtuTransport(FieldBusTransport):
    def __init__(self, bus: BusConfig, retries: int = 1) -> None:
        """`retries`: a request that times out or arrives corrupted is sent once more."""
        if bus.is_simulated:
            raise ValueError(f"bus {bus.id}: {bus.port} is the in-process simulator, not a serial line")
        self.bus = bus
        self.retries = retries
        self._loop = asyncio.new_event_loop()
        self._client: AsyncModbusSerialClient | None = None
        self._closed = False

    @property
    def is_open(self) -> bool:
        return self._client is not None and self._client.connected

    def open(self) -> None:
        # pymodbus logs every unanswered request at ERROR; the scheduler reports outages itself, once.
        logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)
        if self._client is None:
            self._client = self._run(self._new_client())
        if not self._run(self._client.connect()):
            raise PortLost(f"cannot open {self.bus.port}")

    async def _new_client(self) -> AsyncModbusSerialClient:
        return AsyncModbusSerialClient(
            self.bus.port,
            framer=FramerType.RTU,
            baudrate=self.bus.baudrate,
            parity=self.bus.parity,
            stopbits=self.bus.stopbits,
            timeout=self.bus.timeout_s,
            retries=self.retries,
            reconnect_delay=0,  # reopening is the scheduler's: with backoff, and reported once
            name=self.bus.id,
        )

    def read_string(self, string: StringConfig, scan_no: int, timestamp: float) -> StringScan:
        where = f"bus {self.bus.id} string {string.id} at address {string.address}"
        registers: list[int] = []
        try:
            for n, (start, count) in enumerate(dm.read_plan(dm.string_master_register_count(string.battery.count))):
                if n:
                    self.between_requests()
                registers.extend(self._read(string.address, start, count))
                if start == 0:
                    reported = string_master_cell_count(registers, where)
                    if reported != string.battery.count:
                        raise DecodeError(f"{where}: reports {reported} cells, "
                                          f"the topology says {string.battery.count}")  # fmt: skip
            return decode_string_master(string.id, scan_no, timestamp, registers)
        except DecodeError as wrong:
            raise NoAnswer(str(wrong)) from wrong

    def read_io_module(self, device_address: int) -> IoModuleState:
        where = f"bus {self.bus.id} BM-LC at address {device_address}"
        try:
            return decode_io_module(self._read(device_address, 0, dm.IO_MODULE.register_count), where)
        except DecodeError as wrong:
            raise NoAnswer(str(wrong)) from wrong

    def write_output(self, device_address: int, output: int, on: bool) -> None:
        client = self._open_client()
        reply = self._request(client, client.write_coil(output - 1, on, device_id=device_address))
        if reply.isError():
            raise NoAnswer(f"Modbus exception {getattr(reply, 'exception_code', '?')}")

    def _read(self, address: int, start: int, count: int) -> list[int]:
        client = self._open_client()
        reply = self._request(client, client.read_input_registers(start, count=count, device_id=address))
        if reply.isError():
            raise NoAnswer(f"Modbus exception {getattr(reply, 'exception_code', '?')}")
        return list(reply.registers)

    def _open_client(self) -> AsyncModbusSerialClient:
        if not self.is_open:
            raise PortLost(f"port {self.bus.port} is not open")
        assert self._client is not None
        return self._client

    def _request(self, client: AsyncModbusSerialClient, request: Coroutine[Any, Any, Any]) -> Any:
        try:
            return self._run(request)
        except ConnectionException as failure:
            raise PortLost(f"port {self.bus.port} is lost: {failure}") from failure
        except ModbusException as failure:  # no (valid) answer after the retries
            if not client.connected:
                raise PortLost(f"port {self.bus.port} is lost: {failure}") from failure
            raise NoAnswer("timeout") from failure

    def _run(self, work: Coroutine[Any, Any, Any]) -> Any:
        if self._closed:
            work.close()
            raise TransportError(f"bus {self.bus.id}: the RTU transport is closed")
        return self._loop.run_until_complete(work)

    def close(self) -> None:
        if self._closed:
            return
        if self._client is not None:
            self._client.close()
            self._loop.run_until_complete(asyncio.sleep(0))  # let the port's close callbacks run
        self._closed = True
        self._loop.close()
