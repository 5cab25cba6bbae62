"""FieldBus: the one owner of a field bus (an RS-485 line or the in-process simulator).

Only one party may talk on an RS-485 line at a time, so every request to the devices of a bus
goes through this actor. It hands each string master one StringScan per scan and each BM-LC
scan to the master controller, and carries out output commands ahead of polling.

Two modes behind one actor:
- `sim://`: the simulator is called from this actor's timer, on an absolute schedule
  (re-arming relative to the last tick drifts by milliseconds per tick, THESPIAN.md §2);
- a serial line (`/dev/tty...`, a pty, `socket://`): an RtuBusPoller runs the Modbus RTU
  conversation in its own thread (protocols/fieldbus/rtu_poller.py); its results come back through the
  ProtocolActor's watched socketpair, so they reach the actor within a millisecond.
"""

from __future__ import annotations

import time
from datetime import timedelta

from thespian.actors import ActorExitRequest

from observability.log import configure_structlog, get_logger
from actors.messages.down import AttachMasterController, AttachString, InitFieldBus
from actors.messages.service import BusStats, GetBusStats, InjectSimFault, SetSimInput
from battery.readings import StringScan
from protocols.fieldbus.bus_messages import IoModuleScan, OutputWritten, SetOutput
from actors.base.protocol_actor import ProtocolActor
from protocols.fieldbus.transport import FieldBusTransport, TransportError

_SCAN = "fieldbus-scan"
_CHECK_POLLER = "fieldbus-check-poller"
POLLER_CHECK_PERIOD = timedelta(seconds=5)


