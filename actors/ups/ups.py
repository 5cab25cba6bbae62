"""Ups: the actor of one UPS's battery strings (a process of its own).

It hosts one StringMaster per string in its private in-process actor system (string_host.py
says why), routes each string's scans and commands to it, aggregates its strings (voltage
average, current sum, SOC average), and sends the gateway ONE UpsUpdate per scan carrying the
UPS status and its strings' statuses: cross-process messages cost per message, not per byte.
Its string masters' alarm events go from here straight to the AlarmManager.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from thespian.actors import ActorExitRequest, ActorTypeDispatcher

from actors.base.alarm_sender import AlarmSender
from actors.base.private_system import start_private_system
from actors.messages.down import (
    AttachString,
    BusAddressChanged,
    InitStringMaster,
    InitUps,
    SetAlarmLimits,
)
from actors.messages.service import CrashForTest, GetCellRestarts
from actors.messages.up import StringMasterStarted, StringOutbox, StringSnapshotSaved, UpsUpdate
from actors.ups.string_host import StringHost
from battery.alarms.records import AlarmCleared, AlarmRaised
from battery.codes import Health
from battery.readings import StringScan
from battery.status import StringStatus, UpsStatus
from battery.ups_math import aggregate, discharge_of
from observability.log import configure_structlog, get_logger

# If some strings have not reported this long after the first one did, publish what we have.
FLUSH_AFTER_S = 0.3
HOST_ASK_TIMEOUT_S = 10.0  # a scan of a 120-cell string takes milliseconds


class Ups(AlarmSender, ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.config = None
        self.gateway = None
        self.alarms = None
        self.buses: dict[str, object] = {}
        self.stale_after_s = 10.0
        self.strings_system = None
        self.host = None
        self.latest: dict[str, StringStatus] = {}
        self.pending: dict[str, StringStatus] = {}
        self.flush_armed = False
        self.log = get_logger("btms.ups")

    def receiveMsg_InitUps(self, message: InitUps, sender):
        self.config = message.ups
        self.gateway = message.gateway
        self.alarms = message.alarms
        self.buses = dict(message.bus_addresses)
        self.stale_after_s = message.stale_after_s
        self.log = get_logger("btms.ups", ups=self.config.id)
        self.strings_system = start_private_system()
        self.host = self.strings_system.createActor(StringHost)
        # The host keeps each master's Init, with its newest snapshot and limits, to re-create it.
        snapshots = dict(message.string_snapshots)
        lost_after = dict(message.communication_lost_after_s)
        for string in self.config.strings:
            init = InitStringMaster(
                string,
                self.buses[string.bus],
                self.myAddress,
                snapshots.get(string.id),
                self.alarms,
                lost_after.get(string.bus),
            )
            self._ask_host(init)
        self.log.info("ups started", strings=len(self.config.strings))

    def _ask_host(self, message, asker=None) -> None:
        """Hand `message` to the string masters in-process; handle or send on what they sent."""
        outbox = self.strings_system.ask(self.host, message, HOST_ASK_TIMEOUT_S)
        if not isinstance(outbox, StringOutbox):
            self.log.error("string host did not answer", message=type(message).__name__, answer=repr(outbox))
            return
        for out in outbox.messages:
            kind = type(out)
            if kind is StringStatus:
                self._string_status(out)
            elif kind is AlarmRaised or kind is AlarmCleared:
                self._raise_or_clear(out)
            elif kind is StringSnapshotSaved:
                self.send(self.gateway, out)  # the gateway keeps them on disk and for a re-created UPS
            elif kind is AttachString:
                self._attach(out.string_id)
            elif kind is StringMasterStarted:  # this process is where the string master is
                self.send(self.gateway, StringMasterStarted(out.string_id, self.myAddress, os.getpid()))
            elif asker is not None:  # an answer to whoever asked (CellRestarts)
                self.send(asker, out)

    def _attach(self, string_id: str) -> None:
        """Scans of this string come to this UPS, which hands them to its string master."""
        bus = next(s.bus for s in self.config.strings if s.id == string_id)
        self.send(self.buses[bus], AttachString(string_id, self.myAddress))

    def receiveMsg_StringScan(self, scan: StringScan, sender):
        self._ask_host(scan)

    def receiveMsg_WakeupMessage(self, message, sender):
        if message.payload == "flush":
            self.flush_armed = False
            self._flush()

    def receiveMsg_BusAddressChanged(self, message: BusAddressChanged, sender):
        self.buses[message.bus_id] = message.address
        for string in self.config.strings:
            if string.bus == message.bus_id:
                self._attach(string.id)

    def receiveMsg_SetAlarmLimits(self, message: SetAlarmLimits, sender):
        """Passed on: the string host keeps them for a re-created string master."""
        self._ask_host(message)

    def receiveMsg_GetCellRestarts(self, message: GetCellRestarts, sender):
        self._ask_host(message, asker=sender)

    def receiveMsg_CrashForTest(self, message: CrashForTest, sender):
        self._ask_host(message)

    def _string_status(self, status: StringStatus) -> None:
        self.latest[status.string_id] = status
        self.pending[status.string_id] = status
        if len(self.pending) >= len(self.config.strings):
            self._flush()
        elif not self.flush_armed:
            self.flush_armed = True
            self.wakeupAfter(timedelta(seconds=FLUSH_AFTER_S), payload="flush")

    def _flush(self) -> None:
        if not self.pending:
            return
        strings = tuple(self.pending[s.id] for s in self.config.strings if s.id in self.pending)
        self.pending = {}
        self.send(self.gateway, UpsUpdate(self.ups_status(), strings))

    def ups_status(self) -> UpsStatus:
        # A dead string master sends nothing at all: its last status must age out, not stay "fresh".
        newest = max((s.timestamp for s in self.latest.values()), default=0.0)
        fresh = [
            s for s in self.latest.values() if s.health != Health.STALE and newest - s.timestamp <= self.stale_after_s
        ]
        # A string whose hall sensor is disconnected reports 0 A: not a measurement, not summed.
        agg = aggregate(
            [s.voltage_v for s in fresh],
            [s.current_a if s.hall_ok else None for s in fresh],
            [s.soc_pct for s in fresh],
        )
        discharge = discharge_of(fresh)
        expected = len(self.config.strings)
        if not fresh:
            health = Health.STALE
        elif len(fresh) < expected or any(s.health != Health.OK for s in self.latest.values()):
            health = Health.ERROR
        else:
            health = Health.OK
        return UpsStatus(
            ups_id=self.config.id,
            index=self.config.index,
            timestamp=max((s.timestamp for s in self.latest.values()), default=time.time()),
            health=health,
            voltage_v=agg.voltage_v,
            current_a=agg.current_a,
            soc_pct=agg.soc_pct,
            string_ids=tuple(s.id for s in self.config.strings),
            runtime_min=discharge.runtime_min,
            on_battery_since=discharge.on_battery_since,
            weakest=discharge.weakest,
        )

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        if self.strings_system is not None:
            self.strings_system.tell(self.host, ActorExitRequest())
            self.strings_system.shutdown()
            self.strings_system = None
