"""FieldBus: the one owner of a field bus (an RS-485 line or the in-process simulator).

Only one party may talk on an RS-485 line at a time, so every request to the devices of a bus
goes through this actor. It hands each string master one StringScan per scan and each BM-LC
scan to the master controller, and carries out output commands ahead of polling.

The polling itself is the BusScheduler's (protocols/fieldbus/scheduler.py): one scan schedule,
one command queue and one miss counter, whatever carries the requests. It runs in its own
thread over the bus's transport: the simulator (`sim://`, sim/gateway_transport.py) or Modbus
RTU on a serial line (`/dev/tty...`, a pty, `socket://`; protocols/fieldbus/rtu_transport.py).
Its results come back through the ProtocolActor's watched socketpair, so they reach the actor
within a millisecond and serial I/O never blocks this actor's messages.
"""

from __future__ import annotations

from datetime import timedelta

from thespian.actors import ActorExitRequest

from actors.base.protocol_actor import ProtocolActor
from actors.messages.down import AttachMasterController, AttachString, InitFieldBus
from actors.messages.service import BusStats, GetBusStats, InjectSimFault, SetSimInput
from battery.readings import StringScan
from observability.log import configure_structlog, get_logger
from protocols.fieldbus.bus_messages import IoModuleScan, OutputWritten, SetOutput
from protocols.fieldbus.scheduler import BusScheduler
from protocols.fieldbus.transport import FieldBusTransport, TransportError

_CHECK_SCHEDULER = "fieldbus-check-scheduler"
SCHEDULER_CHECK_PERIOD = timedelta(seconds=5)


class FieldBus(ProtocolActor):
    def __init__(self, capabilities=None, *args, **kwargs):
        super().__init__(capabilities, *args, **kwargs)
        configure_structlog()
        self.bus = None
        self.masters: dict[str, object] = {}
        self.master_controller = None
        self.transport: FieldBusTransport | None = None
        self.scheduler: BusScheduler | None = None
        self.outputs_written = 0
        self.log = get_logger("btms.fieldbus")

    def receiveMsg_InitFieldBus(self, message: InitFieldBus, sender):
        self.gateway = sender
        self.bus = message.bus
        controller = message.master_controller
        io_modules = () if controller is None else tuple(m.address for m in controller.io_modules)
        self.log = get_logger("btms.fieldbus", bus=self.bus.id)
        self.transport = self._transport(message)
        self.scheduler = BusScheduler(self.bus, message.strings, io_modules, self.transport,
                                      on_scan=self.post_command, on_event=self.post_command,
                                      on_io_scan=self.post_command)  # fmt: skip
        self.scheduler.start()
        self.wakeupAfter(SCHEDULER_CHECK_PERIOD, payload=_CHECK_SCHEDULER)
        self.log.info("field bus started", port=self.bus.port, strings=len(message.strings))
        return self.watch()

    @staticmethod
    def _transport(message: InitFieldBus) -> FieldBusTransport:
        if message.bus.is_simulated:
            from sim.gateway_transport import SimTransport

            return SimTransport(message.bus, message.topology)
        from protocols.fieldbus.rtu_transport import ModbusRtuTransport

        return ModbusRtuTransport(message.bus)

    def receiveMsg_AttachString(self, message: AttachString, sender):
        self.masters[message.string_id] = message.master
        return self.watch()

    def receiveMsg_AttachMasterController(self, message: AttachMasterController, sender):
        self.master_controller = message.master_controller
        return self.watch()

    # -- results handed over by the scheduler's thread -------------------------------------------

    def on_command(self, message) -> None:
        if isinstance(message, StringScan):
            master = self.masters.get(message.string_id)
            if master is not None:
                self.send(master, message)
        elif isinstance(message, IoModuleScan):
            if self.master_controller is not None:
                self.send(self.master_controller, message)
        elif isinstance(message, OutputWritten):
            self._output_written(message)
        # DeviceCommunicationLost/Recovered, BusPortLost/Reopened: the scheduler logs each exactly
        # once. The alarms come from the string masters and the master controller, on the verdict
        # every scan carries (`communication_lost`, from the scheduler's one miss counter).

    def _output_written(self, result: OutputWritten) -> None:
        if result.ok:
            self.outputs_written += 1
            self.log.info(
                "output written",
                device=result.device_address,
                output=result.output,
                on=result.on,
                queued_ms=round(result.queued_ms, 1),
            )
        else:
            self.log.error(
                "output write failed", device=result.device_address, output=result.output, error=result.error
            )
        if self.master_controller is not None:
            self.send(self.master_controller, result)

    def on_wakeup(self, payload) -> None:
        if payload == _CHECK_SCHEDULER:
            self._check_scheduler()

    def _check_scheduler(self) -> None:
        """A scheduler thread that died would leave every string silently without data: exit, and
        the gateway re-creates this bus with a new scheduler (and the string masters attach again)."""
        if self.scheduler is None:
            return
        if self.scheduler.alive:
            self.wakeupAfter(SCHEDULER_CHECK_PERIOD, payload=_CHECK_SCHEDULER)
            return
        try:
            self.scheduler.stop()
            reason = "it stopped"
        except RuntimeError as failure:
            reason = f"{failure}: {failure.__cause__!r}"
        self.log.error("field bus scheduler ended; re-creating the bus", reason=reason)
        self.scheduler = None
        self.send(self.myAddress, ActorExitRequest())

    # -- commands ------------------------------------------------------------------------------

    def receiveMsg_SetOutput(self, message: SetOutput, sender):
        if self.scheduler is not None:
            self.scheduler.submit(message)  # on the wire before the next poll request
        return self.watch()

    def receiveMsg_InjectSimFault(self, message: InjectSimFault, sender):
        site = self._simulated_site()
        with site.lock:  # the scheduler's thread reads the same site
            string = site.string(message.string_id)
            if message.clear:
                string.clear_faults(type(message.fault))
            else:
                string.inject(message.fault)
        self.log.warning("simulator fault", string=message.string_id, fault=repr(message.fault), clear=message.clear)
        return self.watch()

    def receiveMsg_SetSimInput(self, message: SetSimInput, sender):
        site = self._simulated_site()
        with site.lock:
            site.set_alarm_input(message.alarm, message.on)
        self.log.warning("simulator input", alarm=message.alarm, on=message.on)
        return self.watch()

    def _simulated_site(self):
        site = getattr(self.transport, "site", None)
        if site is None:
            raise TransportError(f"bus {self.bus.id}: faults can only be injected into a sim:// bus")
        return site

    def receiveMsg_GetBusStats(self, message: GetBusStats, sender):
        scheduler = self.scheduler
        scans, lag_s = (scheduler.scans_done, scheduler.worst_lag_s) if scheduler is not None else (0, 0.0)
        self.send(sender, BusStats(message.request_id, self.bus.id, scans, lag_s * 1000.0, self.outputs_written))
        return self.watch()

    def receiveMsg_ActorExitRequest(self, message, sender):
        scheduler = self.scheduler
        if scheduler is not None:
            try:
                scheduler.stop()  # closes the transport in its own thread
            except RuntimeError as failure:
                self.log.error("field bus scheduler had failed", reason=f"{failure}: {failure.__cause__!r}")
        elif self.transport is not None:
            self.transport.close()
        super().receiveMsg_ActorExitRequest(message, sender)