class FieldBus(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        configure_structlog()
        self.bus = None
        self.strings: dict = {}
        self.masters: dict[str, object] = {}
        self.master_controller = None
        self.io_module_addresses: tuple[int, ...] = ()
        self.transport: FieldBusTransport | None = None
        self.poller = None
        self.t0 = 0.0
        self.scan_no = 0
        self.scans_done = 0
        self.last_scan_no: int | None = None
        self.worst_lag_s = 0.0
        self.outputs_written = 0
        self.log = get_logger("btms.fieldbus")

    def receiveMsg_InitFieldBus(self, message: InitFieldBus, sender):
        self.gateway = sender
        self.bus = message.bus
        self.strings = {s.id: s for s in message.strings}
        if message.master_controller is not None:
            self.io_module_addresses = tuple(m.address for m in message.master_controller.io_modules)
        self.log = get_logger("btms.fieldbus", bus=self.bus.id)
        if self.bus.is_simulated:
            from sim.gateway_transport import SimTransport

            self.transport = SimTransport(message.bus, message.topology)
            self.t0 = time.monotonic()
            self.wakeupAfter(timedelta(seconds=0), payload=_SCAN)
        else:
            from protocols.fieldbus.rtu_poller import RtuBusPoller

            self.poller = RtuBusPoller(
                self.bus,
                message.strings,
                self.io_module_addresses,
                on_scan=self.post_command,
                on_event=self.post_command,
                on_io_scan=self.post_command,
            )
            self.poller.start()
            self.wakeupAfter(POLLER_CHECK_PERIOD, payload=_CHECK_POLLER)
        self.log.info("field bus started", port=self.bus.port, strings=len(self.strings))
        return self.watch()

    def receiveMsg_AttachString(self, message: AttachString, sender):
        self.masters[message.string_id] = message.master
        return self.watch()

    def receiveMsg_AttachMasterController(self, message: AttachMasterController, sender):
        self.master_controller = message.master_controller
        return self.watch()

    # -- results of a scan, from either mode --------------------------------------------------

    def on_command(self, message) -> None:
        """Results handed over by the RTU poller's thread."""
        if isinstance(message, StringScan):
            if message.scan_no != self.last_scan_no:  # the first string of each poller scan
                self.last_scan_no = message.scan_no
                self.scans_done += 1
            self._deliver_string(message)
        elif isinstance(message, IoModuleScan):
            self._deliver_io(message)
        elif isinstance(message, OutputWritten):
            self._output_written(message)
        # DeviceCommunicationLost/Recovered, BusPortLost/Reopened: the poller logs each exactly once
        # (issue 3); the alarms come from the string masters and the master controller, which see
        # the same silence as stale scans and count it against the bus's miss_limit.

    def _deliver_string(self, scan: StringScan) -> None:
        master = self.masters.get(scan.string_id)
        if master is not None:
            self.send(master, scan)

    def _deliver_io(self, scan: IoModuleScan) -> None:
        if self.master_controller is not None:
            self.send(self.master_controller, scan)

    def _output_written(self, result: OutputWritten) -> None:
        if result.ok:
            self.outputs_written += 1
            self.log.info("output written", device=result.device_address, output=result.output, on=result.on,
                          queued_ms=round(result.queued_ms, 1))
        else:
            self.log.error("output write failed", device=result.device_address, output=result.output, error=result.error)
        if self.master_controller is not None:
            self.send(self.master_controller, result)

    # -- the simulator's schedule --------------------------------------------------------------

    def on_wakeup(self, payload) -> None:
        if payload == _CHECK_POLLER:
            self._check_poller()
            return
        if payload != _SCAN or self.transport is None:
            return
        period = self.bus.scan_period_s
        due = self.t0 + self.scan_no * period
        self.worst_lag_s = max(self.worst_lag_s, time.monotonic() - due)
        try:
            self._simulated_scan()
        except (TransportError, ValueError, KeyError) as error:  # one bad scan must not end the schedule
            self.log.error("scan failed", scan=self.scan_no, error=f"{type(error).__name__}: {error}")
        self.scan_no += 1
        self.scans_done += 1
        next_due = self.t0 + self.scan_no * period
        now = time.monotonic()
        if now > next_due:  # overran: skip the missed slots instead of bursting to catch up
            missed = int((now - next_due) // period) + 1
            self.log.warning("scan overran its period", missed_scans=missed)
            self.scan_no += missed
            next_due = self.t0 + self.scan_no * period
        self.wakeupAfter(timedelta(seconds=max(0.0, next_due - now)), payload=_SCAN)

    def _check_poller(self) -> None:
        """A poller thread that died would leave every string silently without data: exit, and the
        gateway re-creates this bus with a new poller (and the string masters attach again)."""
        if self.poller is None:
            return
        if self.poller.alive:
            self.wakeupAfter(POLLER_CHECK_PERIOD, payload=_CHECK_POLLER)
            return
        try:
            self.poller.stop()
            reason = "it stopped"
        except RuntimeError as failure:
            reason = f"{failure}: {failure.__cause__!r}"
        self.log.error("field bus poller ended; re-creating the bus", reason=reason)
        self.poller = None
        self.send(self.myAddress, ActorExitRequest())

    def _simulated_scan(self) -> None:
        timestamp = time.time()
        for string_id in self.masters:
            self._deliver_string(self.transport.poll_string(self.strings[string_id], self.scan_no, timestamp))
        for address in self.io_module_addresses:
            inputs = self.transport.read_inputs(address)
            self._deliver_io(IoModuleScan(self.bus.id, address, self.scan_no, timestamp, inputs is not None, inputs or ()))

    # -- commands ------------------------------------------------------------------------------

    def receiveMsg_SetOutput(self, message: SetOutput, sender):
        if self.poller is not None:
            self.poller.submit(message)  # on the wire before the next poll request
            return self.watch()
        arrived = time.monotonic()
        error = ""
        try:
            self.transport.write_output(message.device_address, message.output, message.on)
        except TransportError as failure:
            error = str(failure)
        self._output_written(
            OutputWritten(message.device_address, message.output, message.on, not error, error,
                          (time.monotonic() - arrived) * 1000.0, time.time())
        )
        return self.watch()

    def receiveMsg_InjectSimFault(self, message: InjectSimFault, sender):
        string = self._simulated_site().string(message.string_id)
        if message.clear:
            string.clear_faults(type(message.fault))
        else:
            string.inject(message.fault)
        self.log.warning("simulator fault", string=message.string_id, fault=repr(message.fault), clear=message.clear)
        return self.watch()

    def receiveMsg_SetSimInput(self, message: SetSimInput, sender):
        self._simulated_site().set_alarm_input(message.alarm, message.on)
        self.log.warning("simulator input", alarm=message.alarm, on=message.on)
        return self.watch()

    def _simulated_site(self):
        site = getattr(self.transport, "site", None)
        if site is None:
            raise TransportError(f"bus {self.bus.id}: faults can only be injected into a sim:// bus")
        return site

    def receiveMsg_GetBusStats(self, message: GetBusStats, sender):
        self.send(sender, BusStats(message.request_id, self.bus.id, self.scans_done, self.worst_lag_s * 1000.0,
                                   self.outputs_written))
        return self.watch()

    def receiveMsg_ActorExitRequest(self, message, sender):
        if self.poller is not None:
            self.poller.stop()
        if self.transport is not None:
            self.transport.close()
        super().receiveMsg_ActorExitRequest(message, sender)
