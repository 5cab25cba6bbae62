"""State of health of a cell: from its resistance rise, or from the capacity it delivered.

Two methods, and every value says which produced it and when (SohEstimate):
- resistance (IEEE 1188 practice): rise = R / R_baseline − 1, R averaged over a few minutes.
  SOH = 100 % at the baseline, 0 % at +50 % ("replace"), linear between; a rise of 20–30 % is
  a warning. Available on every scan once a baseline exists;
- capacity (IEEE 450 practice: capacity = delivered / rated, at the rated rate): after a
  discharge deep enough (≥ SohParams.min_depth of C), the Peukert-normalised Ah a cell gave,
  divided by the SOC it lost, is its capacity; SOH = capacity / C. It is the better measure,
  so it stands until a newer capacity value replaces it; the resistance SOH is still kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from battery.analytics.params import BatteryParams, SohParams


class SohMethod(str, Enum):
    NONE = "none"  # no baseline yet, no deep discharge yet
    RESISTANCE = "resistance"
    CAPACITY = "capacity"


@dataclass(frozen=True)
class SohEstimate:
    soh_pct: float | None
    method: SohMethod = SohMethod.NONE
    at: float | None = None  # timestamp of the reading or discharge that produced it
    # A capacity counted until the cell's end voltage (IEEE 450's test), not extrapolated from a
    # discharge that stopped short of it: only such a capacity rescales the cell's SOC count.
    to_end_voltage: bool = False


UNKNOWN = SohEstimate(None)


def resistance_rise(resistance_uohm: float, baseline_uohm: float | None) -> float | None:
    """R / R_baseline − 1 (0.2 = +20 %), None without a baseline."""
    if baseline_uohm is None or baseline_uohm <= 0 or not math.isfinite(resistance_uohm):
        return None
    return resistance_uohm / baseline_uohm - 1.0


def soh_from_resistance(
    resistance_uohm: float, baseline_uohm: float | None, at: float, params: SohParams
) -> SohEstimate:
    soh_pct = resistance_soh_pct(resistance_uohm, baseline_uohm, params)
    return UNKNOWN if soh_pct is None else SohEstimate(soh_pct, SohMethod.RESISTANCE, at)


def resistance_soh_pct(resistance_uohm: float, baseline_uohm: float | None, params: SohParams) -> float | None:
    """The resistance SOH in %, None without a baseline (the number alone: a cell compares it
    with its last estimate before it builds a new one)."""
    rise = resistance_rise(resistance_uohm, baseline_uohm)
    if rise is None:
        return None
    soh = 100.0 * (1.0 - max(0.0, rise) / params.replace_rise)
    return min(100.0, max(0.0, soh))


def soh_from_capacity(
    delivered_rated_ah: float,
    soc_lost_pct: float,
    at: float,
    battery: BatteryParams,
    params: SohParams,
    to_end_voltage: bool = False,
) -> SohEstimate:
    """Capacity SOH after a discharge: `delivered_rated_ah` is Σ|I|·dt·(|I|/I_rated)^(k−1), the
    Ah the cell gave normalised to the rated rate; `soc_lost_pct` what its SOC fell by, from an
    independent reference (100 % before a discharge from float, 0 % at the end voltage).
    UNKNOWN when the discharge was too shallow to tell."""
    if delivered_rated_ah < params.min_depth * battery.capacity_ah or soc_lost_pct < 100.0 * params.min_depth:
        return UNKNOWN
    capacity_ah = delivered_rated_ah / (soc_lost_pct / 100.0)
    soh = min(100.0, max(0.0, 100.0 * capacity_ah / battery.capacity_ah))
    return SohEstimate(soh, SohMethod.CAPACITY, at, to_end_voltage)


def preferred(resistance: SohEstimate, capacity: SohEstimate) -> SohEstimate:
    """The SOH to show: a measured capacity when there is one, else the resistance estimate."""
    return capacity if capacity.soh_pct is not None else resistance
