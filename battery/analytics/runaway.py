"""Thermal-runaway early warning for a string on float.

Thermal runaway in a VRLA string: a cell heats, its float current rises, which heats it more.
Vendors and IEEE 1188/1187 guidance watch for exactly that combination, long before any cell
reaches a temperature limit:
- a cell hotter than ambient by `ambient_margin_k` AND hotter than the median of its
  `neighbours` on either side by `neighbour_margin_k`, or the whole string (its median cell)
  hotter than ambient by `string_margin_k`;
- while the float current rose by `current_rise_factor` and at least `current_rise_min_c` × C
  over `window_s`: hours, since a VRLA runaway builds over hours (the float current doubles
  with every ~10 K, so a cell 8 K warmer than the room already draws ×1.7). The string's own
  float current is the baseline (the lowest of the window) and the present current is the
  median of the last three samples, so a single noisy reading raises nothing. A recharge after
  a discharge falls towards float and never rises above its lowest: it cannot raise it;
- held for `on_delay_s`. It clears when the temperature margins are missed by
  `clear_margin_k` (the current may stay high while the string cools).
Without an ambient reading (no BM-TH sensor) the string's median cell temperature stands in.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from battery.analytics.params import BatteryParams, RunawayParams

WINDOW_SAMPLES = 60


@dataclass(frozen=True)
class RunawayState:
    # (timestamp, float current A) over the window, one sample per window / WINDOW_SAMPLES at most
    # (a state that travels with the string master's snapshot stays small); the last is the latest.
    currents: tuple[tuple[float, float], ...] = ()
    pending_s: float = 0.0  # how long the condition has held
    active: bool = False
    hot_cells: tuple[int, ...] = ()  # cell indices from 1 that meet the cell condition
    string_hot: bool = False
    since: float | None = None  # when the warning was raised


def hot_cells(
    temperatures_c: Sequence[float | None], ambient_c: float, params: RunawayParams, relax_k: float = 0.0
) -> tuple[int, ...]:
    """Cells (from 1) above ambient and their neighbours' median by the margins (− relax_k)."""
    hot = []
    n = len(temperatures_c)
    for i, t in enumerate(temperatures_c):
        if t is None or t - ambient_c < params.ambient_margin_k - relax_k:
            continue
        lo, hi = max(0, i - params.neighbours), min(n, i + params.neighbours + 1)
        around = [temperatures_c[j] for j in range(lo, hi) if j != i and temperatures_c[j] is not None]
        if around and t - statistics.median(around) >= params.neighbour_margin_k - relax_k:
            hot.append(i + 1)
    return tuple(hot)


def float_current_rising(
    currents: Sequence[tuple[float, float]], battery: BatteryParams, params: RunawayParams
) -> bool:
    if len(currents) < 2:
        return False
    lowest = min(max(0.0, i) for _, i in currents)
    latest = statistics.median(i for _, i in currents[-3:])
    return latest >= lowest * params.current_rise_factor and latest - lowest >= (
        params.current_rise_min_c * battery.capacity_ah
    )


def step_runaway(
    state: RunawayState,
    now: float,
    dt_s: float,
    current_a: float,
    charging: bool,
    temperatures_c: Sequence[float | None],
    ambient_c: float | None,
    battery: BatteryParams,
    params: RunawayParams,
) -> RunawayState:
    """The warning after one scan. `charging`: the string is on float or equalize (a discharge
    heats cells for another reason and resets the current window)."""
    if not charging:
        return RunawayState()
    kept = tuple(c for c in state.currents if now - c[0] <= params.window_s)
    if len(kept) >= 2 and now - kept[-2][0] < params.window_s / WINDOW_SAMPLES:
        kept = kept[:-1]  # the latest sample is replaced until the next one is due
    currents = kept + ((now, current_a),)
    known = [t for t in temperatures_c if t is not None]
    if not known:
        return RunawayState(currents, 0.0, state.active, state.hot_cells, state.string_hot, state.since)
    median = statistics.median(known)
    ambient = median if ambient_c is None else ambient_c
    relax = params.clear_margin_k if state.active else 0.0
    cells = hot_cells(temperatures_c, ambient, params, relax)
    string_hot = ambient_c is not None and median - ambient_c >= params.string_margin_k - relax
    hot = bool(cells) or string_hot
    if state.active:
        if hot:
            return RunawayState(currents, state.pending_s, True, cells, string_hot, state.since)
        return RunawayState(currents)
    if hot and float_current_rising(currents, battery, params):
        pending = state.pending_s + max(0.0, dt_s)
        if pending >= params.on_delay_s:
            return RunawayState(currents, pending, True, cells, string_hot, now)
        return RunawayState(currents, pending, False, cells, string_hot)
    return RunawayState(currents, 0.0, False, cells, string_hot)
