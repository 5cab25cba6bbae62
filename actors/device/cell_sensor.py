"""CellSensor: the actor of one BM-CS, one battery of a string.

It lives in its string master's private in-process actor system (ARCHITECTURE.md: 3,840
processes would cost ~16 GB). Each scan the master's cell bank tells it its reading; it checks
plausibility, keeps SOC by coulomb counting and SOH against its reference resistance, and
answers its status. It never sets timers (the in-process system only runs inside the master's
ask). What it must remember across a restart travels in CellSnapshot. It answers only when its
status changed (most scans in float charge it did not); cell_bank.py says how the bank knows
the scan is complete. A reading it cannot evaluate is reported (CellFailed), not raised.

It dispatches on the message type itself rather than through ActorTypeDispatcher: that
dispatcher walks two class hierarchies per message, and a cell gets one message per scan in
each of 3,840 actors.
"""

from __future__ import annotations

from thespian.actors import Actor

from actors.messages.down import ChangeCellLimits, InitCell
from actors.messages.service import CrashForTest
from actors.messages.up import CellFailed
from battery.alarms import CELL_ALARMS_CLEAR, evaluate_cell
from battery.codes import CellFault, Health
from battery.maths import (
    RESISTANCE_SMOOTHING_S,
    smoothed,
    soh_from_resistance,
    update_soc,
)
from battery.plausibility import health_of, reading_faults
from battery.quantities import quantity
from battery.readings import CellBatch
from battery.status import CellSnapshot, CellStatus

# Across a longer gap in the data the current is unknown: integrating the last one would be a guess.
CELL_VOLTAGE = quantity("cell.voltage")  # the batch carries counts of the wire scale (1 mV, 0.01 A)
STRING_CURRENT = quantity("string.current")
MAX_INTEGRATION_GAP_S = 900.0


class CellSensor(Actor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = 0
        self.nominal_voltage = 12
        self.capacity_ah = 100.0
        self.soc_pct = 100.0
        self.soh_pct = 100.0
        self.reference_uohm = 0
        self.last_timestamp: float | None = None
        self.resistance_avg: float | None = None  # what SOH is computed from (battery_math.smoothed)
        self.resistance_time: float | None = None
        self.limits = None
        self.alarms = CELL_ALARMS_CLEAR
        self.in_alarm = False  # any alarm of this cell active (recomputed only when one changes)
        self.snapshot = CellSnapshot(self.soc_pct, self.soh_pct, self.reference_uohm)
        self.last_status: CellStatus | None = None

    def receiveMessage(self, message, sender):
        kind = type(message)
        if kind is CellBatch:
            before = self.last_status
            try:
                status = self.evaluate(message)
            except Exception as error:  # noqa: BLE001 - any failure: the bank re-creates this cell
                self.send(sender, CellFailed(self.index, f"{type(error).__name__}: {error}"))
                return
            if status is not before:  # an unchanged status is not sent again: the bank keeps it
                self.send(sender, status)
        elif kind is InitCell:
            self._init(message)
        elif kind is ChangeCellLimits:
            self.limits = message.limits  # the alarm states stay: a limit moved past the value clears it
        elif kind is CrashForTest:
            raise RuntimeError(f"cell {self.index}: crash requested by a test")

    def _init(self, message: InitCell) -> None:
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

    def evaluate(self, batch: CellBatch) -> CellStatus:
        """This cell's status from its entries in the scan (position index - 1)."""
        position = self.index - 1
        responded = batch.responded[position]
        voltage_mv = batch.voltage_mv[position]
        resistance_uohm = batch.resistance_uohm[position]
        temperature_dc = batch.temperature_dc[position]
        faults = reading_faults(self.nominal_voltage, responded, voltage_mv, resistance_uohm, temperature_dc)
        if not faults:
            self._update_estimates(batch.timestamp, voltage_mv, resistance_uohm, batch.string_current_ca)
        else:
            self.last_timestamp = None  # do not integrate current across a gap of bad data
        transitions: list = []
        if self.limits is not None:
            self.alarms, transitions = evaluate_cell(
                self.alarms,
                self.limits,
                responded=responded,
                faults=faults,
                voltage_mv=voltage_mv,
                resistance_uohm=resistance_uohm,
                temperature_dc=temperature_dc,
                soc_pct=self.soc_pct,
                soh_pct=self.soh_pct,
                now=batch.timestamp,
            )
            if transitions:
                self.in_alarm = bool(self.alarms.active_kinds())
        health = health_of(faults)
        if self.in_alarm and health == Health.OK:
            health = Health.ERROR  # a battery in alarm is shown as "error", as SCADA expects
        soc_pct, soh_pct = round(self.soc_pct), round(self.soh_pct)
        snapshot = self.snapshot
        # SOH is recomputed from the next readings after a restart and drifts a little every
        # scan: its snapshot is renewed per whole percent, SOC's (an integral) at any change.
        if (
            snapshot.soc_pct != self.soc_pct
            or round(snapshot.soh_pct) != soh_pct
            or snapshot.reference_resistance_uohm != self.reference_uohm
            or snapshot.alarms is not self.alarms
        ):
            snapshot = self.snapshot = CellSnapshot(self.soc_pct, self.soh_pct, self.reference_uohm, self.alarms)
        last = self.last_status
        if (
            not transitions
            and last is not None
            and not last.alarm_transitions  # a transition is reported once, never sent again
            and last.snapshot is snapshot
            and last.faults == faults
            and last.health == health
            and last.soc_pct == soc_pct
            and last.soh_pct == soh_pct
        ):
            return last  # unchanged: an immutable message can be sent again (most scans, in float)
        status = self.last_status = CellStatus(
            self.index, health, faults, soc_pct, soh_pct, snapshot, tuple(transitions)
        )
        return status

    def _update_estimates(self, timestamp: float, voltage_mv: int, resistance_uohm: int, current_ca: int) -> None:
        if self.reference_uohm <= 0:
            # The first valid reading after commissioning is the cell's reference resistance.
            self.reference_uohm = resistance_uohm
        since = None if self.resistance_time is None else timestamp - self.resistance_time
        previous = self.resistance_avg if since is not None and since <= MAX_INTEGRATION_GAP_S else None
        self.resistance_avg = smoothed(previous, resistance_uohm, since or 0.0, RESISTANCE_SMOOTHING_S)
        self.resistance_time = timestamp
        self.soh_pct = soh_from_resistance(self.resistance_avg, self.reference_uohm)
        gap = None if self.last_timestamp is None else timestamp - self.last_timestamp
        if gap is not None and 0 < gap <= MAX_INTEGRATION_GAP_S:
            vpc = CELL_VOLTAGE.from_wire(voltage_mv) / max(1, self.nominal_voltage // 2)
            self.soc_pct = update_soc(
                self.soc_pct,
                STRING_CURRENT.from_wire(current_ca),
                gap,
                self.capacity_ah,
                self.soh_pct,
                vpc,
            )
        self.last_timestamp = timestamp


def unresponsive_status(index: int, snapshot: CellSnapshot | None) -> CellStatus:
    """The status of a cell whose actor failed this scan: no data, last good state kept."""
    snap = snapshot or CellSnapshot(100.0, 100.0, 0)
    return CellStatus(
        index=index,
        health=health_of(CellFault.NO_RESPONSE),
        faults=CellFault.NO_RESPONSE,
        soc_pct=round(snap.soc_pct),
        soh_pct=round(snap.soh_pct),
        snapshot=snap,
    )
