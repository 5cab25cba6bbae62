"""ADAPTER between the benchmark and the gateway's estimators (battery/analytics).

Everything the benchmark knows about the estimators' interface is here, so when that interface
changes only this module follows. It drives them exactly as the gateway does per scan
(actors/device/cell_sensor.py for each cell, battery/string_analytics.py for the string):
every valid cell is stepped (paced, on its own phase) with the string current and its own
voltage and resistance, then the string with the cells' views; a capacity SOH that a finished
discharge measured reaches the cells with the next scan. The estimators see only what the devices measured: the scaled
integers of one BM-SS scan (sim.string_model.StringMeasurement), converted as the gateway
converts them, never the simulator's truth.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from battery.analytics import (
    AnalyticsParams,
    CellEstimate,
    DischargeEvent,
    SohEstimate,
    StringAnalytics,
    StringResult,
    analytics_params,
    loaded_reference_vpc,
    step_cell_paced,
    step_string,
    view_of,
    with_capacity,
)
from battery.analytics import StringMeasurement as MeasuredString
from battery.analytics.cell_step import HeldReadings, judge_phase
from battery.plausibility import reading_faults
from battery.site import BatteryType
from sim.string_model import StringMeasurement


@dataclass(frozen=True)
class Estimate:
    """What the gateway would show after one scan."""

    soc_pct: float  # string SOC: its weakest valid cell
    cell_soc_pct: tuple[float, ...]
    cell_soh_pct: tuple[float | None, ...]
    cell_soh_method: tuple[str, ...]
    cell_soh_resistance_pct: tuple[float | None, ...]  # the resistance SOH, also when a capacity SOH is shown
    runtime_min: float | None
    discharge_active: bool
    discharge_started_at: float | None
    event: DischargeEvent | None  # a discharge that ended with this scan
    runaway: bool
    insulation_low: bool
    weakest_by_resistance: tuple[int, ...] = ()  # the string's weakest cells by resistance rise, worst first


class GatewayEstimators:
    """One string's estimators, stepped with one measurement per scan."""

    def __init__(self, battery: BatteryType, params: AnalyticsParams | None = None) -> None:
        self.battery = battery
        self.params = params if params is not None else analytics_params(battery)
        self.cells = [CellEstimate(judge_phase_s=judge_phase(i, self.params)) for i in range(1, battery.count + 1)]
        self.held: list[HeldReadings | None] = [None] * battery.count
        self.string = StringAnalytics()
        self._capacity: tuple[SohEstimate | None, ...] | None = None

    def step(self, timestamp: float, m: StringMeasurement) -> Estimate:
        params = self.params
        current_a = m.current_ca / 100.0 if m.hall_ok else 0.0
        valid = [
            responded
            and not reading_faults(self.battery.nominal_voltage, responded, mv, r, t)
            for responded, mv, r, t in zip(
                m.cell_responded, m.cell_voltage_mv, m.cell_resistance_uohm, m.cell_temperature_dc
            )
        ]  # fmt: skip
        cells = self.cells
        if self._capacity is not None:
            cells = [with_capacity(c, e) for c, e in zip(cells, self._capacity)]
            self._capacity = None
        reference = loaded_reference_vpc(
            current_a,
            [mv if ok else None for mv, ok in zip(m.cell_voltage_mv, valid)],
            m.cell_resistance_uohm,
            params.battery,
        )
        stepped = [
            step_cell_paced(c, h, timestamp, current_a, mv / 1000.0, r, params, reference)
            if ok
            else (replace(c, last_at=None), None)
            for c, h, ok, mv, r in zip(cells, self.held, valid, m.cell_voltage_mv, m.cell_resistance_uohm)
        ]
        self.cells = cells = [c for c, _ in stepped]
        self.held = [h for _, h in stepped]
        measured = MeasuredString(
            timestamp=timestamp,
            voltage_v=m.voltage_cv / 100.0,
            current_a=current_a,
            cell_voltage_mv=tuple(v if ok else None for v, ok in zip(m.cell_voltage_mv, valid)),
            cell_resistance_uohm=tuple(r if ok else None for r, ok in zip(m.cell_resistance_uohm, valid)),
            cell_temperature_c=tuple(t / 10.0 if ok else None for t, ok in zip(m.cell_temperature_dc, valid)),
            ambient_c=None if m.ambient_dc is None else m.ambient_dc / 10.0,
            hall_ok=m.hall_ok,
            relay_closed=m.relay_closed,
            insulation_kohm=None if m.insulation_kohm is None else float(m.insulation_kohm),
        )
        views = [view_of(c, params) if ok else None for c, ok in zip(cells, valid)]
        self.string, r = step_string(self.string, measured, views, params)
        if any(e is not None and e.soh_pct is not None for e in r.capacity_soh):
            self._capacity = r.capacity_soh
        return _estimate(r, cells)


def _estimate(r: StringResult, cells: list[CellEstimate]) -> Estimate:
    sohs = [c.soh for c in cells]
    return Estimate(
        soc_pct=r.soc_pct,
        cell_soc_pct=tuple(c.soc.soc_pct for c in cells),
        cell_soh_pct=tuple(s.soh_pct for s in sohs),
        cell_soh_method=tuple(s.method.value for s in sohs),
        cell_soh_resistance_pct=tuple(c.soh_resistance.soh_pct for c in cells),
        runtime_min=r.runtime_min,
        discharge_active=r.discharge_active,
        discharge_started_at=r.discharge_started_at,
        event=r.event,
        runaway=r.runaway.active,
        insulation_low=r.insulation_low,
        weakest_by_resistance=tuple(int(k) for k, _ in r.weakest.by_resistance_rise),
    )
