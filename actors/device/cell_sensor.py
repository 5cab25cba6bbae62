"""CellSensor: the actor of one BM-CS, one battery of a string.

It lives in its string master's private in-process actor system (ARCHITECTURE.md: 3,840
processes would cost ~16 GB). Each scan the master's cell bank tells it its reading; it checks
plausibility, steps its estimators (battery/analytics: SOC by coulomb counting, corrected during a
discharge by its voltage under load against the string's median that the batch carries,
the resistance baseline of its commissioning window, SOH; on float once per judging period, with
the readings in between held, see step_cell_paced) and answers its status. It never sets timers
(the in-process system only runs inside the master's ask). What it must remember across a
restart travels in CellSnapshot. It answers only when its status changed (most scans in float
charge it did not); cell_bank.py says how the bank knows the scan is complete. A reading it
cannot evaluate is reported (CellFailed), not raised.

It dispatches on the message type itself rather than through ActorTypeDispatcher: that
dispatcher walks two class hierarchies per message, and a cell gets one message per scan in
each of 3,840 actors.
"""

from __future__ import annotations

from dataclasses import replace

from thespian.actors import Actor

from actors.messages.down import ChangeCellLimits, InitCell
from actors.messages.service import CrashForTest
from actors.messages.up import CellFailed
from battery.alarms import CELL_ALARMS_CLEAR, evaluate_cell
from battery.analytics import CellEstimate, SocState, analytics_params, rise_of, step_cell_paced, with_capacity
from battery.analytics.baseline import baseline_uohm, seeded
from battery.analytics.cell_step import HeldReadings, judge_phase, snapshot_view
from battery.analytics.soh import UNKNOWN
from battery.codes import CellFault, Health
from battery.plausibility import health_of, reading_faults
from battery.quantities import quantity
from battery.readings import CellBatch
from battery.status import CellSnapshot, CellStatus

CELL_VOLTAGE = quantity("cell.voltage")  # the batch carries counts of the wire scale (1 mV, 0.01 A)
STRING_CURRENT = quantity("string.current")


class CellSensor(Actor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.index = 0
        self.nominal_voltage = 12
        self.capacity_ah = 100.0
        self.soc_pct = 100.0
        self.soh_pct = 100.0
        self.reference_uohm = 0
        self.params = None  # battery.analytics.AnalyticsParams of the string's battery type
        self.estimate = CellEstimate()  # SOC, baseline and SOH estimators (battery/analytics)
        self.held: HeldReadings | None = None  # float readings not stepped yet (step_cell_paced)
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
        self.params = analytics_params(message.battery)
        self.limits = message.limits
        if message.snapshot is not None:
            self.soc_pct = message.snapshot.soc_pct
            self.soh_pct = message.snapshot.soh_pct
            self.reference_uohm = message.snapshot.reference_resistance_uohm
            self.estimate = restored_estimate(message.snapshot)
            if message.snapshot.alarms is not None:
                # An unpickled "all clear" is a copy; the evaluator's fast path wants the singleton.
                restored = message.snapshot.alarms
                self.alarms = CELL_ALARMS_CLEAR if restored == CELL_ALARMS_CLEAR else restored
                self.in_alarm = bool(self.alarms.active_kinds())
            self.snapshot = message.snapshot
        self.estimate = replace(self.estimate, judge_phase_s=judge_phase(self.index, self.params))

    def evaluate(self, batch: CellBatch) -> CellStatus:
        """This cell's status from its entries in the scan (position index - 1)."""
        position = self.index - 1
        responded = batch.responded[position]
        voltage_mv = batch.voltage_mv[position]
        resistance_uohm = batch.resistance_uohm[position]
        temperature_dc = batch.temperature_dc[position]
        faults = reading_faults(self.nominal_voltage, responded, voltage_mv, resistance_uohm, temperature_dc)
        if batch.capacity_soh is not None:  # a discharge just ended and measured capacities
            self.estimate = with_capacity(self.estimate, batch.capacity_soh[position])
        if not faults:
            self._update_estimates(batch, voltage_mv, resistance_uohm)
        else:  # do not integrate current across a gap of bad data
            self.estimate = replace(self.estimate, last_at=None)
            self.held = None
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
        estimate = self.estimate
        rise = rise_of(estimate, self.params) if self.params is not None else None
        rise = None if rise is None else round(rise, 2)  # renewed per 1 % of rise, not every scan
        if (
            snapshot.resistance_rise != rise
            or snapshot.soc_pct != self.soc_pct
            or round(snapshot.soh_pct) != soh_pct
            or snapshot.reference_resistance_uohm != self.reference_uohm
            or snapshot.alarms is not self.alarms
            or snapshot.baseline is not estimate.baseline
            or snapshot.soh_capacity is not estimate.soh_capacity
        ):
            snapshot = self.snapshot = CellSnapshot(
                self.soc_pct,
                self.soh_pct,
                self.reference_uohm,
                self.alarms,
                estimate.baseline,
                estimate.soh_capacity,
                rise,
            )
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
        soh = estimate.soh
        view = snapshot_view(snapshot.soc_pct, snapshot.soh_capacity, snapshot.resistance_rise)
        status = self.last_status = CellStatus(
            self.index, health, faults, soc_pct, soh_pct, snapshot, tuple(transitions), soh.method.value, soh.at, view
        )
        return status

    def _update_estimates(self, batch: CellBatch, voltage_mv: int, resistance_uohm: int) -> None:
        estimate, self.held = step_cell_paced(
            self.estimate,
            self.held,
            batch.timestamp,
            STRING_CURRENT.from_wire(batch.string_current_ca),
            CELL_VOLTAGE.from_wire(voltage_mv),
            resistance_uohm,
            self.params,
            batch.loaded_reference_vpc,  # the string's median under load: this cell's departure from it
        )
        if estimate is self.estimate:  # a float reading held for the next step: nothing moved
            return
        self.estimate = estimate
        self.soc_pct = estimate.soc.soc_pct
        soh = estimate.soh.soh_pct
        self.soh_pct = 100.0 if soh is None else soh  # no baseline yet: nothing says it aged
        if estimate.judged_at == batch.timestamp:  # the baseline moves only when it is judged
            reference = baseline_uohm(estimate.baseline, self.params.baseline)
            self.reference_uohm = 0 if reference is None else round(reference)


def restored_estimate(snapshot: CellSnapshot) -> CellEstimate:
    """The estimators of a re-created cell from its snapshot. A snapshot of an older gateway has
    only a single reference reading: it seeds the baseline, which goes on learning."""
    baseline = snapshot.baseline if snapshot.baseline is not None else seeded(snapshot.reference_resistance_uohm)
    return CellEstimate(
        soc=SocState(snapshot.soc_pct),
        baseline=baseline,
        soh_capacity=snapshot.soh_capacity or UNKNOWN,
    )


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
