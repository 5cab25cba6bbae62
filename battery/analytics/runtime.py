"""Runtime remaining during a discharge, from SOC, the present current and Peukert's law.

Peukert: at a constant current I a battery rated C Ah over H hours delivers only
C_I = C·(I_rated/|I|)^(k−1) before its end voltage, I_rated = C/H. SOC (soc.py) counts the
charge left against C; the part of C a battery cannot deliver at I, C − C_I, is not a share of
what is left but a reserve held back at the end of the discharge (Doerffel & Abu Sharkh,
2006: the remaining capacity at a rate is the capacity at that rate minus the charge already
removed). So the Ah still deliverable at I are C_avail·(SOC/100) − (C_avail − C_avail,I) and

    t = C_avail·(SOC/100 − (1 − (I_rated/|I|)^(k−1))) / |I|

(C_avail: C × the capacity SOH when one was measured). From full at a constant current this
is exactly Peukert's t = H·(C/(I·H))^k; a linear SOC × C / I overestimates it above I_rated.
"""

from __future__ import annotations

from battery.analytics.params import BatteryParams
from battery.analytics.soc import rate_remainder_pct


def runtime_min(
    soc_pct: float | None,
    current_a: float | None,
    params: BatteryParams,
    capacity_fraction: float = 1.0,
) -> float | None:
    """Minutes left at this discharge current; None when not discharging or unknown."""
    if soc_pct is None or current_a is None or current_a >= 0:
        return None
    if abs(current_a) < params.rest_current_a:
        return None
    capacity_ah = params.capacity_ah * max(capacity_fraction, 0.05)
    deliverable_ah = capacity_ah * max(0.0, (soc_pct - rate_remainder_pct(current_a, params)) / 100.0)
    return 60.0 * deliverable_ah / abs(current_a)


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
