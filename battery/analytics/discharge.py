"""Discharge events of a string: when they start and end, and what they delivered.

An event starts when the string discharges past `start_current_c` × C for `min_duration_s`;
its start is back-dated to the first scan past the threshold, and charge counts from there.
It ends when charging resumes (current above `end_current_c` × C), or after `idle_end_s` with
no current (a breaker opened, a charger that stays off); then its end is when the current stopped. Per event: duration, Ah and Wh
delivered, the lowest string voltage, each cell's lowest voltage and the weakest cells (lowest
voltage under load). The scans themselves, at full resolution, are the history's: an event
names its time span, the plots read the scans in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from battery.analytics.params import BatteryParams, DischargeParams


@dataclass(frozen=True)
class DischargeState:
    active: bool = False  # an event is on
    started_at: float | None = None  # first scan past the threshold (also while a candidate)
    ah: float = 0.0
    wh: float = 0.0
    min_string_v: float | None = None
    cell_min_mv: tuple[int | None, ...] = ()
    idle_since: float | None = None  # first scan with the current back above the threshold
    last_current_a: float = 0.0  # the current of the previous scan: it flowed until this one
    last_voltage_v: float = 0.0


@dataclass(frozen=True)
class DischargeEvent:
    started_at: float
    ended_at: float
    ah: float
    wh: float
    min_string_v: float | None
    min_cell_mv: int | None
    weakest_cells: tuple[tuple[int, int], ...]  # (cell index from 1, its lowest mV), weakest first

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at


IDLE = DischargeState()


def step_discharge(
    state: DischargeState,
    now: float,
    dt_s: float,
    voltage_v: float,
    current_a: float,
    cell_voltage_mv: Sequence[int | None],
    battery: BatteryParams,
    params: DischargeParams,
) -> tuple[DischargeState, DischargeEvent | None]:
    """(state after this scan, the event that ended with it or None). A cell voltage None or 0
    is not a measurement (the cell did not answer) and is left out of the minima."""
    start_below = -params.start_current_c * battery.capacity_ah
    past = current_a < start_below
    if state.started_at is None:
        if not past:
            return state, None
        state = DischargeState(False, now, cell_min_mv=(None,) * len(cell_voltage_mv))
    if not state.active and not past:
        return IDLE, None  # a candidate that did not last: a blip, not an event
    # The previous scan's current flowed until this scan (its interval is counted even when
    # this scan ends the event).
    delivered = max(0.0, -state.last_current_a) * max(0.0, dt_s) / 3600.0
    ah, wh = state.ah + delivered, state.wh + delivered * state.last_voltage_v
    if state.active and current_a > params.end_current_c * battery.capacity_ah:
        return IDLE, finished(state, now if state.idle_since is None else state.idle_since, params, ah, wh)
    idle_since = None if past else (now if state.idle_since is None else state.idle_since)
    if state.active and idle_since is not None and now - idle_since >= params.idle_end_s:
        return IDLE, finished(state, idle_since, params, ah, wh)
    state = DischargeState(
        state.active or now - state.started_at >= params.min_duration_s,
        state.started_at,
        ah,
        wh,
        voltage_v if state.min_string_v is None else min(state.min_string_v, voltage_v),
        _lowest(state.cell_min_mv, cell_voltage_mv) if past else state.cell_min_mv,
        idle_since,
        current_a,
        voltage_v,
    )
    return state, None


def finished(state: DischargeState, ended_at: float, params: DischargeParams, ah: float, wh: float) -> DischargeEvent:
    measured = [(i + 1, mv) for i, mv in enumerate(state.cell_min_mv) if mv]
    weakest = tuple(sorted(measured, key=lambda c: (c[1], c[0]))[: params.weakest_count])
    return DischargeEvent(
        started_at=state.started_at,
        ended_at=ended_at,
        ah=ah,
        wh=wh,
        min_string_v=state.min_string_v,
        min_cell_mv=weakest[0][1] if weakest else None,
        weakest_cells=weakest,
    )


def _lowest(so_far: tuple[int | None, ...], now: Sequence[int | None]) -> tuple[int | None, ...]:
    if len(so_far) != len(now):
        so_far = (None,) * len(now)
    return tuple(old if not new else new if old is None else min(old, new) for old, new in zip(so_far, now))
