"""CellSensor: the actor of one BM-CS, one battery of a string.

It lives in its string master's private in-process actor system (ARCHITECTURE.md: 3,840
processes would cost ~16 GB). Each scan the master's cell bank tells it its reading; it checks
plausibility, keeps SOC by coulomb counting and SOH against its reference resistance, and
answers its status. It never sets timers (the in-process system only runs inside the master's
ask). What it must remember across a restart travels in CellSnapshot.
"""

from __future__ import annotations

from thespian.actors import ActorTypeDispatcher

from actors.device.cell_checks import health_of, reading_faults
from actors.messages import (
    CellFault,
    CellReading,
    CellSnapshot,
    CellStatus,
    CrashForTest,
    Health,
    InitCell,
)
from actors.site.alarms import CELL_ALARMS_CLEAR, evaluate_cell
from actors.string.battery_math import soh_from_resistance, update_soc

# Across a longer gap in the data the current is unknown: integrating the last one would be a guess.
MAX_INTEGRATION_GAP_S = 900.0


class CellSensor(ActorTypeDispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = 0
        self.nominal_voltage = 12
        self.capacity_ah = 100.0
        self.soc_pct = 100.0
        self.soh_pct = 100.0
        self.reference_uohm = 0
        self.last_timestamp: float | None = None
        self.limits = None
        self.alarms = CELL_ALARMS_CLEAR
        self.in_alarm = False  # any alarm of this cell active (recomputed only when one changes)
        self.snapshot = CellSnapshot(self.soc_pct, self.soh_pct, self.reference_uohm)

    def receiveMsg_InitCell(self, message: InitCell, sender):
        self.index = message.index
        self.nominal_voltage = message.battery.nominal_voltage
        self.capacity_ah = message.battery.capacity_ah
        self.limits = message.limits
        if message.snapshot is not None:
            self.soc_pct = message.snapshot.soc_pct
            self.soh_pct = message.snapshot.soh_pct
            self.reference_uohm = message.snapshot.reference_resistance_uohm
            if message.snapshot.alarms is not None:
                # An unpickled "all clear" is a copy; the evaluator's fast path wants the singleton.
                restored = message.snapshot.alarms
                self.alarms = CELL_ALARMS_CLEAR if restored == CELL_ALARMS_CLEAR else restored
                self.in_alarm = bool(self.alarms.active_kinds())
            self.snapshot = message.snapshot

    def receiveMsg_CellReading(self, reading: CellReading, sender):
        self.send(sender, self.evaluate(reading))

    def receiveMsg_CrashForTest(self, message: CrashForTest, sender):
        raise RuntimeError(f"cell {self.index}: crash requested by a test")

    def evaluate(self, reading: CellReading) -> CellStatus:
        faults = reading_faults(
            self.nominal_voltage,
            reading.responded,
            reading.voltage_mv,
            reading.resistance_uohm,
            reading.temperature_dc,
        )
        if not faults:
            self._update_estimates(reading)
        else:
            self.last_timestamp = None  # do not integrate current across a gap of bad data
        transitions: list = []
        if self.limits is not None:
            self.alarms, transitions = evaluate_cell(
                self.alarms,
                self.limits,
                responded=reading.responded,
                faults=faults,
                voltage_mv=reading.voltage_mv,
                resistance_uohm=reading.resistance_uohm,
                temperature_dc=reading.temperature_dc,
                soc_pct=self.soc_pct,
                soh_pct=self.soh_pct,
                now=reading.timestamp,
            )
            if transitions:
                self.in_alarm = bool(self.alarms.active_kinds())
        health = health_of(faults)
        if self.in_alarm and health == Health.OK:
            health = Health.ERROR  # a battery in alarm is shown as "error", as SCADA expects
        snapshot = self.snapshot
        if (snapshot.soc_pct, snapshot.soh_pct, snapshot.reference_resistance_uohm) != (
            self.soc_pct, self.soh_pct, self.reference_uohm
        ) or snapshot.alarms is not self.alarms:
            snapshot = self.snapshot = CellSnapshot(self.soc_pct, self.soh_pct, self.reference_uohm, self.alarms)
        return CellStatus(
            index=self.index,
            scan_no=reading.scan_no,
            health=health,
            faults=faults,
            voltage_mv=reading.voltage_mv,
            resistance_uohm=reading.resistance_uohm,
            temperature_dc=reading.temperature_dc,
            soc_pct=round(self.soc_pct),
            soh_pct=round(self.soh_pct),
            snapshot=snapshot,
            alarm_transitions=tuple(transitions),
        )

    def _update_estimates(self, reading: CellReading) -> None:
        if self.reference_uohm <= 0:
            # The first valid reading after commissioning is the cell's reference resistance.
            self.reference_uohm = reading.resistance_uohm
        self.soh_pct = soh_from_resistance(reading.resistance_uohm, self.reference_uohm)
        gap = None if self.last_timestamp is None else reading.timestamp - self.last_timestamp
        if gap is not None and 0 < gap <= MAX_INTEGRATION_GAP_S:
            vpc = reading.voltage_mv / 1000.0 / max(1, self.nominal_voltage // 2)
            self.soc_pct = update_soc(
                self.soc_pct,
                reading.string_current_ca / 100.0,
                gap,
                self.capacity_ah,
                self.soh_pct,
                vpc,
            )
        self.last_timestamp = reading.timestamp


def unresponsive_status(index: int, scan_no: int, snapshot: CellSnapshot | None) -> CellStatus:
    """The status of a cell whose actor failed this scan: no data, last good state kept."""
    snap = snapshot or CellSnapshot(100.0, 100.0, 0)
    return CellStatus(
        index=index,
        scan_no=scan_no,
        health=health_of(CellFault.NO_RESPONSE),
        faults=CellFault.NO_RESPONSE,
        voltage_mv=0,
        resistance_uohm=0,
        temperature_dc=0,
        soc_pct=round(snap.soc_pct),
        soh_pct=round(snap.soh_pct),
        snapshot=snap,
    )
