"""Runtime remaining during a discharge, from SOC, the present current and Peukert's law.

Peukert: at a constant current I a battery rated C Ah over H hours runs t = H·(C/(I·H))^k.
With a fraction SOC/100 of its capacity left (and the capacity SOH, when measured) the same law
gives t = H·(SOC/100)·(C_avail/(I·H))^k. This is the time to SOC 0 % (the end voltage) at
today's current, consistent with the Peukert-corrected coulomb counting of soc.py; a linear
SOC × C / I overestimates it at any current above I_rated = C/H.
"""

from __future__ import annotations

from battery.analytics.params import BatteryParams
from battery.analytics.soc import peukert_factor


def runtime_min(
    soc_pct: float | None,
    current_a: float | None,
    params: BatteryParams,
    capacity_fraction: float = 1.0,
) -> float | None:
    """Minutes left at this discharge current; None when not discharging or unknown."""
    if soc_pct is None or current_a is None or current_a >= 0:
        return None
    if abs(current_a) < params.rest_current_c * params.capacity_ah:
        return None
    available_ah = params.capacity_ah * max(capacity_fraction, 0.05) * max(0.0, soc_pct) / 100.0
    hours = available_ah / (abs(current_a) * peukert_factor(current_a, params))
    return 60.0 * hours


def linear_runtime_min(soc_pct: float, current_a: float, capacity_ah: float) -> float | None:
    """The first approximation, SOC × C / I, kept for comparison only."""
    if current_a >= 0:
        return None
    return 60.0 * capacity_ah * soc_pct / 100.0 / abs(current_a)


def ups_runtime_min(strings_min: list[float | None]) -> float | None:
    """A UPS's strings are in parallel on one DC bus: when the first reaches its end voltage the
    bus is at the end voltage and the UPS stops. So a UPS runs as long as its shortest string."""
    known = [m for m in strings_min if m is not None]
    return min(known) if known else None
