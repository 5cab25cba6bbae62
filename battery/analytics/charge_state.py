"""Charge state of a string (float, equalize, discharge, idle, abnormal) that does not flicker.

The raw class of one scan follows thresholds on the current and the voltage per cell; a
reading that hovers at a threshold would flip it every scan. Two rules stop that:
- hysteresis: the state the string is in keeps its thresholds widened by a band
  (`hysteresis_vpc`, `hysteresis_current_c`), so a reading must cross the band to leave it;
- dwell: a change to a calmer state (float, equalize, idle) is shown only once it held for
  `dwell_s`. Discharge and abnormal are shown at once: they are what an operator must see.
"""

from __future__ import annotations

from dataclasses import dataclass

from battery.analytics.params import BatteryParams
from battery.codes import ChargeState

IMMEDIATE = (ChargeState.DISCHARGE, ChargeState.ABNORMAL)


@dataclass(frozen=True)
class ChargeStateTracker:
    state: ChargeState = ChargeState.FLOAT
    candidate: ChargeState | None = None  # a calmer state waiting out its dwell
    candidate_s: float = 0.0


def classify(
    current_a: float,
    vpc: float,
    params: BatteryParams,
    previous: ChargeState | None = None,
    hall_ok: bool = True,
    relay_closed: bool = True,
) -> ChargeState:
    """The class of one reading; thresholds widened in favour of `previous` (hysteresis)."""
    if not hall_ok:
        return ChargeState.ABNORMAL
    if not relay_closed:
        return ChargeState.IDLE
    band_v = params.hysteresis_vpc
    band_i = params.hysteresis_current_c * params.capacity_ah
    rest = params.rest_current_a
    overcharge = params.overcharge_vpc - (band_v if previous == ChargeState.ABNORMAL else 0.0)
    if vpc >= overcharge:
        return ChargeState.ABNORMAL
    discharge_below = -rest + (band_i if previous == ChargeState.DISCHARGE else 0.0)
    if current_a < discharge_below:
        return ChargeState.DISCHARGE
    equalize_from = params.equalize_min_vpc - (band_v if previous == ChargeState.EQUALIZE else 0.0)
    if vpc >= equalize_from:
        return ChargeState.EQUALIZE
    float_from = params.float_min_vpc - (band_v if previous == ChargeState.FLOAT else 0.0)
    charge_from = rest - (band_i if previous == ChargeState.FLOAT else 0.0)
    if current_a > charge_from or vpc >= float_from:
        return ChargeState.FLOAT
    return ChargeState.IDLE


def step_charge_state(
    tracker: ChargeStateTracker,
    current_a: float,
    vpc: float,
    dt_s: float,
    params: BatteryParams,
    hall_ok: bool = True,
    relay_closed: bool = True,
) -> ChargeStateTracker:
    """The tracker after one scan (dt_s since the previous one)."""
    raw = classify(current_a, vpc, params, tracker.state, hall_ok, relay_closed)
    if raw == tracker.state:
        return tracker if tracker.candidate is None else ChargeStateTracker(tracker.state)
    if raw in IMMEDIATE:
        return ChargeStateTracker(raw)
    held = tracker.candidate_s + max(0.0, dt_s) if tracker.candidate == raw else 0.0
    if held >= params.dwell_s:
        return ChargeStateTracker(raw)
    return ChargeStateTracker(tracker.state, raw, held)
