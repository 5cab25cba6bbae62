"""Battery maths of a lead-acid string: pure functions, tested alone.

Conventions (documented in docs/battery-math.md):
- current is + while charging, - while discharging;
- voltages per 2 V cell ("vpc") let one rule serve 2, 6 and 12 V batteries;
- the string is as good as its weakest battery: string SOC and SOH are the minimum over the
  batteries whose readings are valid;
- balance = 100 % × (1 − (Vmax − Vmin) / Vmean) over the valid batteries: 100 % is a perfectly
  balanced string, and it falls by one point for every 1 % spread of battery voltages.
"""

from __future__ import annotations

from collections.abc import Sequence

from battery.codes import ChargeState

# Per-2V-cell voltage thresholds of lead-acid (VRLA) batteries.
FLOAT_MIN_VPC = 2.18  # below this with no current the string is resting, not floating
EQUALIZE_MIN_VPC = 2.33  # chargers equalize at 2.33–2.40 V per cell
OVERCHARGE_VPC = 2.50  # above this something is wrong with the charger
# A current below this fraction of C (A per Ah) is "no current" (float current is ~0.001 C).
REST_CURRENT_C = 0.01

# Open-circuit voltage per cell of a rested lead-acid battery: 0 % -> 1.95 V, 100 % -> 2.13 V.
OCV_EMPTY_VPC = 1.95
OCV_FULL_VPC = 2.13
CHARGE_EFFICIENCY = 0.95
# SOC creeps towards 100 % while floating at this rate (% per hour): float tops a battery up.
FLOAT_TOP_UP_PCT_PER_H = 5.0
# End of life when the internal resistance has risen by this factor over its reference (IEEE 1188
# practice: investigate at +20..30 %, replace around +50 %).
END_OF_LIFE_RESISTANCE_RATIO = 1.5
# SOH follows the resistance averaged over about this long, not each sample: an internal
# resistance reading scatters by a few µΩ, which moved SOH by a whole percent from scan to scan.
RESISTANCE_SMOOTHING_S = 300.0


def cells_per_battery(nominal_voltage: int) -> int:
    return max(1, nominal_voltage // 2)


def volts_per_cell(voltage_v: float, nominal_voltage: int, batteries: int = 1) -> float:
    return voltage_v / (cells_per_battery(nominal_voltage) * batteries)


def charge_state(
    current_a: float,
    capacity_ah: float,
    vpc: float,
    hall_ok: bool,
    relay_closed: bool,
) -> ChargeState:
    """Float, equalize, discharge, idle or abnormal, from current and voltage per cell."""
    if not hall_ok:
        return ChargeState.ABNORMAL
    if not relay_closed:
        return ChargeState.IDLE
    if vpc >= OVERCHARGE_VPC:
        return ChargeState.ABNORMAL
    rest = REST_CURRENT_C * capacity_ah
    if current_a < -rest:
        return ChargeState.DISCHARGE
    if vpc >= EQUALIZE_MIN_VPC and current_a > -rest:
        return ChargeState.EQUALIZE
    if current_a > rest or vpc >= FLOAT_MIN_VPC:
        return ChargeState.FLOAT
    return ChargeState.IDLE


def soc_from_rest_voltage(vpc: float) -> float:
    """SOC of a rested battery from its open-circuit voltage per cell (linear, clamped)."""
    fraction = (vpc - OCV_EMPTY_VPC) / (OCV_FULL_VPC - OCV_EMPTY_VPC)
    return min(100.0, max(0.0, 100.0 * fraction))


def update_soc(
    soc_pct: float,
    current_a: float,
    dt_s: float,
    capacity_ah: float,
    soh_pct: float,
    vpc: float,
) -> float:
    """SOC after dt: coulomb counting under current, corrected by rest and float voltage.

    Discharge counts against the capacity the battery still has (capacity × SOH); charge counts
    with the charge efficiency of lead-acid. At rest the open-circuit voltage is a better
    estimate than an integral that drifts, so SOC moves towards it; in float it tops up.
    """
    if dt_s <= 0:
        return soc_pct
    usable_ah = max(capacity_ah * max(soh_pct, 1.0) / 100.0, 1e-6)
    rest = REST_CURRENT_C * capacity_ah
    hours = dt_s / 3600.0
    if current_a < -rest:
        soc_pct += 100.0 * current_a * hours / usable_ah
    elif current_a > rest:
        soc_pct += 100.0 * CHARGE_EFFICIENCY * current_a * hours / usable_ah
    elif vpc >= FLOAT_MIN_VPC:
        soc_pct += FLOAT_TOP_UP_PCT_PER_H * hours
    else:
        target = soc_from_rest_voltage(vpc)
        weight = min(1.0, dt_s / 600.0)  # converge over ~10 minutes of rest
        soc_pct += (target - soc_pct) * weight
    return min(100.0, max(0.0, soc_pct))


def smoothed(previous: float | None, sample: float, dt_s: float, time_constant_s: float) -> float:
    """Exponential moving average: `previous` moved towards `sample` by dt / (τ + dt).

    Without a previous average (first sample, or after a long gap) the sample itself.
    """
    if previous is None:
        return float(sample)
    if dt_s <= 0:
        return previous
    return previous + (sample - previous) * dt_s / (time_constant_s + dt_s)


def soh_from_resistance(resistance_uohm: float, reference_uohm: int) -> float:
    """100 % at the reference resistance, 0 % at END_OF_LIFE_RESISTANCE_RATIO × reference."""
    if reference_uohm <= 0:
        return 100.0
    ratio = resistance_uohm / reference_uohm
    fraction = (END_OF_LIFE_RESISTANCE_RATIO - ratio) / (END_OF_LIFE_RESISTANCE_RATIO - 1.0)
    return min(100.0, max(0.0, 100.0 * fraction))


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
