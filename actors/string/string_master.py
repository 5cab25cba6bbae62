"""StringMaster: the actor of one BM-SS and its string (in its UPS's process, actors/ups/string_host.py).

Per scan it receives one StringScan from its FieldBus, lets its cells (in a private in-process
actor system, see cell_bank.py) check and estimate their batteries, computes the string's
values and sends the StringStatus up to its UPS. It keeps the last good state of its cells in
a snapshot that its UPS holds for it, so a re-created master resumes where it left off.
"""

from __future__ import annotations

import os
from dataclasses import replace

# Imported here, not when the private cell system starts: the gateway imports this module (through
# actors/ups) before it forks its UPSes, so these pages are shared by all of them, not copied in each.
import thespian.system.simpleSystemBase  # noqa: F401
from thespian.actors import ActorExitRequest, ActorTypeDispatcher

from actors.base.alarm_sender import AlarmSender
from actors.base.init_gate import InitGate
from actors.base.private_system import start_private_system
from actors.messages.down import (
    AttachString,
    ChangeCellLimits,
    InitCellBank,
    InitStringMaster,
    SetAlarmLimits,
)
from actors.messages.service import CellRestarts, CrashForTest, GetCellRestarts
from actors.messages.up import CellBatchResult, StringMasterFailed, StringMasterStarted, StringSnapshotSaved
from actors.string.cell_bank import CellBank
from battery.alarms import (
    STRING_ALARMS_CLEAR,
    cell_limits_for_string,
    evaluate_string,
    string_limits_for,
    to_alarm_message,
)
from battery.analytics import StringAnalytics, analytics_params
from battery.readings import CellBatch, StringScan
from battery.status import StringSnapshot
from battery.string_analytics import analysed
from battery.string_plausibility import measured_string_values
from battery.string_values import cell_batch, stale_status, string_status
from observability.log import configure_structlog, get_logger

SNAPSHOT_EVERY_SCANS = 10
CELL_ASK_TIMEOUT_S = 5.0


