"""State of charge of a string or a cell: coulomb counting with two anchors, full and empty.

SOC is the charge left relative to the rating C10 (what the battery delivers from full at the
10-hour rate): charge drawn at a high rate that the battery could not deliver is not lost, it
is still stored (Doerffel & Abu Sharkh, 2006), so the Ah drawn are counted as they are. The
rate effect (Peukert) shortens what can be delivered at the present current: that is the
runtime's business (runtime.py), not the charge's.

One `step_soc` per scan, for a string (its current and voltage per cell) or for a cell (the
string current, it is in series, and its own voltage per cell):
- discharge: dSOC = −|I|·dt / C_avail (C_avail = C × capacity fraction, the capacity SOH
  when one was measured);
- charge: dSOC = +η(SOC)·I·dt / C_avail. The charge acceptance η is the charge efficiency up to
  `charge_acceptance_knee_pct` and then falls linearly to `charge_acceptance_full` at full: near
  full charge a growing share of the current goes into gassing and recombination, so that a
  recharge returns the vendors' 1.05–1.15 × the Ah drawn (1.10 with these values). A charge
  alone never shows more than `not_full_ceiling_pct`: "full", where nothing more is stored, is
  for the next rule;
- full charge: at float voltage with the current down to its tail for `tail_hold_s`, the battery
  is charged (battery monitors' "charged" detection) and SOC converges to 100 %;
- end of discharge: a battery at its end voltage under load for `end_hold_s` can deliver nothing
  more at that current, so what it still holds is the rate's remainder (runtime.py): SOC is set
  there once per discharge (fuel gauges force empty at their terminate voltage the same way);
- rest (|I| below the rest current, below float voltage) for `rest_before_ocv_s` (hours: a
  lead-acid battery's voltage relaxes that long after a discharge, and an early reading sits
  low): the open-circuit voltage then bounds an integral that may have drifted. The OCV says
  the SOC only to within `ocv_band_pct` (the hysteresis between the charge and discharge
  branches, the spread of acid density, temperature), so SOC is pulled, with time constant
  `ocv_time_constant_s`, only into that band around the OCV's SOC, never jumped to it.
SOC survives restarts: SocState is a frozen value the caller persists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from battery.analytics.params import BatteryParams
from battery.fast_init import dict_init


@dict_init  # built per cell every scan: battery/fast_init.py
@dataclass(frozen=True)
class SocState:
    soc_pct: float = 100.0
    rest_s: float = 0.0  # how long the battery has been at rest (open circuit)
    tail_s: float = 0.0  # how long it has been floating at its tail current
    ocv_corrected_at: float | None = None  # timestamp of the last OCV correction, if any
    end_s: float = 0.0  # how long it has been at its end voltage under load
    anchored: bool = False  # this discharge already set SOC at the end voltage


def soc_from_ocv(vpc: float, params: BatteryParams) -> float:
    """SOC of a rested battery from its open-circuit voltage per cell (linear, clamped)."""
    fraction = (vpc - params.ocv_empty_vpc) / (params.ocv_full_vpc - params.ocv_empty_vpc)
    return min(100.0, max(0.0, 100.0 * fraction))


def peukert_factor(current_a: float, params: BatteryParams) -> float:
    """(|I| / I_rated)^(k−1) = C / C_I: by how much less than C the battery delivers at I
    (Peukert: C_I = C·(I_rated / |I|)^(k−1))."""
    ratio = max(abs(current_a) / params.rated_current_a, params.peukert_min_ratio)
    return ratio ** (params.peukert_k - 1.0)


def rate_remainder_pct(current_a: float, params: BatteryParams) -> float:
    """(C − C_I) / C in %: the charge a battery still holds when it reaches its end voltage at I
    (the part it cannot deliver at that rate)."""
    return 100.0 * (1.0 - 1.0 / peukert_factor(current_a, params))


def charged_soc(soc_pct: float, charged_pct: float, params: BatteryParams) -> float:
    """SOC after charging `charged_pct` (Ah in, in % of C_avail) with the charge acceptance
    η(SOC): η up to the knee, then falling linearly to `charge_acceptance_full` at 100 % (solved
    exactly, so a long scan adds what many short ones would). Above 100 % nothing is stored."""
    eta, knee = params.charge_efficiency, params.charge_acceptance_knee_pct
    if soc_pct < knee:
        to_knee = (knee - soc_pct) / eta
        if charged_pct <= to_knee:
            return soc_pct + eta * charged_pct
        soc_pct, charged_pct = knee, charged_pct - to_knee
    if soc_pct >= 100.0:
        return soc_pct
    # dSOC/dq = η(SOC) = eta − fall·(SOC − knee): an exponential approach to where η would be 0.
    fall = max(eta - params.charge_acceptance_full, 0.0) / max(100.0 - knee, 1e-9)
    acceptance = eta - fall * (soc_pct - knee)
    if fall < 1e-12:
        return min(100.0, soc_pct + acceptance * charged_pct)
    return min(100.0, soc_pct + acceptance / fall * (1.0 - math.exp(-fall * charged_pct)))


def step_soc(
    state: SocState,
    current_a: float,
    vpc: float,
    dt_s: float,
    params: BatteryParams,
    capacity_fraction: float = 1.0,
    now: float | None = None,
) -> SocState:
    """SOC after dt_s at current_a (+ charging, − discharging) and voltage per cell vpc.

    A dt_s ≤ 0 or longer than params.max_gap_s is not integrated (the current in between is
    unknown) and restarts the rest and tail timers.
    """
    if not (dt_s > 0 and dt_s <= params.max_gap_s and math.isfinite(current_a) and math.isfinite(vpc)):
        return SocState(state.soc_pct, 0.0, 0.0, state.ocv_corrected_at, 0.0, state.anchored)
    available_ah = max(params.capacity_ah * max(capacity_fraction, 0.05), 1e-6)
    drawn_pct = 100.0 * current_a * dt_s / 3600.0 / available_ah
    rest = params.rest_current_a
    soc = state.soc_pct
    rest_s = tail_s = end_s = 0.0
    corrected_at = state.ocv_corrected_at
    anchored = state.anchored and current_a < -rest  # one anchor per discharge
    if current_a < 0:
        soc += drawn_pct
    else:
        soc = min(charged_soc(soc, drawn_pct, params), max(soc, params.not_full_ceiling_pct))
    # The timers stop counting at their threshold: a battery floating full for days is then the
    # same state scan after scan, and the same object is returned (cheap, and unchanged snapshots).
    if current_a < -rest and vpc <= params.end_vpc:
        end_s = min(state.end_s + dt_s, params.end_hold_s)
        if end_s >= params.end_hold_s and not anchored:
            soc, anchored = rate_remainder_pct(current_a, params), True
    elif abs(current_a) < rest and vpc < params.float_min_vpc:
        rest_s = min(state.rest_s + dt_s, params.rest_before_ocv_s)
        if rest_s >= params.rest_before_ocv_s:
            ocv_soc = soc_from_ocv(vpc, params)
            target = min(max(soc, ocv_soc - params.ocv_band_pct), ocv_soc + params.ocv_band_pct)
            soc += (target - soc) * _weight(dt_s, params.ocv_time_constant_s)
            corrected_at = now
    elif 0 <= current_a <= params.tail_current_a and vpc >= params.float_min_vpc:
        tail_s = min(state.tail_s + dt_s, params.tail_hold_s)
        if tail_s >= params.tail_hold_s:
            soc += (100.0 - soc) * _weight(dt_s, params.full_charge_time_constant_s)
    soc = min(100.0, max(0.0, soc))
    if (
        soc == state.soc_pct
        and rest_s == state.rest_s
        and tail_s == state.tail_s
        and corrected_at == state.ocv_corrected_at
        and end_s == state.end_s
        and anchored == state.anchored
    ):
        return state  # compared field by field before building: most scans in float change nothing
    return SocState(soc, rest_s, tail_s, corrected_at, end_s, anchored)


def _weight(dt_s: float, time_constant_s: float) -> float:
    return 1.0 - math.exp(-dt_s / max(time_constant_s, 1e-9))
