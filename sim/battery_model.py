"""The physics of one lead-acid battery (a block of 2 V cells in series), as pure functions.

Every figure lives in sim.battery_params, with its source; docs/battery-math.md ("Ground
truth: the simulator's battery") tells the whole model. In short:

- charge in two wells (the kinetic battery model): the state of charge `soc` is the charge
  stored over the charge a full battery stores; `d` is how far the bound well stands above the
  available one (a fraction of the capacity); the acid at the plates, which sets the voltage
  and the end of a discharge, is the available state `soc - (1 - c) d`;
- terminal voltage = OCV(available) + hysteresis + polarization + I·R - knee;
- the knee comes earlier when cold (the cold reserve) and the resistance rises when empty or cold;
- ageing: resistance rise and capacity fade per battery, drawn jointly, accelerated by heat.

The simulated string (sim.string_model, sim.battery_bank) evaluates these for up to 120
batteries per string, so the per-battery updates are exact first-order steps, stable for any
step length.
"""

from __future__ import annotations

import math
import random

from sim import battery_params as p

SECONDS_PER_YEAR = 365.25 * 86400.0
SECONDS_PER_MONTH = SECONDS_PER_YEAR / 12.0


def cells_per_battery(nominal_voltage: int) -> int:
    """Number of 2 V cells in a battery of the given nominal voltage (2, 6 or 12 V)."""
    if nominal_voltage <= 0 or nominal_voltage % 2:
        raise ValueError(f"battery nominal voltage must be a positive multiple of 2 V, got {nominal_voltage}")
    return nominal_voltage // 2


# ---------------------------------------------------------------------------- voltage


def open_circuit_voltage(soc: float, cells: int, hysteresis: float = 0.0) -> float:
    """Rested voltage at an (available) state of charge 0..1, on hysteresis branch -1..+1."""
    return cells * (p.OCV_EMPTY_V + (p.OCV_FULL_V - p.OCV_EMPTY_V) * soc + p.OCV_HYSTERESIS_V_PER_CELL * hysteresis)


def knee_sag(available: float, cells: int) -> float:
    """Extra voltage lost under load as the available charge (above the cold reserve) runs out."""
    if available >= p.KNEE_SOC:
        return 0.0
    x = min(1.0, (p.KNEE_SOC - available) / p.KNEE_SOC)
    return cells * p.KNEE_DEPTH_V * x * x


def polarization_target_v(current_a: float, capacity_ah: float) -> float:
    """Steady charge-transfer over-voltage per cell (Butler-Volmer, symmetric): + charge, - discharge."""
    return p.POLARIZATION_V_PER_CELL * math.asinh(current_a / (p.POLARIZATION_SCALE_C * capacity_ah))


def relax(value: float, target: float, dt_s: float, time_constant_s: float) -> float:
    """First-order lag, exact for a constant target: stable for any step length."""
    return target + (value - target) * math.exp(-dt_s / time_constant_s)


# ---------------------------------------------------------------------------- resistance


def nominal_resistance_ohm(nominal_voltage: int, capacity_ah: float) -> float:
    """Internal resistance of a new, full battery at 25 °C: per cell, falling with capacity."""
    if capacity_ah <= 0:
        raise ValueError(f"battery capacity must be positive, got {capacity_ah} Ah")
    cells = cells_per_battery(nominal_voltage)
    return cells * p.RESISTANCE_PER_CELL_AT_100AH_OHM * (100.0 / capacity_ah) ** p.RESISTANCE_CAPACITY_EXPONENT


def resistance_factor(available: float, temperature_c: float) -> float:
    """How much the resistance exceeds its full-and-warm value: when empty and when cold."""
    empty = 1.0 - min(1.0, max(0.0, available))
    cold = max(0.0, p.REFERENCE_TEMPERATURE_C - temperature_c)
    return (1.0 + p.RESISTANCE_EMPTY_RISE * empty * empty) * (1.0 + p.RESISTANCE_COLD_PER_K * cold)


# ---------------------------------------------------------------------------- charge


def available_soc(soc: float, d: float, available_fraction: float) -> float:
    """The state of charge the plates see: the available well's level."""
    return soc - (1.0 - available_fraction) * d


def kibam_step(soc: float, d: float, current_a: float, capacity_ah: float, c: float, tau_s: float, dt_s: float):
    """(soc, d) after `dt_s` at a constant effective current (+ charge): exact for the step."""
    e = math.exp(-dt_s / tau_s)
    d_inf = -current_a * tau_s / (3600.0 * c * capacity_ah)
    return soc + current_a * dt_s / (3600.0 * capacity_ah), d_inf + (d - d_inf) * e


def reference_reserve(ocv_empty_v_per_cell: float, c: float, tau_s: float, resistance_per_cell_ohm: float,
                      capacity_ah: float) -> float:  # fmt: skip
    """Share of the stored charge a battery does not deliver at the rating's conditions (10-hour
    current, 25 °C, to the end voltage): the available level where the voltage reaches the end
    voltage, plus the diffusion gap that current holds open. The reference for the true SOC."""
    current = capacity_ah / p.RATED_HOURS
    gap = (1.0 - c) * current * tau_s / (3600.0 * c * capacity_ah)
    pol = polarization_target_v(current, capacity_ah)
    slope = p.OCV_FULL_V - p.OCV_EMPTY_V

    def end_margin(a: float) -> float:
        r = resistance_per_cell_ohm * resistance_factor(a, p.REFERENCE_TEMPERATURE_C)
        v = ocv_empty_v_per_cell + slope * a - p.OCV_HYSTERESIS_V_PER_CELL - pol - current * r
        return v - knee_sag(a, 1) - p.CUTOFF_V_PER_CELL

    lo, hi = 0.0, p.KNEE_SOC
    for _ in range(24):  # bisection to ~1e-8: the margin rises with the available level
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if end_margin(mid) < 0.0 else (lo, mid)
    return 0.5 * (lo + hi) + gap


