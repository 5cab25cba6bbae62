"""Ups: the actor of one UPS's battery strings (a process of its own).

It creates and supervises one StringMaster per string (re-created from its last snapshot when
its process dies), aggregates its strings (voltage average, current sum, SOC average), and
sends the gateway ONE UpsUpdate per scan carrying the UPS status and its strings' statuses:
cross-process messages cost per message, not per byte.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

from thespian.actors import ActorExitRequest, ActorTypeDispatcher, ChildActorExited

from actors.base.forking import prepare_to_fork
from actors.base.supervision import RestartPolicy, child_named, find_name, replace_child
from actors.messages.down import AlarmManagerChanged, BusAddressChanged, InitStringMaster, InitUps, SetAlarmLimits
from actors.messages.up import StringMasterStarted, StringSnapshotSaved, UpsUpdate
from actors.string.string_master import StringMaster
from battery.codes import Health
from battery.status import StringStatus, UpsStatus
from battery.ups_math import aggregate, discharge_of
from observability.log import configure_structlog, get_logger

# If some strings have not reported this long after the first one did, publish what we have.
FLUSH_AFTER_S = 0.3


class Ups(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.config = None
        self.gateway = None
        self.alarms = None
        self.buses: dict[str, object] = {}
        self.lost_after: dict[str, float] = {}
        self.stale_after_s = 10.0
        self.masters: list[tuple[str, object]] = []
        self.snapshots: dict = {}
        self.latest: dict[str, StringStatus] = {}
        self.pending: dict[str, StringStatus] = {}
        self.flush_armed = False
        self.policy = RestartPolicy()
        self.exiting = False  # after ActorExitRequest, children exit for good: never re-create them
        self.log = get_logger("btms.ups")

    def receiveMsg_InitUps(self, message: InitUps, sender):
        self.config = message.ups
        self.gateway = message.gateway
        self.alarms = message.alarms
        self.buses = dict(message.bus_addresses)
        self.snapshots.update(dict(message.string_snapshots))
        self.lost_after = dict(message.communication_lost_after_s)
        self.stale_after_s = message.stale_after_s
        self.log = get_logger("btms.ups", ups=self.config.id)
        self.log.info("ups started", strings=len(self.config.strings))
        for string in self.config.strings:
            self._spawn(string.id)

    def _spawn(self, string_id: str) -> None:
        string = next(s for s in self.config.strings if s.id == string_id)
        prepare_to_fork()
        address = self.createActor(StringMaster)
        replace_child(self.masters, string_id, address)
        self.send(
            address,
            InitStringMaster(
                string,
                self.buses[string.bus],
                self.myAddress,
                self.snapshots.get(string_id),
                self.alarms,
                self.lost_after.get(string.bus),
            ),
        )

    def receiveMsg_ChildActorExited(self, message: ChildActorExited, sender):
        string_id = find_name(self.masters, message.childAddress)
        if string_id is None or self.exiting:
            return  # the duplicate exit notice of an address already replaced
        delay = self.policy.delay_before_restart(string_id, time.monotonic())
        self.log.warning("string master exited, re-creating it", string=string_id, delay_s=delay)
        replace_child(self.masters, string_id, None)
        if delay:
            self.wakeupAfter(timedelta(seconds=delay), payload=("restart", string_id))
        else:
            self._spawn(string_id)

    def receiveMsg_WakeupMessage(self, message, sender):
        if message.payload == "flush":
            self.flush_armed = False
            self._flush()
        elif isinstance(message.payload, tuple) and message.payload[0] == "restart":
            self._spawn(message.payload[1])

    def receiveMsg_BusAddressChanged(self, message: BusAddressChanged, sender):
        self.buses[message.bus_id] = message.address
        for _, master in self.masters:
            if master is not None:
                self.send(master, message)

    def receiveMsg_AlarmManagerChanged(self, message: AlarmManagerChanged, sender):
        self.alarms = message.address
        for _, master in self.masters:
            if master is not None:
                self.send(master, message)

    def receiveMsg_SetAlarmLimits(self, message: SetAlarmLimits, sender):
        """Kept in the configuration (a re-created string master starts with them) and passed on."""
        strings = tuple(
            replace(s, alarm_overrides=message.overrides) if s.id == message.string_id else s
            for s in self.config.strings
        )
        self.config = replace(self.config, strings=strings)
        master = child_named(self.masters, message.string_id)
        if master is not None:
            self.send(master, message)

    def receiveMsg_StringSnapshotSaved(self, message: StringSnapshotSaved, sender):
        self.snapshots[message.string_id] = message.snapshot
        self.send(self.gateway, message)  # the gateway keeps them on disk and for a re-created UPS

    def receiveMsg_StringStatus(self, status: StringStatus, sender):
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
        self.exiting = True

    def receiveMsg_StringMasterStarted(self, message: StringMasterStarted, sender):
        self.send(self.gateway, message)
