"""The alarm rules as pure state machines: one call per scan, state in, state and events out.

The CellSensor and StringMaster actors keep the returned state and pass it back at the next
scan; nothing here knows about actors, clocks or storage, so every rule is tested alone.

Rules that make alarms trustworthy:
- a limit alarm is raised only after the value has been beyond the limit for the on-delay,
  and cleared only after it has been back by more than the hysteresis for the off-delay;
  moves inside the hysteresis band neither restart nor stop a running delay;
- a value that is missing, stale or implausible neither raises nor clears a limit alarm (it
  also restarts a pending delay); it raises "Communication lost" or "Sensor fault" instead.
  Which values are measurements is decided once per level before any limit sees them: for a
  cell by `measured_cell_values` (the rule the servers show values by), for a string by
  `measured_string_values`; the limits here only ever compare what those return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from battery.alarms.kinds import AlarmKind
from battery.alarms.limits import CellLimits, Limit, StringLimits
from battery.plausibility import NO_RESPONSE, measured_cell_values


@dataclass(frozen=True, slots=True)
class LimitState:
    active: bool = False
    since: float | None = None  # when the pending change (raise, or clear if active) began to hold


INACTIVE = LimitState()


@dataclass(frozen=True, slots=True)
class AlarmTransition:
    """A raise (raised=True) or a clear of one alarm, as a rule saw it."""

    kind: AlarmKind
    raised: bool
    value: float | None
    limit: float | None
    time: float
    detail: str = ""


def _step(
    state: LimitState,
    violated: bool,
    recovered: bool,
    on_delay_s: float,
    off_delay_s: float,
    now: float,
) -> tuple[LimitState, bool]:
    """Shared delay logic; returns the new state and whether it flipped.

    Between the limit and limit-minus-hysteresis (the band) a pending delay keeps running:
    only a clear move to the other side restarts it. So a value hovering at the limit with
    noise raises once after the on-delay, instead of never (or, without hysteresis, often).
    """
    toward, away = (recovered, violated) if state.active else (violated, recovered)
    if away or (not toward and state.since is None):
        return (state if state.since is None else LimitState(state.active, None)), False
    since = now if state.since is None else state.since
    delay = off_delay_s if state.active else on_delay_s
    if now - since >= delay:
        return LimitState(not state.active, None), True
    return (state if state.since == since else LimitState(state.active, since)), False


def evaluate(
    state: LimitState, value: float | None, limit: Limit, now: float
) -> tuple[LimitState, AlarmTransition | None]:
    """One limit, one scan. `value=None` (stale or implausible) holds the alarm as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (state if state.since is None else LimitState(state.active, None)), None
    new, flipped = _step(state, limit.violated(value), limit.recovered(value), limit.on_delay_s, limit.off_delay_s, now)
    if not flipped:
        return new, None
    return new, AlarmTransition(limit.kind, new.active, value, limit.threshold, now)


def evaluate_flag(
    state: LimitState,
    condition: bool | None,
    kind: AlarmKind,
    on_delay_s: float,
    off_delay_s: float,
    now: float,
    detail: str = "",
) -> tuple[LimitState, AlarmTransition | None]:
    """A yes/no alarm (communication lost, sensor fault, hall sensor, breaker open, digital input).

    `condition=None` means "unknown" (e.g. the device that reports it did not answer): hold.
    """
    if condition is None:
        return (state if state.since is None else LimitState(state.active, None)), None
    new, flipped = _step(state, condition, not condition, on_delay_s, off_delay_s, now)
    if not flipped:
        return new, None
    return new, AlarmTransition(kind, new.active, 1.0 if condition else 0.0, None, now, detail)


class _ScanTransitions:
    """Evaluates one scan's limits and flags and collects the transitions they produce."""

    def __init__(self, now: float, off_delay_s: float) -> None:
        self.now = now
        self.off_delay_s = off_delay_s
        self.events: list[AlarmTransition] = []

    def limit(self, state: LimitState, value: float | None, limit: Limit) -> LimitState:
        new, transition = evaluate(state, value, limit, self.now)
        if transition is not None:
            self.events.append(transition)
        return new

    def flag(self, state: LimitState, condition: bool | None, kind: AlarmKind, on_delay_s: float) -> LimitState:
        new, transition = evaluate_flag(state, condition, kind, on_delay_s, self.off_delay_s, self.now)
        if transition is not None:
            self.events.append(transition)
        return new


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellAlarmState:
    """All alarm states of one cell; keep it in the CellSensor actor (and in its snapshot)."""

    voltage_high: LimitState = INACTIVE
    voltage_low: LimitState = INACTIVE
    resistance_high: LimitState = INACTIVE
    temperature_high: LimitState = INACTIVE
    soc_low: LimitState = INACTIVE
    soh_low: LimitState = INACTIVE
    sensor_fault: LimitState = INACTIVE
    communication_lost: LimitState = INACTIVE

    def active_kinds(self) -> frozenset[AlarmKind]:
        return frozenset(kind for kind, s in zip(_CELL_KINDS, _cell_states(self)) if s.active)


