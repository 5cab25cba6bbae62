"""From one scan's StringStatus to the same status with the string's analytics. Pure.

The string master steps battery/analytics once per scan with what its devices measured and
what its cells estimated (their snapshots): charge state with hysteresis, runtime, discharge
events, capacity SOH at the end of a deep discharge, weakest cells, thermal-runaway warning,
insulation and the balancing bits. Kept apart from the actor so it is tested without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from operator import attrgetter

from battery.analytics import (
    AnalyticsParams,
    CellView,
    SohMethod,
    StringAnalytics,
    StringMeasurement,
    step_string,
)
from battery.analytics.cell_step import snapshot_view
from battery.codes import ChargeState
from battery.quantities import quantity
from battery.readings import CellBatch, StringScan
from battery.status import CellSnapshot, CellStatus, StringStatus

CELL_TEMPERATURE = quantity("cell.temperature")
# Per-cell columns are read with C-level getters: these loops run over 120 cells every scan.
_FAULTS, _SOH, _SOH_METHOD, _SOH_AT = (attrgetter(name) for name in ("faults", "soh_pct", "soh_method", "soh_at"))


def cell_views(cells: Sequence[CellStatus]) -> list[CellView | None]:
    """Each cell's SOC, capacity share and resistance rise, from its snapshot after this scan
    (the view its status carries; None for a cell whose reading is not valid). The rise is the
    cell's average read on float (cell_step.on_float): this scan's reading, taken under a
    discharge, would rank the emptiest cells, not the aged ones."""
    return [None if c.faults else (c.view or _view_of_snapshot(c.snapshot)) for c in cells]


def _view_of_snapshot(snap: CellSnapshot) -> CellView:
    return snapshot_view(snap.soc_pct, snap.soh_capacity, snap.resistance_rise)


def measurement(
    scan: StringScan, batch: CellBatch, cells: Sequence[CellStatus], status: StringStatus
) -> StringMeasurement:
    """What the devices measured this scan; a cell value None where its reading is not valid."""
    voltages, resistances = batch.voltage_mv, batch.resistance_uohm
    temperatures = tuple(map(CELL_TEMPERATURE.from_wire, batch.temperature_dc))
    if any(map(_FAULTS, cells)):  # per-column passes only when some reading is not valid
        valid = [not c.faults for c in cells]
        voltages, resistances, temperatures = (
            tuple(v if ok else None for v, ok in zip(values, valid)) for values in (voltages, resistances, temperatures)
        )
    return StringMeasurement(
        timestamp=scan.timestamp,
        voltage_v=status.voltage_v,
        current_a=status.current_a,
        cell_voltage_mv=voltages,
        cell_resistance_uohm=resistances,
        cell_temperature_c=temperatures,
        ambient_c=status.ambient_c,
        hall_ok=scan.hall_ok,
        relay_closed=scan.relay_closed,
        insulation_kohm=None if scan.insulation_kohm is None else float(scan.insulation_kohm),
    )


def analysed(
    state: StringAnalytics,
    params: AnalyticsParams,
    scan: StringScan,
    batch: CellBatch,
    cells: Sequence[CellStatus],
    status: StringStatus,
    sensor_fault: bool = False,
) -> tuple[StringAnalytics, StringStatus, tuple | None]:
    """`sensor_fault`: a string value outside its sensor's range (string_plausibility): the
    state is abnormal whatever the estimators say.

    (analytics state after this scan, the status with its analytics, the capacity SOH per cell
    that a discharge ending with this scan measured, to hand to the cells with the next batch)."""
    state, r = step_string(state, measurement(scan, batch, cells, status), cell_views(cells), params)
    valid = [c for c in cells if not c.faults]
    weakest_soh = min(valid, key=_SOH, default=None)
    n = len(cells)
    balancing = scan.cell_balancing
    status = replace(
        status,
        state=ChargeState.ABNORMAL if sensor_fault else r.state,
        soc_pct=r.soc_pct if valid else status.soc_pct,
        runtime_min=r.runtime_min,
        soh_method=weakest_soh.soh_method if weakest_soh else SohMethod.NONE.value,
        soh_at=weakest_soh.soh_at if weakest_soh else None,
        discharge_started_at=r.discharge_started_at,
        discharge_ended=r.event,
        insulation_kohm=None if scan.insulation_kohm is None else float(scan.insulation_kohm),
        insulation_low=r.insulation_low,
        runaway=r.runaway.active,
        runaway_cells=r.runaway.hot_cells if r.runaway.active else (),
        weakest=r.weakest,
        cell_soh_method=tuple(map(_SOH_METHOD, cells)),
        cell_soh_at=tuple(map(_SOH_AT, cells)),
        cell_balancing=(balancing + (False,) * n)[:n] if balancing else (),
    )
    measured = any(r.capacity_soh) and any(e is not None and e.soh_pct is not None for e in r.capacity_soh)
    capacity = r.capacity_soh if measured else None
    return state, status, capacity
