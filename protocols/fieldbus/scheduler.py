"""The one scan scheduler of a field bus, whatever transport carries its requests.

Only one party may talk on an RS-485 line at a time, so every request to the devices of a bus
goes through one BusScheduler, in its own thread (serial I/O must not block the FieldBus
actor's message handling; the simulator's transport runs in the same thread). Its results go
out through the callbacks, which run in that thread: hand them over, do not block in them.

- Scans start on an absolute schedule, scan k at start + k × scan_period_s: re-arming relative
  to the last start drifts by the scan's own time. A scan that overruns skips the slots it
  missed instead of bursting to catch up; a period of 0 runs the bus flat out.
- A scan reads every string master, then every BM-LC IO module. A device that does not answer
  gives `StringScan(responded=False)` / `IoModuleScan(responded=False)` (stale, never current).
- Commands (SetOutput) jump the queue: they go on the wire before the next request, also
  between the requests of one string, so one waits at most for the request already on the
  line; between scans the thread wakes for them at once.
- Each device's unanswered scans in a row are counted here and nowhere else
  (protocols/fieldbus/outages.py): from the `bus.miss_limit`-th on, its scans carry
  `communication_lost=True`, the verdict its string master or master controller raises the
  alarm on; its first answer ends it. The outage is logged and reported once, its recovery once.
- A lost port is reported once and reopened with exponential backoff; meanwhile every scan
  reports every device as not answering. Those scans count toward each device's verdict (its
  data is as missing), but not toward a device's own outage report: the port is that report.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from battery.readings import StringScan
from battery.site import BusConfig, StringConfig
from observability.log import get_logger
from protocols.fieldbus import device_maps as dm
from protocols.fieldbus.bus_messages import BusEvent, BusPortLost, IoModuleScan, OutputWritten, SetOutput
from protocols.fieldbus.outages import DeviceWatch, PortWatch
from protocols.fieldbus.transport import FieldBusTransport, PortLost, TransportError

_STOP_TIMEOUT_S = 5.0


class ScanSchedule:
    """Scan slots at start + k × period, measured on the monotonic clock."""

    def __init__(self, period_s: float, start: float) -> None:
        self.period_s = period_s
        self.start = start
        self.slot = 0

    @property
    def due(self) -> float:
        """When the current slot's scan should start."""
        return self.start + self.slot * self.period_s

    def advance(self, now: float) -> int:
        """Move to the next slot once a scan has ended at `now`; return the slots it overran."""
        if self.period_s <= 0:  # flat out: the next scan is due as soon as this one ends
            self.start, self.slot = now, 0
            return 0
        self.slot += 1
        if now <= self.due:
            return 0
        missed = int((now - self.due) // self.period_s) + 1
        self.slot += missed
        return missed


@dataclass(frozen=True)
class _Command:
    command: SetOutput
    arrived: float  # time.monotonic()


class BusScheduler:
    def __init__(
        self,
        bus: BusConfig,
        strings: tuple[StringConfig, ...],
        io_modules: tuple[int, ...],
        transport: FieldBusTransport,
        on_scan: Callable[[StringScan], None],
        on_event: Callable[[BusEvent], None],
        *,
        on_io_scan: Callable[[IoModuleScan], None] | None = None,
    ) -> None:
        self.bus = bus
        self.strings = strings
        self.io_modules = io_modules
        self.transport = transport
        self.on_scan = on_scan
        self.on_event = on_event
        self.on_io_scan = on_io_scan
        self.scan_no = 0  # of the scan running or last run; the first is 1
        self.scans_done = 0
        self.worst_lag_s = 0.0  # latest start of a scan behind its slot
        self.log = get_logger("btms.fieldbus", bus=bus.id)
        self._watch = {
            s.address: DeviceWatch(
                bus.id, s.address, f"string {s.id} ({dm.DeviceKind.STRING_MASTER.value})", bus.miss_limit
            )  # fmt: skip
            for s in strings
        }
        for address in io_modules:
            self._watch[address] = DeviceWatch(bus.id, address, dm.DeviceKind.IO_MODULE.value, bus.miss_limit)
        self._port = PortWatch(bus.id, bus.port)
        self._commands: collections.deque[_Command] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        self._overrunning = False
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        transport.between_requests = self.run_commands

    # ---- any thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"fieldbus-{self.bus.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the request on the wire, close the port and end the thread. Idempotent.
        Raises RuntimeError (from the cause) if the thread had failed."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_TIMEOUT_S)
        if self._failure is not None:
            raise RuntimeError(f"bus {self.bus.id}: the scheduler failed") from self._failure

    @property
    def alive(self) -> bool:
        """False once the thread has ended (stopped, or failed: stop() re-raises why)."""
        return self._thread is not None and self._thread.is_alive()

    def submit(self, command: SetOutput) -> None:
        """Queue a relay output command: it goes on the wire before the next request. Its outcome
        comes back as one OutputWritten through on_event."""
        if not 1 <= command.output <= dm.IO_COUNT:
            error = (f"bus {self.bus.id}: output {command.output} of device {command.device_address} "
                     f"is not 1..{dm.IO_COUNT}")  # fmt: skip
            self.on_event(OutputWritten(command.device_address, command.output, command.on, False, error, 0.0,
                                        time.time()))  # fmt: skip
            return
        self._commands.append(_Command(command, time.monotonic()))
        self._wake.set()

    # ---- the scheduler's thread -----------------------------------------------------------------

    def _run(self) -> None:
        try:
            schedule = ScanSchedule(self.bus.scan_period_s, time.monotonic())
            while not self._stopping:
                self.worst_lag_s = max(self.worst_lag_s, time.monotonic() - schedule.due)
                self.scan()
                self._note_overrun(schedule.advance(time.monotonic()))
                self._idle_until(schedule.due)
        except BaseException as failure:  # noqa: BLE001 - kept and re-raised by stop(), never hidden
            self._failure = failure
            self.log.exception("field bus scheduler failed")
        finally:
            self.transport.close()

    def scan(self) -> None:
        """One round over every device of the bus (in the scheduler's thread)."""
        self.scan_no += 1
        connected = self._open()
        for string in self.strings:
            self.run_commands()
            if self._stopping:
                return
            started = time.time()
            scan = self._read_string(string, started) if connected else self._unreachable(string.address, None)
            self.on_scan(scan or StringScan(string.id, self.scan_no, started, responded=False,
                                            communication_lost=self._watch[string.address].lost))  # fmt: skip
            connected = connected and self.transport.is_open
        for address in self.io_modules:
            self.run_commands()
            if self._stopping:
                return
            started = time.time()
            io_scan = self._read_io_module(address, started) if connected else self._unreachable(address, None)
            if self.on_io_scan is not None:
                self.on_io_scan(io_scan or IoModuleScan(self.bus.id, address, self.scan_no, started, responded=False,
                                                        communication_lost=self._watch[address].lost))  # fmt: skip
            connected = connected and self.transport.is_open
        self.scans_done += 1

    def run_commands(self) -> None:
        """Carry out every command waiting; the transport calls this between requests too."""
        while self._commands and not self._stopping:
            self._write(self._commands.popleft())

    def _read_string(self, string: StringConfig, started: float) -> StringScan | None:
        try:
            scan = self.transport.read_string(string, self.scan_no, started)
        except PortLost as lost:
            return self._unreachable(string.address, str(lost))
        except TransportError as silent:
            self._missed(string.address, str(silent))
            return None
        self._answered(string.address)
        return scan

    def _read_io_module(self, address: int, started: float) -> IoModuleScan | None:
        try:
            state = self.transport.read_io_module(address)
        except PortLost as lost:
            return self._unreachable(address, str(lost))
        except TransportError as silent:
            self._missed(address, str(silent))
            return None
        self._answered(address)
        return IoModuleScan(self.bus.id, address, self.scan_no, started, True, state.inputs, state.outputs)

    def _write(self, item: _Command) -> None:
        command = item.command
        queued_ms = (time.monotonic() - item.arrived) * 1000.0
        error = ""
        if not self.transport.is_open:
            error = f"port {self.bus.port} is lost"
        else:
            try:
                self.transport.write_output(command.device_address, command.output, command.on)
            except PortLost as lost:
                self._port_lost(str(lost))
                error = str(lost)
            except TransportError as failure:
                error = str(failure)
        if error:
            self.log.warning("output write failed", device=command.device_address, output=command.output,
                             on=command.on, reason=command.reason, error=error)  # fmt: skip
        self.on_event(OutputWritten(command.device_address, command.output, command.on, not error, error, queued_ms,
                                    time.time()))  # fmt: skip

    def _idle_until(self, deadline: float) -> None:
        """Wait for the next slot, carrying out commands as they arrive."""
        while not self._stopping:
            self.run_commands()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            if self._commands:
                continue
            self._wake.wait(left)

    def _note_overrun(self, missed: int) -> None:
        """Logged once when scans start to overrun their period and once when they keep it again."""
        if missed and not self._overrunning:
            self.log.warning("scans overrun their period", missed_scans=missed, period_s=self.bus.scan_period_s)
        elif not missed and self._overrunning:
            self.log.info("scans keep their period again")
        self._overrunning = bool(missed)

    # ---- outages ------------------------------------------------------------------------------

    def _open(self) -> bool:
        if self.transport.is_open:
            return True
        if not self._port.may_try_to_open(time.monotonic()):
            return False
        try:
            self.transport.open()
        except PortLost as failure:
            self._announce_port_lost(self._port.open_failed(time.time(), time.monotonic(), str(failure)))
            return False
        event = self._port.opened(time.time())
        if event is not None:
            self.log.info("port reopened", port=self.bus.port, outage_s=round(event.outage_s, 3))
            self.on_event(event)
        return True

    def _port_lost(self, reason: str) -> None:
        self._announce_port_lost(self._port.lost(time.time(), reason))

    def _announce_port_lost(self, event: BusPortLost | None) -> None:
        if event is not None:
            self.log.warning("port lost", port=self.bus.port, reason=event.reason)
            self.on_event(event)

    def _missed(self, address: int, reason: str) -> None:
        watch = self._watch[address]
        event = watch.missed(time.time(), reason)
        if event is not None:
            self.log.warning("device communication lost", device=watch.label, address=address, misses=event.misses,
                             reason=reason)  # fmt: skip
            self.on_event(event)

    def _unreachable(self, address: int, port_failure: str | None) -> None:
        """No request reached the device (the port is lost, or failed during its request): a
        miss for its verdict, reported as the port's. Returns no scan: the caller's silent one."""
        if port_failure is not None:
            self._port_lost(port_failure)
        self._watch[address].unreachable()

    def _answered(self, address: int) -> None:
        watch = self._watch[address]
        event = watch.answered(time.time())
        if event is not None:
            self.log.info("device communication recovered", device=watch.label, address=address,
                          outage_s=round(event.outage_s, 3))  # fmt: skip
            self.on_event(event)