_CELL_KINDS = (
    AlarmKind.CELL_VOLTAGE_HIGH,
    AlarmKind.CELL_VOLTAGE_LOW,
    AlarmKind.CELL_RESISTANCE_HIGH,
    AlarmKind.CELL_TEMPERATURE_HIGH,
    AlarmKind.CELL_SOC_LOW,
    AlarmKind.CELL_SOH_LOW,
    AlarmKind.SENSOR_FAULT,
    AlarmKind.COMMUNICATION_LOST,
)


def _cell_states(s: CellAlarmState) -> tuple[LimitState, ...]:
    return (
        s.voltage_high,
        s.voltage_low,
        s.resistance_high,
        s.temperature_high,
        s.soc_low,
        s.soh_low,
        s.sensor_fault,
        s.communication_lost,
    )


CELL_ALARMS_CLEAR = CellAlarmState()


def _any_violated(
    limits: CellLimits, v: float | None, r: float | None, t: float | None, soc: float | None, soh: float | None
) -> bool:
    """Whether any value is missing or at a limit (directions checked by CellLimits)."""
    return (
        v is None
        or r is None
        or t is None
        or soc is None
        or soh is None
        or not limits.voltage_low.threshold < v < limits.voltage_high.threshold
        or r >= limits.resistance_high.threshold
        or t >= limits.temperature_high.threshold
        or soc <= limits.soc_low.threshold
        or soh <= limits.soh_low.threshold
    )


def evaluate_cell(
    state: CellAlarmState,
    limits: CellLimits,
    *,
    responded: bool,
    faults: int,
    voltage_mv: int | None,
    resistance_uohm: int | None,
    temperature_dc: int | None,
    soc_pct: float | None,
    soh_pct: float | None,
    now: float,
) -> tuple[CellAlarmState, list[AlarmTransition]]:
    """Evaluate every alarm of one cell for one scan (scaled units, see CellLimits).

    `faults` is the CellFault bit set the cell sensor worked out for this reading. Only what
    `measured_cell_values` keeps is compared with a limit; a value it withholds from a cell
    that answered (implausible, or a resistance across an open circuit) raises "Sensor fault",
    and a cell that did not answer raises "Communication lost". An open circuit's voltage
    (near zero) is a real reading and raises "Voltage low".
    """
    if (
        state is CELL_ALARMS_CLEAR
        and responded
        and not faults
        and not _any_violated(limits, voltage_mv, resistance_uohm, temperature_dc, soc_pct, soh_pct)
    ):
        return state, []  # the common case, kept cheap: 3,840 cells per scan
    if not responded or faults & NO_RESPONSE:
        responded = False
        voltage_mv = resistance_uohm = temperature_dc = None
        soc_pct = soh_pct = None
        fault_condition: bool | None = None
    else:
        voltage_mv, resistance_uohm, temperature_dc = measured_cell_values(
            faults, voltage_mv, resistance_uohm, temperature_dc
        )
        fault_condition = voltage_mv is None or resistance_uohm is None or temperature_dc is None

    scan = _ScanTransitions(now, limits.voltage_high.off_delay_s)
    lim, flag, events = scan.limit, scan.flag, scan.events

    new = CellAlarmState(
        voltage_high=lim(state.voltage_high, voltage_mv, limits.voltage_high),
        voltage_low=lim(state.voltage_low, voltage_mv, limits.voltage_low),
        resistance_high=lim(state.resistance_high, resistance_uohm, limits.resistance_high),
        temperature_high=lim(state.temperature_high, temperature_dc, limits.temperature_high),
        soc_low=lim(state.soc_low, soc_pct, limits.soc_low),
        soh_low=lim(state.soh_low, soh_pct, limits.soh_low),
        sensor_fault=flag(state.sensor_fault, fault_condition, AlarmKind.SENSOR_FAULT, limits.sensor_fault_delay_s),
        communication_lost=flag(
            state.communication_lost, not responded, AlarmKind.COMMUNICATION_LOST, limits.communication_lost_delay_s
        ),
    )
    if new == state:
        return state, events
    return new, events


