"""Every parameter of the simulator's lead-acid (VRLA) battery, with where its figure comes from.

This module is the simulator's ground truth. The gateway never imports it (an import-linter
contract in pyproject.toml forbids it), so no estimator can borrow a constant from the model
it is measured against: whatever the gateway knows about a battery it must get from readings,
data-sheet conventions or its own configuration.

The model (sim.battery_model has the equations, docs/battery-math.md the whole story):

- charge: the kinetic battery model (KiBaM, Manwell & McGowan 1993): the charge sits in an
  "available" and a "bound" well joined by a diffusion conductance. A high current drains the
  available well faster than diffusion refills it, so less charge is delivered before the
  voltage collapses (the rate-capacity effect, which Peukert's law describes with an exponent
  of about 1.1-1.3 for VRLA), and some of it comes back after a rest (the recovery effect,
  which Peukert's law has not);
- temperature: a cold battery reaches its end voltage earlier (capacity -0.8 %/K below 25 °C);
- open-circuit voltage: linear in the acid's specific gravity, OCV = SG + 0.84 V per cell,
  driven by the acid at the plates (the available well), so after a discharge the rested
  voltage relaxes with the diffusion time constant (about half an hour); plus a hysteresis
  between the charge and the discharge branch (Plett's one-state hysteresis, 2004);
- overpotentials: ohmic I·R, a charge-transfer polarization (Butler-Volmer, asinh) with a time
  constant of a minute, and the end-of-discharge knee;
- ageing: resistance rise and capacity fade drawn per battery from a joint log-normal law with a
  correlation of 0.7: they go together on average but not locked at any ratio; both run faster
  when warm (life halves every 10 K above 25 °C, the Arrhenius rule of the VRLA standards);
- spread from battery to battery: capacity, resistance, acid density, diffusion, self-discharge.

Capacities (Ah) are ratings at the 10-hour rate (C10, to 1.75 V/cell at 25 °C: the rating of
stationary batteries in EN 60896 / IEC 60896, and of `battery.capacity_ah` in a topology).
"""

from __future__ import annotations

# ---------------------------------------------------------------------------- cell and charger

CELL_NOMINAL_V = 2.0
REFERENCE_TEMPERATURE_C = 25.0  # data sheets rate capacity and life at 20-25 °C
RATED_HOURS = 10.0  # the capacity rating's discharge time (C10)
FLOAT_V_PER_CELL = 2.27  # charger float set point (2.25..2.30 V/cell in VRLA data sheets)
EQUALIZE_V_PER_CELL = 2.35
CUTOFF_V_PER_CELL = 1.75  # UPS low-battery shutdown, the usual end voltage of data-sheet tables

RECHARGE_LIMIT_C = 0.1  # charger current limit, A per Ah (0.1-0.25 C in data sheets)
RECHARGE_TIME_CONSTANT_S = 2 * 3600.0  # acceptance current ~ capacity x (1 - SOC) / this
CHARGE_EFFICIENCY = 0.97  # coulombic efficiency below the gassing region
GASSING_SOC = 0.85  # above this SOC part of the charge current electrolyses water ...
CHARGE_EFFICIENCY_FULL = 0.75  # ... so the efficiency falls linearly to this at 100 % SOC
FLOAT_CURRENT_A_PER_AH = 0.001  # at 20 °C: ~1 mA per Ah (VRLA data sheets 0.5-2 mA/Ah)
FLOAT_CURRENT_DOUBLING_K = 10.0  # float current doubles every 10 K (what feeds a thermal runaway)
EQUALIZE_CURRENT_FACTOR = 3.0  # float current multiplier at equalize voltage

# ---------------------------------------------------------------------------- open-circuit voltage
# OCV per cell = specific gravity + 0.84 V (the lead-acid rule of thumb); VRLA acid is 1.29-1.30
# when full and about 1.12 when discharged to the end voltage.

OCV_SG_OFFSET_V = 0.84
SPECIFIC_GRAVITY_FULL = 1.29
SPECIFIC_GRAVITY_EMPTY = 1.12
OCV_FULL_V = OCV_SG_OFFSET_V + SPECIFIC_GRAVITY_FULL  # 2.13 V per cell
OCV_EMPTY_V = OCV_SG_OFFSET_V + SPECIFIC_GRAVITY_EMPTY  # 1.96 V per cell
OCV_SPREAD_V = 0.003  # per cell, standard deviation of the acid's density between batteries

# One-state hysteresis (Plett 2004): the rested voltage after a charge sits above the one after
# a discharge; h moves towards +1 while charging and -1 while discharging, exponentially in
# the charge passed. In lead-acid the gap between the two branches is some 10 mV per cell.
OCV_HYSTERESIS_V_PER_CELL = 0.005  # half the gap: OCV = OCV_eq + this x h
HYSTERESIS_CHARGE_FRACTION = 0.1  # h covers 63 % of its way after 10 % of the capacity passed

# ---------------------------------------------------------------------------- kinetic battery model
# Manwell & McGowan (1993). c = share of the charge in the available well, tau = time constant
# of the diffusion between the wells. Fitted once (whole model, to 1.75 V/cell at 25 °C) to the
# capacity ratios of VRLA data sheets, C20/C10 ~1.07, C5/C10 ~0.91, C3/C10 ~0.84, C1/C10 ~0.65;
# the model gives 1.07, 0.93, 0.84, 0.64: an equivalent Peukert exponent of 1.22 between 0.05 C
# and 1 C (1.26 between 0.1 C and 1 C), inside the 1.1-1.3 of VRLA.

