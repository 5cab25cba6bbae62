"""FieldBus: the one owner of a field bus (an RS-485 line or the in-process simulator).

Only one party may talk on an RS-485 line at a time, so every request to the devices of a bus
goes through this actor. It starts a scan on an absolute schedule (re-arming relative to the
last tick drifts by milliseconds per tick, THESPIAN.md §2), hands each string master one
StringScan per scan, and carries out output commands between scans as soon as they arrive.
"""

from __future__ import annotations

import time
from datetime import timedelta

from thespian.actors import ActorExitRequest, ActorTypeDispatcher

from actors.log import configure_structlog, get_logger
from actors.messages import (
    AttachMasterController,
    AttachString,
    BusStats,
    GetBusStats,
    InitFieldBus,
    InjectSimFault,
    IoModuleScan,
    OutputWritten,
    SetOutput,
    SetSimInput,
)
from protocols.fieldbus_transport import FieldBusTransport, TransportError


def open_transport(message: InitFieldBus) -> FieldBusTransport:
    """The transport for the bus's port: the simulator for sim://, Modbus RTU otherwise."""
    if message.bus.is_simulated:
        from protocols.sim_transport import SimTransport

        return SimTransport(message.bus, message.topology)
    raise TransportError(
        f"bus {message.bus.id}: port {message.bus.port!r}: serial transport not available in this build"
    )


class FieldBus(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.bus = None
        self.strings: dict = {}
        self.masters: dict[str, object] = {}
        self.master_controller = None
        self.io_module_addresses: tuple[int, ...] = ()
        self.transport: FieldBusTransport | None = None
        self.t0 = 0.0
        self.scan_no = 0
        self.worst_lag_s = 0.0
        self.outputs_written = 0
        self.log = get_logger("btms.fieldbus")

    def receiveMsg_InitFieldBus(self, message: InitFieldBus, sender):
        self.bus = message.bus
        self.strings = {s.id: s for s in message.strings}
        if message.master_controller is not None:
            self.io_module_addresses = tuple(m.address for m in message.master_controller.io_modules)
        self.log = get_logger("btms.fieldbus", bus=self.bus.id)
        self.transport = open_transport(message)
        self.t0 = time.monotonic()
        self.scan_no = 0
        self.wakeupAfter(timedelta(seconds=0), payload="scan")
        self.log.info("field bus started", port=self.bus.port, strings=len(self.strings))

    def receiveMsg_AttachString(self, message: AttachString, sender):
        self.masters[message.string_id] = message.master

    def receiveMsg_AttachMasterController(self, message: AttachMasterController, sender):
        self.master_controller = message.master_controller

    def receiveMsg_WakeupMessage(self, message, sender):
        if message.payload != "scan" or self.transport is None:
            return
        period = self.bus.scan_period_s
        due = self.t0 + self.scan_no * period
        now = time.monotonic()
        self.worst_lag_s = max(self.worst_lag_s, now - due)
        self._scan()
        self.scan_no += 1
        next_due = self.t0 + self.scan_no * period
        now = time.monotonic()
        if now > next_due:  # overran: skip the missed slots instead of bursting to catch up
            missed = int((now - next_due) // period) + 1
            self.log.warning("scan overran its period", missed_scans=missed)
            self.scan_no += missed
            next_due = self.t0 + self.scan_no * period
        self.wakeupAfter(timedelta(seconds=max(0.0, next_due - now)), payload="scan")

    def _scan(self) -> None:
        timestamp = time.time()
        for string_id, master in self.masters.items():
            scan = self.transport.poll_string(self.strings[string_id], self.scan_no, timestamp)
            self.send(master, scan)
        if self.master_controller is not None:
            for address in self.io_module_addresses:
                inputs = self.transport.read_inputs(address)
                self.send(
                    self.master_controller,
                    IoModuleScan(self.bus.id, address, self.scan_no, timestamp, inputs is not None, inputs or ()),
                )

    def receiveMsg_SetOutput(self, message: SetOutput, sender):
        arrived = time.monotonic()
        error = ""
        try:
            self.transport.write_output(message.device_address, message.output, message.on)
        except TransportError as failure:
            error = str(failure)
        self.send(
            sender,
            OutputWritten(message.device_address, message.output, message.on, not error, error,
                          (time.monotonic() - arrived) * 1000.0, time.time()),
        )
        if error:
            self.log.error("output write failed", device=message.device_address, output=message.output, error=error)
            return
        self.outputs_written += 1
        self.log.info(
            "output written", device=message.device_address, output=message.output, on=message.on, reason=message.reason
        )

    def receiveMsg_InjectSimFault(self, message: InjectSimFault, sender):
        site = self._simulated_site()
        string = site.string(message.string_id)
        if message.clear:
            string.clear_faults(type(message.fault))
        else:
            string.inject(message.fault)
        self.log.warning("simulator fault", string=message.string_id, fault=repr(message.fault), clear=message.clear)

    def receiveMsg_SetSimInput(self, message: SetSimInput, sender):
        self._simulated_site().set_alarm_input(message.alarm, message.on)
        self.log.warning("simulator input", alarm=message.alarm, on=message.on)

    def _simulated_site(self):
        site = getattr(self.transport, "site", None)
        if site is None:
            raise TransportError(f"bus {self.bus.id}: faults can only be injected into a sim:// bus")
        return site

    def receiveMsg_GetBusStats(self, message: GetBusStats, sender):
        self.send(
            sender,
            BusStats(message.request_id, self.bus.id, self.scan_no, self.worst_lag_s * 1000.0, self.outputs_written),
        )

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        if self.transport is not None:
            self.transport.close()