# ---------------------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StringAlarmState:
    """All alarm states of one string's own quantities; keep it in the StringMaster actor."""

    voltage_high: LimitState = INACTIVE
    voltage_low: LimitState = INACTIVE
    current_high: LimitState = INACTIVE
    current_low: LimitState = INACTIVE
    soc_low: LimitState = INACTIVE
    hall_sensor: LimitState = INACTIVE
    switched_off: LimitState = INACTIVE
    communication_lost: LimitState = INACTIVE
    sensor_fault: LimitState = INACTIVE
    thermal_runaway: LimitState = INACTIVE
    insulation_low: LimitState = INACTIVE


STRING_ALARMS_CLEAR = StringAlarmState()


def evaluate_string(
    state: StringAlarmState,
    limits: StringLimits,
    *,
    responded: bool,
    voltage_v: float | None,
    current_a: float | None,
    soc_pct: float | None,
    hall_ok: bool | None,
    relay_closed: bool | None,
    sensor_fault: bool | None,
    now: float,
    insulation_kohm: float | None = None,
    runaway: bool | None = None,
) -> tuple[StringAlarmState, list[AlarmTransition]]:
    """Evaluate every alarm of one string's own quantities for one scan.

    `voltage_v` and `current_a` are what `measured_string_values` kept (None: not a
    measurement), and `sensor_fault` says whether it withheld one. A string master that did not
    answer raises "Communication lost" and holds every other alarm. A failed hall sensor raises
    its own alarm and its current is not compared. `runaway` is the analytics' thermal-runaway
    warning (the status names its cells; the alarm is the string's: an alarm's identity includes its
    detail, which must not change while it is active), `insulation_kohm` the BM-GS reading.
    """
    if not responded:
        voltage_v = current_a = soc_pct = insulation_kohm = None
        hall_ok = relay_closed = sensor_fault = runaway = None
    elif hall_ok is False:
        current_a = None

    scan = _ScanTransitions(now, limits.voltage_high.off_delay_s)
    lim, flag, events = scan.limit, scan.flag, scan.events

    new = StringAlarmState(
        voltage_high=lim(state.voltage_high, voltage_v, limits.voltage_high),
        voltage_low=lim(state.voltage_low, voltage_v, limits.voltage_low),
        current_high=lim(state.current_high, current_a, limits.current_high),
        current_low=lim(state.current_low, current_a, limits.current_low),
        soc_low=lim(state.soc_low, soc_pct, limits.soc_low),
        hall_sensor=flag(
            state.hall_sensor,
            None if hall_ok is None else not hall_ok,
            AlarmKind.HALL_SENSOR,
            limits.hall_sensor_delay_s,
        ),
        switched_off=flag(
            state.switched_off,
            None if relay_closed is None else not relay_closed,
            AlarmKind.STRING_SWITCHED_OFF,
            limits.switched_off_delay_s,
        ),
        communication_lost=flag(
            state.communication_lost,
            not responded,
            AlarmKind.COMMUNICATION_LOST,
            limits.communication_lost_delay_s,
        ),
        sensor_fault=flag(state.sensor_fault, sensor_fault, AlarmKind.SENSOR_FAULT, limits.sensor_fault_delay_s),
        thermal_runaway=flag(state.thermal_runaway, runaway, AlarmKind.THERMAL_RUNAWAY, limits.thermal_runaway_delay_s),
        insulation_low=(
            state.insulation_low
            if limits.insulation_low is None
            else lim(state.insulation_low, insulation_kohm, limits.insulation_low)
        ),
    )
    if new == state:
        return state, events
    return new, events


def evaluate_digital_input(
    state: LimitState, on: bool | None, name: str, now: float, delay_s: float
) -> tuple[LimitState, AlarmTransition | None]:
    """A BM-LC digital input the topology names (leakage, fire, ...): on = alarm."""
    return evaluate_flag(state, on, AlarmKind.DIGITAL_INPUT, delay_s, delay_s, now, detail=name)