KIBAM_AVAILABLE_FRACTION = 0.46
KIBAM_AVAILABLE_SPREAD = 0.02  # standard deviation between batteries
KIBAM_TIME_CONSTANT_S = 3000.0  # 50 min: also the time constant of the OCV relaxation
KIBAM_TIME_CONSTANT_SPREAD = 0.10  # relative standard deviation between batteries

# ---------------------------------------------------------------------------- temperature and capacity
# The charge stored does not depend on temperature; the part of it that can be delivered before
# the end voltage does: -0.8 %/K below 25 °C (VRLA data sheets 0.6-1 %/K; IEEE 485 sizing
# factors, e.g. 1.11 at 15.6 °C), no gain above.

CAPACITY_TEMPERATURE_COEFFICIENT = 0.008  # per K below REFERENCE_TEMPERATURE_C
MAX_COLD_CAPACITY_LOSS = 0.9

# ---------------------------------------------------------------------------- overpotentials

POLARIZATION_TIME_CONSTANT_S = 60.0  # charge-transfer (double layer) relaxation
POLARIZATION_V_PER_CELL = 0.015  # Butler-Volmer: eta = this x asinh(I / (POLARIZATION_SCALE_C x C))
POLARIZATION_SCALE_C = 0.05  # ~22 mV/cell at 0.1 C, ~45 mV/cell at 0.5 C
KNEE_SOC = 0.2  # below this available charge the voltage falls away (sulphate blocks the plates)
KNEE_DEPTH_V = 0.35  # per cell, extra sag when the available well is empty

RESISTANCE_PER_CELL_AT_100AH_OHM = 0.8e-3  # 12 V 100 Ah -> 4.8 mΩ
RESISTANCE_CAPACITY_EXPONENT = 0.6  # 12 V 7 Ah -> ~24 mΩ, 2 V 1000 Ah -> ~0.2 mΩ (data sheets)
RESISTANCE_EMPTY_RISE = 0.5  # resistance rises by about half from full to empty (lead sulphate)
RESISTANCE_COLD_PER_K = 0.01  # and by ~1 %/K below 25 °C (electrolyte conductivity)

# ---------------------------------------------------------------------------- thermal

THERMAL_TIME_CONSTANT_S = 6 * 3600.0
HEAT_CAPACITY_J_PER_K_PER_CELL_AH = 45.0  # ~27 kJ/K for a 30 kg 12 V 100 Ah block
RUNAWAY_MAX_HEAT_W = 100.0  # a runaway cell's extra heat stops growing here (it dries out)

# ---------------------------------------------------------------------------- self-discharge

SELF_DISCHARGE_PER_MONTH = 0.03  # at 20 °C (VRLA data sheets: ~3 %/month) ...
SELF_DISCHARGE_DOUBLING_K = 10.0  # ... doubling every 10 K
SELF_DISCHARGE_SPREAD = 0.3  # relative standard deviation between batteries

# ---------------------------------------------------------------------------- ageing
# Design life of a VRLA UPS battery: 10 years at 20-25 °C to 80 % capacity; resistance at end
# of life +25..50 % (IEEE 1188: investigate at +20-30 %). Field studies find resistance and
# capacity only loosely correlated, so the two rates are drawn jointly, not derived one from
# the other.

NORMAL_RESISTANCE_RISE_PER_YEAR = 0.05  # median, fraction of the new resistance
NORMAL_CAPACITY_FADE_PER_YEAR = 0.02  # median, fraction of the new capacity
AGEING_RATE_SIGMA = 0.35  # log-normal spread of each rate between batteries
AGEING_RATE_CORRELATION = 0.7  # between log(resistance rise) and log(capacity fade)
AGEING_DOUBLING_K = 10.0  # ageing doubles every 10 K above 25 °C (Arrhenius rule of thumb)
MIN_CAPACITY_FRACTION = 0.3  # a dead battery keeps this much

# ---------------------------------------------------------------------------- spread between batteries

CAPACITY_SPREAD = 0.02  # relative standard deviation, clipped at 2.5 sigma
RESISTANCE_SPREAD = 0.05
FLOAT_SHARE_SPREAD_V_PER_CELL = 0.008  # how a battery's float voltage departs from the mean
SPREAD_CLIP_SIGMA = 2.5

# ---------------------------------------------------------------------------- BM-CS balancing
# The cell sensor bleeds a battery that floats too high, until it is back near the mean.

BALANCE_START_V_PER_CELL = 0.010  # above the string's mean float voltage per cell
BALANCE_STOP_V_PER_CELL = 0.005
BALANCE_BLEED_V_PER_CELL = 0.006  # how much lower the battery floats while bled

# ---------------------------------------------------------------------------- insulation (BM-GS)

HEALTHY_INSULATION_KOHM = 20_000.0  # 20 MΩ against ground
INSULATION_WARNING_OHM_PER_V = 100.0  # a common warning level for DC circuits (ISO 6469-1: 100 Ω/V)
INSULATION_NOISE = 0.01  # relative
