"""Poll one RS-485 line over Modbus RTU: round-robin scans, commands first, outages reported once.

Runs in its own thread with an asyncio loop and pymodbus's AsyncModbusSerialClient: the sync
client is pathological over `socket://` and the async one measured 1.10× wire time on a paced
line (PROTOCOLS.md §2). The FieldBus actor owns one poller per serial port and gets its results
through the callbacks, which run in the poller thread (hand them over, do not block in them).

- A scan reads every string master in as few requests as the map allows (header and cells
  are contiguous; 125 registers per request), then every BM-LC IO module (one request each).
  Scans start at most every `bus.scan_period_s`; with a short period the bus runs flat out.
- A command (SetOutput) goes on the wire before the next request: it waits at most for the
  request already on the line.
- A device that does not answer gives `StringScan(responded=False)` (stale, never current);
  after `bus.miss_limit` misses in a row the outage is reported and logged once, and its
  recovery once. A lost port (adapter unplugged, pty gone, TCP converter down) is reported
  once and reopened with exponential backoff; meanwhile every scan period reports every
  device as not answering, so nothing downstream mistakes old values for current ones.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from pymodbus.client import AsyncModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType

from observability.log import get_logger
from battery.readings import StringScan
from protocols.fieldbus.bus_messages import BusEvent, BusPortLost, BusPortReopened, DeviceCommunicationLost, DeviceCommunicationRecovered, IoModuleScan, OutputWritten, SetOutput
from battery.site import BusConfig, StringConfig
from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.rtu_codec import (
    DecodeError,
    decode_io_module,
    decode_string_master,
    string_master_cell_count,
)

REOPEN_BACKOFF_FIRST_S = 0.1
REOPEN_BACKOFF_MAX_S = 5.0
_STOP_TIMEOUT_S = 5.0

log = get_logger("btms.fieldbus.rtu")


class _PortLost(Exception):
    pass


class _NoAnswer(Exception):
    """The device did not answer usefully; the message says why (for the outage log)."""


@dataclass
class DeviceWatch:
    """Consecutive misses of one device and the once-only lost/recovered reports. Pure logic."""

    bus_id: str
    address: int
    label: str
    miss_limit: int
    misses: int = 0
    lost_at: float | None = None  # when communication was declared lost

    def answered(self, now: float) -> DeviceCommunicationRecovered | None:
        self.misses = 0
        if self.lost_at is None:
            return None
        event = DeviceCommunicationRecovered(self.bus_id, self.address, self.label, now - self.lost_at, now)
        self.lost_at = None
        return event

    def missed(self, now: float, reason: str) -> DeviceCommunicationLost | None:
        self.misses += 1
        if self.lost_at is None and self.misses >= self.miss_limit:
            self.lost_at = now
            return DeviceCommunicationLost(self.bus_id, self.address, self.label, self.misses, reason, now)
        return None


@dataclass(frozen=True)
class _Command:
    command: SetOutput
    arrived: float  # time.monotonic()


class RtuBusPoller:
    def __init__(
        self,
        bus: BusConfig,
        strings: tuple[StringConfig, ...],
        io_modules: tuple[int, ...],
        on_scan: Callable[[StringScan], None],
        on_event: Callable[[BusEvent], None],
        *,
        on_io_scan: Callable[[IoModuleScan], None] | None = None,
        retries: int = 1,
    ) -> None:
        if bus.is_simulated:
            raise ValueError(f"bus {bus.id}: {bus.port} is the in-process simulator, not a serial line")
        self.bus = bus
        self.strings = strings
        self.io_modules = io_modules
        self.on_scan = on_scan
        self.on_event = on_event
        self.on_io_scan = on_io_scan
        self.retries = retries
        self.scan_no = 0
        self.last_scan_s: float | None = None  # duration of the last complete scan
        self._watch = {
            s.address: DeviceWatch(bus.id, s.address, f"string {s.id} ({dm.DeviceKind.STRING_MASTER.value})",
                                   bus.miss_limit)  # fmt: skip
            for s in strings
        }
        for address in io_modules:
            self._watch[address] = DeviceWatch(bus.id, address, dm.DeviceKind.IO_MODULE.value, bus.miss_limit)
        self._commands: collections.deque[_Command] = collections.deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._client: AsyncModbusSerialClient | None = None
        self._port_lost_at: float | None = None
        self._reopen_delay = REOPEN_BACKOFF_FIRST_S
        self._next_reopen = 0.0
        self._failure: BaseException | None = None

    # ---- public API (any thread) -----------------------------------------------------------

    def start(self) -> None:
        # pymodbus logs every unanswered request at ERROR; the poller reports outages itself, once.
        logging.getLogger("pymodbus.logging").setLevel(logging.CRITICAL)
        self._thread = threading.Thread(target=self._run, name=f"rtu-bus-{self.bus.id}", daemon=True)
        self._thread.start()
        if not self._started.wait(_STOP_TIMEOUT_S):
            raise RuntimeError(f"bus {self.bus.id}: the poller thread did not start")

    def stop(self) -> None:
        """Finish the request on the wire, close the port and end the thread. Idempotent."""
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            loop.call_soon_threadsafe(self._request_stop)
            thread.join(_STOP_TIMEOUT_S)
        if self._failure is not None:
            raise RuntimeError(f"bus {self.bus.id}: the poller failed") from self._failure

    @property
    def alive(self) -> bool:
        """False once the poller thread has ended (stopped, or failed: stop() re-raises why)."""
        return self._thread is not None and self._thread.is_alive()

    def submit(self, command: SetOutput) -> None:
        """Queue a relay output command; it goes on the wire before the next poll request."""
        if not 1 <= command.output <= dm.IO_COUNT:
            raise ValueError(f"bus {self.bus.id}: output {command.output} of device {command.device_address} "
                             f"is not 1..{dm.IO_COUNT}")  # fmt: skip
        self._commands.append(_Command(command, time.monotonic()))
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    # ---- the loop thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised by stop(), never hidden
            self._failure = exc
            log.exception("poller_failed", bus=self.bus.id)
            self._started.set()

    def _request_stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = AsyncModbusSerialClient(
            self.bus.port,
            framer=FramerType.RTU,
            baudrate=self.bus.baudrate,
            parity=self.bus.parity,
            stopbits=self.bus.stopbits,
            timeout=self.bus.timeout_s,
            retries=self.retries,
            reconnect_delay=0,  # reopening is ours: with backoff, and reported once
            name=self.bus.id,
        )
        self._started.set()
        try:
            await self._open(first=True)
            while not self._stopping:
                started = time.monotonic()
                await self._scan()
                self.last_scan_s = time.monotonic() - started
                await self._idle_until(started + self.bus.scan_period_s)
        finally:
            self._client.close()

    async def _open(self, first: bool = False) -> bool:
        client = self._client
        assert client is not None
        if client.connected:
            return True
        if not first and time.monotonic() < self._next_reopen:
            return False
        if await client.connect():
            if self._port_lost_at is not None:
                now = time.time()
                outage = now - self._port_lost_at
                log.info("port_reopened", bus=self.bus.id, port=self.bus.port, outage_s=round(outage, 3))
                self.on_event(BusPortReopened(self.bus.id, self.bus.port, outage, now))
                self._port_lost_at = None
            self._reopen_delay = REOPEN_BACKOFF_FIRST_S
            return True
        self._port_lost(f"cannot open {self.bus.port}")
        self._next_reopen = time.monotonic() + self._reopen_delay
        self._reopen_delay = min(self._reopen_delay * 2, REOPEN_BACKOFF_MAX_S)
        return False

    def _port_lost(self, reason: str) -> None:
        if self._port_lost_at is not None:
            return
        now = time.time()
        self._port_lost_at = now
        log.warning("port_lost", bus=self.bus.id, port=self.bus.port, reason=reason)
        self.on_event(BusPortLost(self.bus.id, self.bus.port, reason, now))

    async def _scan(self) -> None:
        self.scan_no += 1
        connected = await self._open()
        for string in self.strings:
            if self._stopping:
                return
            started = time.time()
            scan = await self._poll_string(string, started) if connected else None
            if scan is None:
                scan = StringScan(string.id, self.scan_no, started, responded=False)
            self.on_scan(scan)
            connected = connected and self._client is not None and self._client.connected
        for address in self.io_modules:
            if self._stopping:
                return
            started = time.time()
            io_scan = await self._poll_io_module(address, started) if connected else None
            if io_scan is None:
                io_scan = IoModuleScan(self.bus.id, address, self.scan_no, started, responded=False)
            if self.on_io_scan is not None:
                self.on_io_scan(io_scan)
            connected = connected and self._client is not None and self._client.connected

    async def _poll_string(self, string: StringConfig, started: float) -> StringScan | None:
        where = f"bus {self.bus.id} string {string.id} at address {string.address}"
        need = dm.string_master_register_count(string.battery.count)
        try:
            registers: list[int] = []
            for start, count in dm.read_plan(need):
                registers.extend(await self._read(string.address, start, count))
                if start == 0:
                    reported = string_master_cell_count(registers, where)
                    if reported != string.battery.count:
                        raise DecodeError(f"{where}: reports {reported} cells, the topology says {string.battery.count}")
            scan = decode_string_master(string.id, self.scan_no, started, registers)
        except _NoAnswer as exc:
            self._missed(string.address, str(exc))
            return None
        except DecodeError as exc:
            self._missed(string.address, str(exc))
            return None
        except _PortLost as exc:
            self._port_lost(str(exc))
            return None
        self._answered(string.address)
        return scan

    async def _poll_io_module(self, address: int, started: float) -> IoModuleScan | None:
        where = f"bus {self.bus.id} BM-LC at address {address}"
        try:
            state = decode_io_module(await self._read(address, 0, dm.IO_MODULE.register_count), where)
        except (_NoAnswer, DecodeError) as exc:
            self._missed(address, str(exc))
            return None
        except _PortLost as exc:
            self._port_lost(str(exc))
            return None
        self._answered(address)
        return IoModuleScan(self.bus.id, address, self.scan_no, started, True, state.inputs, state.outputs)

    async def _read(self, address: int, start: int, count: int) -> list[int]:
        """Read input registers of one device.

        Commands waiting in the queue go first: this is the only place a request starts.
        """
        await self._run_commands()
        client = self._client
        assert client is not None
        try:
            rr = await client.read_input_registers(start, count=count, device_id=address)
        except ModbusIOException as exc:
            if not client.connected:
                raise _PortLost(f"{self.bus.port}: {exc}") from exc
            raise _NoAnswer("timeout") from exc
        except ConnectionException as exc:
            raise _PortLost(f"{self.bus.port}: {exc}") from exc
        if rr.isError():
            raise _NoAnswer(f"Modbus exception {getattr(rr, 'exception_code', '?')}")
        return list(rr.registers)

    async def _run_commands(self) -> None:
        while self._commands and not self._stopping:
            item = self._commands.popleft()
            await self._write_output(item)

    async def _write_output(self, item: _Command) -> None:
        cmd = item.command
        client = self._client
        assert client is not None
        queued_ms = (time.monotonic() - item.arrived) * 1000.0
        error = ""
        if not client.connected:
            error = f"port {self.bus.port} is lost"
        else:
            try:
                rr = await client.write_coil(cmd.output - 1, cmd.on, device_id=cmd.device_address)
                if rr.isError():
                    error = f"Modbus exception {getattr(rr, 'exception_code', '?')}"
            except ModbusIOException:
                error = "timeout"
            except ConnectionException as exc:
                error = f"port {self.bus.port} is lost: {exc}"
        if error:
            log.warning("output_write_failed", bus=self.bus.id, device=cmd.device_address, output=cmd.output,
                        on=cmd.on, reason=cmd.reason, error=error)  # fmt: skip
        self.on_event(OutputWritten(cmd.device_address, cmd.output, cmd.on, not error, error, queued_ms, time.time()))

    async def _idle_until(self, deadline: float) -> None:
        """Wait for the next scan start, carrying out commands as they arrive."""
        assert self._wake is not None
        while not self._stopping:
            await self._run_commands()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            if self._commands:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=left)
            except asyncio.TimeoutError:
                return

    def _missed(self, address: int, reason: str) -> None:
        watch = self._watch[address]
        event = watch.missed(time.time(), reason)
        if event is not None:
            log.warning("device_communication_lost", bus=self.bus.id, device=watch.label, address=address,
                        misses=event.misses, reason=reason)  # fmt: skip
            self.on_event(event)

    def _answered(self, address: int) -> None:
        watch = self._watch[address]
        event = watch.answered(time.time())
        if event is not None:
            log.info("device_communication_recovered", bus=self.bus.id, device=watch.label, address=address,
                     outage_s=round(event.outage_s, 3))  # fmt: skip
            self.on_event(event)
