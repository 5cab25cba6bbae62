"""A string's estimators together, stepped once per scan: what the string master (and the
bench) drives. Cells are stepped first (cell_step.step_cell, in the gateway by each cell's
actor); this step takes their estimates and does what needs the whole string: charge state,
string SOC and runtime, discharge events and the capacity runs in them, weakest cells,
thermal-runaway warning and insulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from battery.analytics.capacity import CapacityRun, finish_run, start_run, step_run
from battery.analytics.cell_step import CellView
from battery.analytics.charge_state import ChargeStateTracker, step_charge_state
from battery.analytics.discharge import DischargeEvent, DischargeState, step_discharge
from battery.analytics.insulation import insulation_low
from battery.analytics.params import AnalyticsParams
from battery.analytics.runaway import RunawayState, step_runaway
from battery.analytics.runtime import runtime_min
from battery.analytics.soh import SohEstimate
from battery.analytics.weakest import WeakestCells, string_weakest
from battery.codes import ChargeState


@dataclass(frozen=True)
class StringMeasurement:
    """One scan of a string as the devices measured it. A cell value None: no valid reading."""

    timestamp: float
    voltage_v: float
    current_a: float
    cell_voltage_mv: tuple[int | None, ...]
    cell_resistance_uohm: tuple[int | None, ...]
    cell_temperature_c: tuple[float | None, ...]
    ambient_c: float | None = None
    hall_ok: bool = True
    relay_closed: bool = True
    insulation_kohm: float | None = None


@dataclass(frozen=True)
class StringAnalytics:
    """What a string remembers between scans (persisted with the string master's snapshot)."""

    last_at: float | None = None
    charge: ChargeStateTracker = ChargeStateTracker()
    soc_pct: float = 100.0
    discharge: DischargeState = DischargeState()
    capacity_runs: tuple[CapacityRun | None, ...] = ()
    runaway: RunawayState = RunawayState()
    insulation_low: bool = False


@dataclass(frozen=True)
class StringResult:
    state: ChargeState
    soc_pct: float  # the lowest SOC of the valid cells: a string is empty when its weakest cell is
    runtime_min: float | None  # while discharging
    discharge_active: bool
    discharge_started_at: float | None
    event: DischargeEvent | None  # the event that ended with this scan
    capacity_soh: tuple[SohEstimate | None, ...]  # per cell, after a deep enough event (with_capacity)
    weakest: WeakestCells
    runaway: RunawayState
    insulation_low: bool


def step_string(
    state: StringAnalytics,
    m: StringMeasurement,
    cells: Sequence[CellView | None],
    params: AnalyticsParams,
) -> tuple[StringAnalytics, StringResult]:
    """`cells`: each cell's view after this scan (cell_step.view_of; None for a cell without one)."""
    battery = params.battery
    dt_s = 0.0 if state.last_at is None else m.timestamp - state.last_at
    if dt_s > battery.max_gap_s or dt_s < 0:  # a long gap (or a clock step back): start afresh
        state, dt_s = StringAnalytics(soc_pct=state.soc_pct), 0.0
    n = len(cells)
    vpc = battery.vpc(m.voltage_v, n)
    charge = step_charge_state(state.charge, m.current_a, vpc, dt_s, battery, m.hall_ok, m.relay_closed)
    valid = [(i, c) for i, c in enumerate(cells) if c is not None and m.cell_voltage_mv[i]]
    soc = min((c.soc_pct for _, c in valid), default=state.soc_pct)
    runtime = None
    if charge.state == ChargeState.DISCHARGE:
        estimates = [runtime_min(c.soc_pct, m.current_a, battery, c.capacity_fraction) for _, c in valid]
        runtime = min((r for r in estimates if r is not None), default=None)
    discharge, event = step_discharge(
        state.discharge, m.timestamp, dt_s, m.voltage_v, m.current_a, m.cell_voltage_mv, battery, params.discharge
    )
    runs, capacity = _capacity(state, discharge, event, m, cells, dt_s, params)
    weakest = string_weakest(
        [None if c is None else c.resistance_rise for c in cells],
        m.cell_voltage_mv,
        m.cell_temperature_c,
        discharging=charge.state == ChargeState.DISCHARGE,
        count=params.discharge.weakest_count,
    )
    runaway = step_runaway(
        state.runaway,
        m.timestamp,
        dt_s,
        m.current_a,
        charge.state in (ChargeState.FLOAT, ChargeState.EQUALIZE),
        m.cell_temperature_c,
        m.ambient_c,
        battery,
        params.runaway,
    )
    low = insulation_low(m.insulation_kohm, state.insulation_low, params.insulation)
    new = StringAnalytics(m.timestamp, charge, soc, discharge, runs, runaway, low)
    result = StringResult(
        charge.state,
        soc,
        runtime,
        discharge.active,
        discharge.started_at if discharge.active else None,
        event,
        capacity,
        weakest,
        runaway,
        low,
    )
    return new, result


def _capacity(
    state: StringAnalytics,
    discharge: DischargeState,
    event: DischargeEvent | None,
    m: StringMeasurement,
    cells: Sequence[CellView | None],
    dt_s: float,
    params: AnalyticsParams,
) -> tuple[tuple[CapacityRun | None, ...], tuple[SohEstimate | None, ...]]:
    """Each cell's capacity run through a discharge, and its capacity SOH when it ends."""
    n = len(cells)
    battery = params.battery
    if event is not None:
        finished = tuple(
            None if run is None else finish_run(run, m.timestamp, battery, params.soh) for run in state.capacity_runs
        )
        return (), finished + (None,) * (n - len(finished))
    if discharge.started_at is None:
        return (), (None,) * n
    runs = state.capacity_runs
    if len(runs) != n:  # the event just opened: each cell starts from what it had
        runs = tuple(None if c is None else start_run(c.soc_pct) for c in cells)
    stepped = []
    for i, run in enumerate(runs):
        mv, r = m.cell_voltage_mv[i], m.cell_resistance_uohm[i]
        if run is None or not mv:
            stepped.append(run)
            continue
        stepped.append(step_run(run, m.current_a, battery.vpc(mv / 1000.0), r, dt_s, battery))
    return tuple(stepped), (None,) * n