def cold_reserve(temperature_c: float) -> float:
    """Share of the stored charge a cold battery cannot deliver before its end voltage."""
    cold = max(0.0, p.REFERENCE_TEMPERATURE_C - temperature_c)
    return min(p.MAX_COLD_CAPACITY_LOSS, p.CAPACITY_TEMPERATURE_COEFFICIENT * cold)


def charge_efficiency(soc: float) -> float:
    """Coulombic efficiency of charging: high until gassing starts, then falling to full."""
    if soc <= p.GASSING_SOC:
        return p.CHARGE_EFFICIENCY
    x = min(1.0, (soc - p.GASSING_SOC) / (1.0 - p.GASSING_SOC))
    return p.CHARGE_EFFICIENCY + (p.CHARGE_EFFICIENCY_FULL - p.CHARGE_EFFICIENCY) * x


def hysteresis_step(h: float, charge_ah: float, capacity_ah: float) -> float:
    """Plett's one-state hysteresis after `charge_ah` passed (+ charge, - discharge)."""
    if charge_ah == 0.0:
        return h
    target = 1.0 if charge_ah > 0.0 else -1.0
    return target + (h - target) * math.exp(-abs(charge_ah) / (p.HYSTERESIS_CHARGE_FRACTION * capacity_ah))


def self_discharge_per_s(temperature_c: float) -> float:
    """Fraction of the capacity lost per second at rest (before a battery's own factor)."""
    doubling = (temperature_c - 20.0) / p.SELF_DISCHARGE_DOUBLING_K
    return p.SELF_DISCHARGE_PER_MONTH * 2.0**doubling / SECONDS_PER_MONTH


def float_current_a(capacity_ah: float, temperature_c: float) -> float:
    """Float (trickle) current at float voltage: it doubles every 10 K."""
    return p.FLOAT_CURRENT_A_PER_AH * capacity_ah * 2.0 ** ((temperature_c - 20.0) / p.FLOAT_CURRENT_DOUBLING_K)


def charge_demand_a(capacity_ah: float, soc: float, float_current: float) -> float:
    """Current the battery would accept at the charger's set point (before the current limit)."""
    return float_current + capacity_ah * 3600.0 * (1.0 - soc) / p.RECHARGE_TIME_CONSTANT_S


# ---------------------------------------------------------------------------- thermal


def heat_capacity_j_per_k(cells: int, capacity_ah: float) -> float:
    return p.HEAT_CAPACITY_J_PER_K_PER_CELL_AH * cells * capacity_ah


def thermal_resistance_k_per_w(cells: int, capacity_ah: float) -> float:
    """To ambient; chosen so that every battery size has the same 6 h time constant."""
    return p.THERMAL_TIME_CONSTANT_S / heat_capacity_j_per_k(cells, capacity_ah)


# ---------------------------------------------------------------------------- ageing


def ageing_acceleration(temperature_c: float) -> float:
    """How many years of life a year at this temperature costs (1 at 25 °C)."""
    return 2.0 ** ((temperature_c - p.REFERENCE_TEMPERATURE_C) / p.AGEING_DOUBLING_K)


def ageing_rates(rng: random.Random) -> tuple[float, float]:
    """(resistance rise, capacity fade) per year at 25 °C of one battery: joint log-normal."""
    z1, z2 = rng.gauss(0.0, 1.0), rng.gauss(0.0, 1.0)
    rho, sigma = p.AGEING_RATE_CORRELATION, p.AGEING_RATE_SIGMA
    rise = p.NORMAL_RESISTANCE_RISE_PER_YEAR * math.exp(sigma * z1)
    fade = p.NORMAL_CAPACITY_FADE_PER_YEAR * math.exp(sigma * (rho * z1 + math.sqrt(1.0 - rho * rho) * z2))
    return rise, fade


def fade_for_rise(rise_per_year: float, rng: random.Random) -> float:
    """Capacity fade per year of a battery whose resistance rise is given: the same joint law,
    conditioned on the rise (log-linear regression plus its residual scatter)."""
    rho, sigma = p.AGEING_RATE_CORRELATION, p.AGEING_RATE_SIGMA
    z1 = math.log(rise_per_year / p.NORMAL_RESISTANCE_RISE_PER_YEAR) / sigma
    z2 = rng.gauss(0.0, 1.0)
    return p.NORMAL_CAPACITY_FADE_PER_YEAR * math.exp(sigma * (rho * z1 + math.sqrt(1.0 - rho * rho) * z2))


def aged_resistance_ohm(new_resistance_ohm: float, rise_per_year: float, age_years: float) -> float:
    """Resistance after `age_years` of life at 25 °C (heat makes a year count for more)."""
    return new_resistance_ohm * (1.0 + rise_per_year * age_years)


def aged_capacity_ah(new_capacity_ah: float, fade_per_year: float, age_years: float) -> float:
    """Capacity after `age_years` of life at 25 °C, down to a floor."""
    return new_capacity_ah * max(p.MIN_CAPACITY_FRACTION, 1.0 - fade_per_year * age_years)
