"""The physics of one lead-acid battery (a block of 2 V cells in series), as pure functions.

The simulated string master (`sim.string_model`) evaluates these for up to 120 batteries per
string every second, so the model is deliberately first-order and cheap:

- open-circuit voltage linear in state of charge (1.96 V empty .. 2.13 V full per 2 V cell),
  with a "knee" below 20 % SOC where the voltage collapses at the end of a discharge;
- one polarization voltage (the electrochemical over-voltage) that follows the current with a
  time constant of a minute: voltage drops by I x R at once, then keeps sagging;
- a charger that holds float (2.27 V/cell) or equalize (2.35 V/cell), limited to 0.1 C of
  recharge current, whose acceptance decays exponentially as the battery fills up;
- float current ~1 mA per Ah at 20 °C, doubling every 10 K (what feeds a thermal runaway);
- internal resistance scaled by capacity, rising linearly with age;
- one thermal mass per battery following ambient with a 6 h time constant, heated by I²R,
  polarization losses and the float current.

The figures are typical of VRLA data sheets; they make the readings behave like a real string
(float spread, sag, recovery, aging) rather than reproduce one product.
"""

from __future__ import annotations

import math

CELL_NOMINAL_V = 2.0
OCV_EMPTY_V = 1.96  # per 2 V cell, at 0 % SOC
OCV_FULL_V = 2.13  # per 2 V cell, at 100 % SOC, after rest
FLOAT_V_PER_CELL = 2.27  # charger float set point (2.25..2.30 in data sheets)
EQUALIZE_V_PER_CELL = 2.35
CUTOFF_V_PER_CELL = 1.75  # UPS low-battery shutdown: it stops drawing current below this
KNEE_SOC = 0.2  # below this SOC the voltage falls away quickly
KNEE_DEPTH_V = 0.35  # per cell, extra sag at 0 % SOC

RECHARGE_LIMIT_C = 0.1  # charger current limit, as a fraction of capacity (A per Ah)
RECHARGE_TIME_CONSTANT_S = 2 * 3600.0  # acceptance current ~ capacity x (1 - SOC) / this
CHARGE_EFFICIENCY = 0.95  # coulombic efficiency of recharge
FLOAT_CURRENT_A_PER_AH = 0.001  # at 20 °C
FLOAT_CURRENT_DOUBLING_K = 10.0
EQUALIZE_CURRENT_FACTOR = 3.0  # float current multiplier at equalize voltage

POLARIZATION_TIME_CONSTANT_S = 60.0
POLARIZATION_V_PER_CELL_AT_01C = 0.04  # over-voltage at a current of 0.1 C
POLARIZATION_MAX_V_PER_CELL = 0.12

THERMAL_TIME_CONSTANT_S = 6 * 3600.0
HEAT_CAPACITY_J_PER_K_PER_CELL_AH = 45.0  # ~27 kJ/K for a 30 kg 12 V 100 Ah block

RESISTANCE_PER_CELL_AT_100AH_OHM = 0.8e-3  # 12 V 100 Ah -> 4.8 mΩ
RESISTANCE_CAPACITY_EXPONENT = 0.6  # 12 V 7 Ah -> ~24 mΩ, 2 V 1000 Ah -> ~0.2 mΩ (data sheets)
NORMAL_AGING_PER_DAY = 0.0002  # resistance +7 % per year: a healthy battery


def cells_per_battery(nominal_voltage: int) -> int:
    """Number of 2 V cells in a battery of the given nominal voltage (2, 6 or 12 V)."""
    if nominal_voltage <= 0 or nominal_voltage % 2:
        raise ValueError(f"battery nominal voltage must be a positive multiple of 2 V, got {nominal_voltage}")
    return nominal_voltage // 2


def open_circuit_voltage(soc: float, cells: int) -> float:
    """Rested voltage of a battery at a state of charge 0..1 (no knee: that is a load effect)."""
    return cells * (OCV_EMPTY_V + (OCV_FULL_V - OCV_EMPTY_V) * soc)


def knee_sag(soc: float, cells: int) -> float:
    """Extra voltage lost under load near empty (V, >= 0)."""
    if soc >= KNEE_SOC:
        return 0.0
    x = (KNEE_SOC - soc) / KNEE_SOC
    return cells * KNEE_DEPTH_V * x * x


def nominal_resistance_ohm(nominal_voltage: int, capacity_ah: float) -> float:
    """Internal resistance of a new battery: per cell, falling with capacity (a power law)."""
    if capacity_ah <= 0:
        raise ValueError(f"battery capacity must be positive, got {capacity_ah} Ah")
    cells = cells_per_battery(nominal_voltage)
    return cells * RESISTANCE_PER_CELL_AT_100AH_OHM * (100.0 / capacity_ah) ** RESISTANCE_CAPACITY_EXPONENT


def float_current_a(capacity_ah: float, temperature_c: float) -> float:
    """Float (trickle) current at float voltage: it doubles every 10 K."""
    return FLOAT_CURRENT_A_PER_AH * capacity_ah * 2.0 ** ((temperature_c - 20.0) / FLOAT_CURRENT_DOUBLING_K)


def charge_demand_a(capacity_ah: float, soc: float, float_current: float) -> float:
    """Current the battery would accept at the charger's set point (before the current limit)."""
    return float_current + capacity_ah * 3600.0 * (1.0 - soc) / RECHARGE_TIME_CONSTANT_S


def polarization_target_v(current_a: float, capacity_ah: float) -> float:
    """Steady-state over-voltage per cell for a current (+ charge, - discharge)."""
    p = POLARIZATION_V_PER_CELL_AT_01C * current_a / (0.1 * capacity_ah)
    return max(-POLARIZATION_MAX_V_PER_CELL, min(POLARIZATION_MAX_V_PER_CELL, p))


def relax(value: float, target: float, dt_s: float, time_constant_s: float) -> float:
    """First-order lag, exact for a constant target: stable for any step length."""
    return target + (value - target) * math.exp(-dt_s / time_constant_s)


def heat_capacity_j_per_k(cells: int, capacity_ah: float) -> float:
    return HEAT_CAPACITY_J_PER_K_PER_CELL_AH * cells * capacity_ah


def thermal_resistance_k_per_w(cells: int, capacity_ah: float) -> float:
    """To ambient; chosen so that every battery size has the same 6 h time constant."""
    return THERMAL_TIME_CONSTANT_S / heat_capacity_j_per_k(cells, capacity_ah)


def aged_resistance_ohm(new_resistance_ohm: float, aging_per_day: float, age_days: float) -> float:
    """Resistance after `age_days` of service, rising linearly (a fraction of new per day)."""
    return new_resistance_ohm * (1.0 + aging_per_day * age_days)


def aged_capacity_ah(new_capacity_ah: float, resistance_ratio: float) -> float:
    """Capacity fades with the resistance rise (half as fast), down to 30 % of new."""
    return new_capacity_ah * max(0.3, 1.0 - 0.5 * (resistance_ratio - 1.0))
