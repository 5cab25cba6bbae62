"""One cell's estimators together, stepped with its valid readings.

A CellEstimate is what a cell must remember (and persist, so SOC and the baseline survive a
restart): its SOC integrator, its resistance baseline and average, and its two SOH values.
The resistance (baseline, average, SOH) learns only from readings on float (`on_float`).
step_cell steps every estimator with one reading; the baseline and SOH are judged every
`SohParams.judge_every_s` on a per-cell phase, so that the cells of a string do not all judge
in the same scan. step_cell_paced is how the gateway drives it: every scan off float, once per
judging period on float, with the mean of the resistances read in between.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from battery.analytics.baseline import ResistanceBaseline, baseline_uohm, step_baseline
from battery.analytics.load_deviation import NOT_LOADED, LoadDeviation, step_load_deviation
from battery.analytics.params import AnalyticsParams
from battery.analytics.soc import SocState, step_soc
from battery.analytics.soh import UNKNOWN, SohEstimate, SohMethod, preferred, resistance_rise, resistance_soh_pct
from battery.fast_init import dict_init


@dict_init  # built per cell every scan: battery/fast_init.py
@dataclass(frozen=True)
class CellEstimate:
    soc: SocState = SocState()
    baseline: ResistanceBaseline = ResistanceBaseline()
    resistance_avg_uohm: float | None = None  # on float: exponential average over SohParams' time constant
    soh_resistance: SohEstimate = UNKNOWN
    soh_capacity: SohEstimate = UNKNOWN
    last_at: float | None = None  # timestamp of the last valid reading
    load: LoadDeviation = NOT_LOADED  # its voltage under load in the present discharge (not persisted)
    judged_at: float | None = None  # when the baseline and SOH were last judged from the average
    rise: float | None = None  # the average's rise over the baseline then (rise_of)
    judge_phase_s: float = 0.0  # this cell's offset in the judging period (judge_phase)

    @property
    def soh(self) -> SohEstimate:
        return preferred(self.soh_resistance, self.soh_capacity)

    @property
    def capacity_fraction(self) -> float:
        """The share of rated capacity its SOC counts against: the capacity measured to its end
        voltage, else whole. A capacity from a discharge that stopped short takes its end SOC
        from the loaded voltage, which still carries the polarisation (it reads low): it is
        shown as SOH but would make the count run fast."""
        measured = self.soh_capacity.soh_pct
        if measured is None or not self.soh_capacity.to_end_voltage:
            return 1.0
        return max(0.05, measured / 100.0)


def step_cell(
    cell: CellEstimate,
    now: float,
    current_a: float,
    battery_voltage_v: float,
    resistance_uohm: float,
    params: AnalyticsParams,
    reference_vpc: float | None = None,
) -> CellEstimate:
    """The cell after one valid reading (a scan without one is simply not stepped: the gap is
    then seen as such and not integrated). `reference_vpc`: the string's median ohmic-free
    voltage per cell this scan while it discharges (load_deviation.loaded_reference_vpc)."""
    battery = params.battery
    dt_s = 0.0 if cell.last_at is None else now - cell.last_at
    fresh = 0 < dt_s <= battery.max_gap_s
    vpc = battery.vpc(battery_voltage_v)
    soc = step_soc(cell.soc, current_a, vpc, dt_s if fresh else 0.0, battery, cell.capacity_fraction, now)
    load, soc_pct = step_load_deviation(
        cell.load,
        soc.soc_pct,
        current_a,
        vpc,
        resistance_uohm,
        None if soc.anchored else reference_vpc,  # at its end voltage the count is anchored: better
        dt_s if fresh else 0.0,
        battery,
        cell.capacity_fraction,
    )
    if soc_pct != soc.soc_pct:
        soc = replace(soc, soc_pct=soc_pct)
    if not on_float(current_a, vpc, params):
        # Under a discharge or a recharge the reading carries polarisation, and an emptied
        # battery reads up to half again its full value: neither says how the battery aged.
        # The constructor, not dataclasses.replace: this runs per cell per scan, replace() costs
        # several times as much.
        return CellEstimate(
            soc,
            cell.baseline,
            cell.resistance_avg_uohm,
            cell.soh_resistance,
            cell.soh_capacity,
            now,
            load,
            cell.judged_at,
            cell.rise,
            cell.judge_phase_s,
        )
    tau = params.soh.resistance_time_constant_s
    average = (
        cell.resistance_avg_uohm + (resistance_uohm - cell.resistance_avg_uohm) * dt_s / (tau + dt_s)
        if fresh and cell.resistance_avg_uohm is not None
        else float(resistance_uohm)
    )
    phase = cell.judge_phase_s
    if fresh and cell.judged_at is not None and same_judging_period(now, cell.judged_at, phase, params):
        return CellEstimate(
            soc,
            cell.baseline,
            average,
            cell.soh_resistance,
            cell.soh_capacity,
            now,
            load,
            cell.judged_at,
            cell.rise,
            phase,
        )
    baseline = step_baseline(cell.baseline, resistance_uohm, now, params.baseline)
    reference = baseline_uohm(baseline, params.baseline)
    soh_pct = resistance_soh_pct(average, reference, params.soh)
    previous = cell.soh_resistance
    if soh_pct is None:
        soh_r = UNKNOWN
    elif previous.soh_pct is not None and abs(soh_pct - previous.soh_pct) < 0.01:
        soh_r = previous  # unchanged to 0.01 %: its time is when it last changed (and no new object)
    else:
        soh_r = SohEstimate(soh_pct, SohMethod.RESISTANCE, now)
    rise = resistance_rise(average, reference)
    return CellEstimate(soc, baseline, average, soh_r, cell.soh_capacity, now, load, now, rise, phase)


class HeldReadings(NamedTuple):
    """The float readings a paced cell has not stepped with yet (step_cell_paced): the newest one,
    and the sum and count of their resistances, whose mean the next step learns from."""

    at: float
    current_a: float
    battery_voltage_v: float
    resistance_sum_uohm: float
    count: int

    @property
    def resistance_uohm(self) -> float:
        return self.resistance_sum_uohm / self.count


def step_cell_paced(
    cell: CellEstimate,
    held: HeldReadings | None,
    now: float,
    current_a: float,
    battery_voltage_v: float,
    resistance_uohm: float,
    params: AnalyticsParams,
    reference_vpc: float | None = None,
) -> tuple[CellEstimate, HeldReadings | None]:
    """(the cell, the readings it holds) after one valid reading, stepped as step_cell but, on
    float, only once per judging period, on the cell's own phase.

    Why: on float nothing a cell estimates moves within seconds (its SOC sits at full, its
    resistance is a 5-minute average judged every `judge_every_s`), yet stepping every cell
    every scan was the larger part of a string master's CPU. What pacing keeps:
    - the readings in between are held, not dropped: the step learns from the mean of their
      resistances (each one counts, as when every scan was stepped) and integrates the charge
      from the last stepped reading to now at the present current, which on float is the
      steady tail current;
    - a reading off float (a discharge, a recharge, a rest) is stepped at once, every scan, after
      the held readings are stepped up to the last of them: the charge of a discharge is counted
      from its first scan, not from the last float step;
    - a gap (a reading more than `max_gap_s` after the last step) is stepped at once, as step_cell
      treats any gap."""
    last = cell.last_at
    if (
        last is not None
        and 0 < now - last <= params.battery.max_gap_s
        and on_float(current_a, params.battery.vpc(battery_voltage_v), params)
    ):
        if same_judging_period(now, last, cell.judge_phase_s, params):  # not yet this cell's turn
            total, count = (0.0, 0) if held is None else (held.resistance_sum_uohm, held.count)
            return cell, HeldReadings(now, current_a, battery_voltage_v, total + resistance_uohm, count + 1)
        if held is not None and held.at > last:
            resistance_uohm = (held.resistance_sum_uohm + resistance_uohm) / (held.count + 1)
        return step_cell(cell, now, current_a, battery_voltage_v, resistance_uohm, params, reference_vpc), None
    if held is not None and last is not None and held.at > last:  # off float, or after a gap
        cell = step_cell(cell, held.at, held.current_a, held.battery_voltage_v, held.resistance_uohm, params)
    return step_cell(cell, now, current_a, battery_voltage_v, resistance_uohm, params, reference_vpc), None


def same_judging_period(now: float, then: float, phase_s: float, params: AnalyticsParams) -> bool:
    """Whether two times fall in the same judging period of a cell with this phase: a cell judges
    (step_cell) and, on float, steps (step_cell_paced) once per period."""
    period = params.soh.judge_every_s
    return (now + phase_s) // period == (then + phase_s) // period


def judge_phase(index: int, params: AnalyticsParams) -> float:
    """Cell `index`'s offset in the judging period: consecutive cells a second apart, so that
    at a 1 s scan a tenth of a string's cells judge in each scan rather than all in one."""
    period = params.soh.judge_every_s
    return float(index % max(1, int(period)))