class StringMaster(AlarmSender, InitGate, ActorTypeDispatcher):
    init_message = InitStringMaster

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configure_structlog()
        self.config = None
        self.bus = None
        self.ups = None
        self.alarms = None
        self.cells_system = None
        self.bank = None
        self.soc_pct = 100.0
        self.analytics = StringAnalytics()  # charge state, discharge event, runaway (battery/analytics)
        self.params = None
        self.capacity_soh: tuple | None = None  # measured by a discharge that ended: for the cells
        self.cell_snapshots: tuple = ()
        self.restart_counts: list[int] = []
        self.scans_seen = 0
        self.saved_snapshot: StringSnapshot | None = None  # the last one handed to the UPS
        self.string_limits = None
        self.string_alarms = STRING_ALARMS_CLEAR
        self.communication_lost_after_s: float | None = None
        self.log = get_logger("btms.string_master")

    def receiveMessage(self, message, sender):
        """A message this master fails on is reported to its host (its UPS's side), which
        re-creates it from its last snapshot within the same ask; raised, Thespian would retry
        the message twice before handing back a PoisonMessage."""
        try:
            return super().receiveMessage(message, sender)
        except Exception as error:  # noqa: BLE001 - any failure: the host re-creates this master
            if self.ups is None:
                raise
            self.send(self.ups, StringMasterFailed(type(message).__name__, f"{type(error).__name__}: {error}"))
            return None

    def receiveMsg_InitStringMaster(self, message: InitStringMaster, sender):
        self.config = message.string
        self.bus = message.bus
        self.ups = message.ups
        self.alarms = message.alarms
        self.log = get_logger("btms.string_master", string=self.config.id)
        count = self.config.battery.count
        self.params = analytics_params(self.config.battery)
        if message.snapshot is not None:
            self.soc_pct = message.snapshot.soc_pct
            self.cell_snapshots = message.snapshot.cells
            if message.snapshot.analytics is not None:
                self.analytics = message.snapshot.analytics  # step_string ignores a too old last_at
            if message.snapshot.alarms is not None:
                restored = message.snapshot.alarms  # an unpickled "all clear" is a copy of the singleton
                self.string_alarms = STRING_ALARMS_CLEAR if restored == STRING_ALARMS_CLEAR else restored
        self.restart_counts = [0] * count
        self.cells_system = start_private_system()
        self.bank = self.cells_system.createActor(CellBank)
        self.communication_lost_after_s = message.communication_lost_after_s
        cell_limits = self._limits_from_config()
        self.cells_system.ask(
            self.bank, InitCellBank(self.config.battery, self.cell_snapshots, cell_limits), CELL_ASK_TIMEOUT_S
        )
        self.send(self.bus, AttachString(self.config.id, self.myAddress))
        self.send(self.ups, StringMasterStarted(self.config.id, self.myAddress, os.getpid()))
        self.log.info("string master started", cells=count, restored=message.snapshot is not None)

    def _limits_from_config(self):
        """Set the string's limits from self.config and return its cells' (for the cell bank)."""
        string_limits = string_limits_for(self.config)
        cell_limits = cell_limits_for_string(self.config)
        if self.communication_lost_after_s is not None:  # the bus's miss_limit decides, not a default
            cell_limits = replace(cell_limits, communication_lost_delay_s=self.communication_lost_after_s)
        # No delay of its own: the field bus's verdict on the scan has already waited miss_limit scans.
        string_limits = replace(string_limits, communication_lost_delay_s=0.0)
        self.string_limits = string_limits
        return cell_limits

    def receiveMsg_SetAlarmLimits(self, message: SetAlarmLimits, sender):
        """Limits changed at run time: the next scan is compared with them. The alarm states stay,
        so an alarm whose limit moved past the value clears after its off-delay, as any other."""
        if self.config is None or message.string_id != self.config.id:
            return
        before = self.config
        self.config = replace(self.config, alarm_overrides=message.overrides)
        try:
            cell_limits = self._limits_from_config()
        except ValueError as error:  # checked by the gateway already; never stop scanning over it
            self.config = before
            self.log.error("alarm limits not changed", error=str(error))
            return
        self.cells_system.ask(self.bank, ChangeCellLimits(cell_limits), CELL_ASK_TIMEOUT_S)
        self.log.info("alarm limits changed", overrides=dict(message.overrides))

    def receiveMsg_StringScan(self, scan: StringScan, sender):
        transitions: list = []  # (cell index or None, AlarmTransition)
        measured = measured_string_values(self.config, scan) if scan.responded else None
        if not scan.responded:
            status = stale_status(self.config, scan.scan_no, scan.timestamp, self.soc_pct)
        else:
            batch = cell_batch(scan, self.config.battery.count, self.capacity_soh, self.params.battery)
            result = self._ask_cells(batch)
            status = string_status(self.config, scan, batch, result.statuses, self.soc_pct, measured)
            self.analytics, status, self.capacity_soh = analysed(
                self.analytics, self.params, scan, batch, result.statuses, status, measured.sensor_fault
            )
            self.cell_snapshots = tuple(c.snapshot for c in result.statuses)
            self.soc_pct = status.soc_pct
            transitions += result.transitions
        if not scan.responded and not scan.communication_lost:
            # Silent, but not yet "communication lost" by the field bus's count: hold every string alarm.
            self.send(self.ups, status)
            return
        self.string_alarms, string_transitions = evaluate_string(
            self.string_alarms,
            self.string_limits,
            responded=scan.responded,
            voltage_v=measured.voltage_v if measured else None,
            current_a=measured.current_a if measured else None,
            soc_pct=status.soc_pct if scan.responded else None,
            hall_ok=scan.hall_ok if scan.responded else None,
            relay_closed=scan.relay_closed if scan.responded else None,
            sensor_fault=measured.sensor_fault if measured else None,
            now=scan.timestamp,
            insulation_kohm=status.insulation_kohm if scan.responded else None,
            runaway=status.runaway if scan.responded else None,
        )
        transitions += [(None, t) for t in string_transitions]
        self.send(self.ups, status)
        for cell_index, transition in transitions:
            self._raise_or_clear(
                to_alarm_message(transition, ups_id=self.config.ups_id, string_id=self.config.id, cell_index=cell_index)
            )
        self.scans_seen += 1
        if self.scans_seen % SNAPSHOT_EVERY_SCANS == 1:
            self._save_snapshot_if_changed()

    def _save_snapshot_if_changed(self) -> None:
        """Hand the UPS a new snapshot only when the state in it changed. The string's analytics
        change every scan and do not count: they travel with the snapshots sent anyway (during a
        discharge SOC changes every scan), and a restored copy too old to integrate is dropped.

        In float charge nothing does for hours; sending 120 cell snapshots every 10 s anyway was
        a big share of the tree's cross-process traffic. Unchanged cell snapshots are the same
        objects (cell_sensor.py), so the check is by identity.
        """
        saved = self.saved_snapshot
        if (
            saved is not None
            and saved.soc_pct == self.soc_pct
            and saved.alarms is self.string_alarms
            and len(saved.cells) == len(self.cell_snapshots)
            and all(a is b for a, b in zip(saved.cells, self.cell_snapshots))
        ):
            return
        self.saved_snapshot = StringSnapshot(self.soc_pct, self.cell_snapshots, self.string_alarms, self.analytics)
        self.send(self.ups, StringSnapshotSaved(self.config.id, self.saved_snapshot))

    def _ask_cells(self, batch: CellBatch) -> CellBatchResult:
        result = self.cells_system.ask(self.bank, batch, CELL_ASK_TIMEOUT_S)
        if not isinstance(result, CellBatchResult):
            raise RuntimeError(f"string {self.config.id}: cell bank did not answer scan {batch.scan_no}")
        for index in result.restarted:
            self.restart_counts[index - 1] += 1
            self.log.warning("cell sensor actor re-created", cell=index, scan=batch.scan_no)
        return result

    def receiveMsg_CrashForTest(self, message: CrashForTest, sender):
        if message.cell_index is None:
            raise RuntimeError("string master: crash requested by a test")
        result = self.cells_system.ask(self.bank, message, CELL_ASK_TIMEOUT_S)
        if isinstance(result, CellBatchResult):
            for index in result.restarted:
                self.restart_counts[index - 1] += 1

    def receiveMsg_GetCellRestarts(self, message: GetCellRestarts, sender):
        self.send(sender, CellRestarts(message.request_id, tuple(self.restart_counts), tuple(self.cell_snapshots)))

    def receiveMsg_ActorExitRequest(self, message: ActorExitRequest, sender):
        if self.cells_system is not None:
            self.cells_system.shutdown()
            self.cells_system = None
