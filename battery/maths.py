"""Battery maths of a lead-acid string that needs no memory: pure functions, tested alone.

Conventions (documented in docs/battery-math.md):
- current is + while charging, - while discharging;
- voltages per 2 V cell ("vpc") let one rule serve 2, 6 and 12 V batteries;
- the string is as good as its weakest battery: string SOH is the minimum over the batteries
  whose readings are valid;
- balance = 100 % × (1 − (Vmax − Vmin) / Vmean) over the valid batteries: 100 % is a perfectly
  balanced string, and it falls by one point for every 1 % spread of battery voltages.

What needs memory between scans (charge state, SOC, the resistance baseline, SOH, runtime,
discharge events, thermal runaway) is in battery/analytics.
"""

from __future__ import annotations

from collections.abc import Sequence


def cells_per_battery(nominal_voltage: int) -> int:
    return max(1, nominal_voltage // 2)


def volts_per_cell(voltage_v: float, nominal_voltage: int, batteries: int = 1) -> float:
    return voltage_v / (cells_per_battery(nominal_voltage) * batteries)


def balance_pct(voltages_mv: Sequence[int]) -> float:
    """100 % × (1 − spread / mean) of the valid battery voltages; 100 with fewer than two."""
    if len(voltages_mv) < 2:
        return 100.0
    mean = sum(voltages_mv) / len(voltages_mv)
    if mean <= 0:
        return 0.0
    spread = max(voltages_mv) - min(voltages_mv)
    return min(100.0, max(0.0, 100.0 * (1.0 - spread / mean)))


def weakest(values: Sequence[float], default: float = 0.0) -> float:
    return min(values) if values else default