def on_float(current_a: float, vpc: float, params: AnalyticsParams) -> bool:
    """A reading taken on float: full, at float voltage, no more than the rest current flowing.
    IEEE 1188 compares ohmic values taken so, against a baseline taken so."""
    battery = params.battery
    return abs(current_a) < battery.rest_current_a and vpc >= battery.float_min_vpc


def rise_of(cell: CellEstimate | None, params: AnalyticsParams) -> float | None:
    """The cell's averaged resistance rise over its baseline (0.2 = +20 %) when it was last
    judged (at most `judge_every_s` ago), None if unknown."""
    if cell is None or cell.resistance_avg_uohm is None:
        return None
    if cell.judged_at is not None:
        return cell.rise
    return resistance_rise(cell.resistance_avg_uohm, baseline_uohm(cell.baseline, params.baseline))


@dataclass(frozen=True, slots=True)  # one per cell of every string: slots keep it small
class CellView:
    """What the string step needs of a cell: its SOC, its capacity share and its resistance rise."""

    soc_pct: float
    capacity_fraction: float = 1.0
    resistance_rise: float | None = None  # R / baseline − 1


def snapshot_view(soc_pct: float, soh_capacity: SohEstimate | None, resistance_rise: float | None) -> CellView:
    """A cell's view from what its snapshot keeps (the string master has no CellEstimate):
    a measured capacity sets its share, else the whole rated capacity."""
    capacity = soh_capacity.soh_pct if soh_capacity is not None else None
    return CellView(soc_pct, 1.0 if capacity is None else max(0.05, capacity / 100.0), resistance_rise)


def view_of(cell: CellEstimate | None, params: AnalyticsParams) -> CellView | None:
    return None if cell is None else CellView(cell.soc.soc_pct, cell.capacity_fraction, rise_of(cell, params))


def with_capacity(cell: CellEstimate, estimate: SohEstimate | None) -> CellEstimate:
    """The cell with a new capacity SOH (from a finished discharge); None changes nothing."""
    if estimate is None or estimate.soh_pct is None:
        return cell
    return replace(cell, soh_capacity=estimate)
