"""Discharge events of a string: when they start and end, and what they delivered.

An event starts when the string discharges past `start_current_c` × C for `min_duration_s`;
its start is back-dated to the first scan past the threshold, and charge counts from there.
It ends when charging resumes (current above `end_current_c` × C), or after `idle_end_s` with
no current (a breaker opened, a charger that stays off); then its end is when the current stopped. Per event: duration, Ah and Wh
delivered, the lowest string voltage, each cell's lowest voltage and the weakest cells (lowest
voltage under load). The scans themselves, at full resolution, are the history's: an event
names its time span, the plots read the scans in it.

What an event delivered and how low it went is counted by ONE rule, DischargeTally: the
detector counts with it scan by scan, and the history recounts with it, from the stored scans,
an event the detector's figures were not stored for (storage/history/discharge_figures.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from battery.analytics.params import BatteryParams, DischargeParams


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


@dataclass(frozen=True)
class DischargeTally:
    """What an event delivered so far and how low its voltages went, scan by scan.

    Each scan's current and voltage are held until the next scan: the charge of an interval is
    the previous scan's discharge current (−I, none while charging) times its length, its energy
    that charge times the previous scan's voltage.
    """

    ah: float = 0.0
    wh: float = 0.0
    min_string_v: float | None = None
    cell_min_mv: tuple[int | None, ...] = ()
    last_current_a: float = 0.0  # the current of the previous scan: it flowed until this one
    last_voltage_v: float = 0.0

    def flowed(self, dt_s: float) -> DischargeTally:
        """The previous scan's current and voltage, held for `dt_s` (up to this scan)."""
        delivered = max(0.0, -self.last_current_a) * max(0.0, dt_s) / 3600.0
        return replace(self, ah=self.ah + delivered, wh=self.wh + delivered * self.last_voltage_v)

    def scan(
        self, voltage_v: float, current_a: float, cell_voltage_mv: Sequence[int | None], under_load: bool
    ) -> DischargeTally:
        """This scan's readings: the minima (the cells' only `under_load`, past the threshold)
        and the current and voltage that flow until the next scan. A cell voltage None or 0 is
        not a measurement (the cell did not answer) and is left out of the minima."""
        return replace(
            self,
            min_string_v=voltage_v if self.min_string_v is None else min(self.min_string_v, voltage_v),
            cell_min_mv=_lowest(self.cell_min_mv, cell_voltage_mv) if under_load else self.cell_min_mv,
            last_current_a=current_a,
            last_voltage_v=voltage_v,
        )

    def event(self, started_at: float, ended_at: float, weakest_count: int) -> DischargeEvent:
        """The event's figures, its weakest `weakest_count` cells first."""
        measured = [(i + 1, mv) for i, mv in enumerate(self.cell_min_mv) if mv]
        weakest = tuple(sorted(measured, key=lambda c: (c[1], c[0]))[:weakest_count])
        return DischargeEvent(
            started_at=started_at,
            ended_at=ended_at,
            ah=self.ah,
            wh=self.wh,
            min_string_v=self.min_string_v,
            min_cell_mv=weakest[0][1] if weakest else None,
            weakest_cells=weakest,
        )


@dataclass(frozen=True)
class DischargeState:
    active: bool = False  # an event is on
    started_at: float | None = None  # first scan past the threshold (also while a candidate)
    tally: DischargeTally = DischargeTally()
    idle_since: float | None = None  # first scan with the current back above the threshold


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
        state = DischargeState(False, now, DischargeTally(cell_min_mv=(None,) * len(cell_voltage_mv)))
    if not state.active and not past:
        return IDLE, None  # a candidate that did not last: a blip, not an event
    # The previous scan's current flowed until this scan (its interval is counted even when
    # this scan ends the event).
    tally = state.tally.flowed(dt_s)
    if state.active and current_a > params.end_current_c * battery.capacity_ah:
        ended_at = now if state.idle_since is None else state.idle_since
        return IDLE, tally.event(state.started_at, ended_at, params.weakest_count)
    idle_since = None if past else (now if state.idle_since is None else state.idle_since)
    if state.active and idle_since is not None and now - idle_since >= params.idle_end_s:
        return IDLE, tally.event(state.started_at, idle_since, params.weakest_count)
    state = DischargeState(
        state.active or now - state.started_at >= params.min_duration_s,
        state.started_at,
        tally.scan(voltage_v, current_a, cell_voltage_mv, past),
        idle_since,
    )
    return state, None


def _lowest(so_far: tuple[int | None, ...], now: Sequence[int | None]) -> tuple[int | None, ...]:
    if len(so_far) != len(now):
        so_far = (None,) * len(now)
    return tuple(old if not new else new if old is None else min(old, new) for old, new in zip(so_far, now))
