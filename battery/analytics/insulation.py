"""Insulation of a string to earth, as a BM-GS measures it: a low limit with hysteresis.

A DC string is floating (IT system): a first fault to earth is harmless but a second one is a
short circuit, so the insulation resistance is monitored (IEC 61557-8) and alarmed when it
falls below a limit (a common rule of thumb is 100 Ω per volt of the system). The alarm
clears only above limit × (1 + hysteresis), so a value near the limit does not flicker.
"""

from __future__ import annotations

import math

from battery.analytics.params import InsulationParams


def insulation_low(resistance_kohm: float | None, was_low: bool, params: InsulationParams) -> bool:
    """Whether the insulation is (still) low. No reading keeps the previous verdict."""
    if resistance_kohm is None or not math.isfinite(resistance_kohm):
        return was_low
    if was_low:
        return resistance_kohm < params.low_limit_kohm * (1.0 + params.hysteresis)
    return resistance_kohm < params.low_limit_kohm


def limit_for_voltage(string_voltage_v: float, ohm_per_volt: float = 100.0) -> float:
    """The rule-of-thumb low limit in kΩ for a string of this nominal voltage."""
    return max(0.0, string_voltage_v) * ohm_per_volt / 1000.0
