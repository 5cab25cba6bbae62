"""A cell's SOC corrected during a discharge by how its voltage under load departs from the string's.

Coulomb counting gives every cell of a series string the same Ah, so before a capacity test has
measured it, a cell with less capacity than its rating counts too slowly: a battery at 89 % of C
reads high by 0.12 points per % of C drawn. Its voltage shows it: under the same current it sags
ever further below the string's other cells. Pack BMSs estimate each cell so, as the string's
SOC plus the cell's own difference told by its voltage (the "mean-difference" or "bar-delta"
model of pack estimation, Plett, Battery Management Systems vol. II, 2015); IEEE 450 reads the
individual cell voltages in a capacity test for the same reason.

Per scan of a discharge past the rest current:
- each cell's voltage per cell plus its ohmic drop |I|·R (its own resistance reading) is near its
  open-circuit voltage; the string's reference is the median of these (`loaded_reference_vpc`);
- once the discharge has settled (`deviation_settle_s`: the first minutes carry the coup de
  fouet and the polarisation building up), the cell's departure from the reference is its offset:
  acid density, float share and temperature differ from cell to cell, and none of that is charge;
- from then on the departure's growth over the OCV's slope, per % of C drawn since, is the rate at
  which the cell empties faster than the median cell (beyond what a measured capacity already
  makes its count do);
- that rate is weighed against the count's by their uncertainties: the capacity is unknown to
  `capacity_uncertainty` (±10 %: IEEE 450 replaces a battery at 80 %) until a test measured it,
  the voltage to the OCV band over the charge drawn since the offset. The voltage's weight is
  0.1² / (0.1² + (band / drawn)²): 0.14 after 20 % of C, 0.5 after 50 %, 0.69 after 75 %;
- the correction is the weighed rate times the charge drawn in the discharge. Only its change is
  added each scan, so it stays in the count when the discharge ends;
- in the knee (the last `deviation_knee_pct` of what the rate delivers, or an ohmic-free voltage
  below the OCV's empty point) the voltage falls away faster than the OCV's slope: the rate is
  kept, not learned further, and no correction takes a cell below the rate's remainder, where its
  end voltage sets it (soc.py), the better evidence.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from battery.analytics.params import BatteryParams
from battery.analytics.soc import rate_remainder_pct


@dataclass(frozen=True)
class LoadDeviation:
    loaded_s: float = 0.0  # how long the present discharge has lasted
    drawn_pct: float = 0.0  # charge drawn in it, % of C
    offset_vpc: float | None = None  # departure from the reference when the discharge settled
    settled_drawn_pct: float = 0.0  # charge drawn since then, % of C
    excess_rate: float = 0.0  # SOC points per % of C drawn that the voltage adds to the count
    correction_pct: float = 0.0  # what the voltage has added to the count in this discharge


NOT_LOADED = LoadDeviation()


def ohmic_free_vpc(current_a: float, vpc: float, resistance_uohm: float | None, params: BatteryParams) -> float:
    """The loaded voltage per cell plus the ohmic drop |I|·R of its battery: near its OCV."""
    return vpc + abs(current_a) * (resistance_uohm or 0.0) * 1e-6 / params.cells_per_battery


def discharging(current_a: float, params: BatteryParams) -> bool:
    return current_a < -params.rest_current_a


def loaded_reference_vpc(
    current_a: float,
    cell_voltage_mv: Sequence[int | None],
    cell_resistance_uohm: Sequence[int | None],
    params: BatteryParams,
) -> float | None:
    """The string's median ohmic-free voltage per cell during a discharge (None otherwise, or with
    fewer than three readings: a median of two says nothing about either). Cells without a
    voltage (None or 0: no answer) are left out."""
    if not discharging(current_a, params):
        return None
    values = [
        ohmic_free_vpc(current_a, params.vpc(mv / 1000.0), r, params)
        for mv, r in zip(cell_voltage_mv, cell_resistance_uohm)
        if mv
    ]
    return statistics.median(values) if len(values) >= 3 else None


def on_linear_part(
    soc_pct: float, own_vpc: float, reference_vpc: float, remainder_pct: float, params: BatteryParams
) -> bool:
    """Whether a departure still says something about charge: not in the knee at the end of the
    discharge, where the voltage falls away faster than the OCV's slope (the last
    `deviation_knee_pct` of what the rate can deliver, or an ohmic-free voltage, the cell's or the
    reference's, below the OCV's empty point)."""
    return soc_pct > remainder_pct + params.deviation_knee_pct and min(own_vpc, reference_vpc) >= params.ocv_empty_vpc


def step_load_deviation(
    state: LoadDeviation,
    soc_pct: float,
    current_a: float,
    vpc: float,
    resistance_uohm: float | None,
    reference_vpc: float | None,
    dt_s: float,
    params: BatteryParams,
    capacity_fraction: float = 1.0,
) -> tuple[LoadDeviation, float]:
    """(the state after this scan, the cell's SOC with the voltage's correction).

    `soc_pct` is the cell's counted SOC after this scan; a scan outside a discharge, without a
    reference or across a gap ends the correction (what it added stays in the count)."""
    if reference_vpc is None or not discharging(current_a, params) or not (0 < dt_s <= params.max_gap_s):
        return NOT_LOADED, soc_pct
    own_vpc = ohmic_free_vpc(current_a, vpc, resistance_uohm, params)
    departure = own_vpc - reference_vpc
    loaded_s = state.loaded_s + dt_s
    step_pct = 100.0 * abs(current_a) * dt_s / 3600.0 / params.capacity_ah
    drawn = state.drawn_pct + step_pct
    if state.offset_vpc is None:
        offset = departure if loaded_s >= params.deviation_settle_s else None
        return LoadDeviation(loaded_s, drawn, offset), soc_pct
    settled = state.settled_drawn_pct + step_pct
    rate = state.excess_rate
    floor = rate_remainder_pct(current_a, params)
    if on_linear_part(soc_pct, own_vpc, reference_vpc, floor, params):
        slope = (params.ocv_full_vpc - params.ocv_empty_vpc) / 100.0
        by_voltage = (departure - state.offset_vpc) / slope / settled  # points per % drawn
        # The count of a cell with a measured capacity already falls faster or slower than the
        # median cell's: only what the voltage says beyond that is new.
        by_count = 1.0 - 1.0 / max(capacity_fraction, 0.05)
        sigma_voltage = params.ocv_band_pct / settled
        weight = params.capacity_uncertainty**2 / (params.capacity_uncertainty**2 + sigma_voltage**2)
        rate = weight * (by_voltage - by_count)
    target = rate * drawn
    corrected = soc_pct + target - state.correction_pct
    if target < state.correction_pct:  # never below what the end voltage would leave
        corrected = max(corrected, min(floor, soc_pct))
    corrected = min(100.0, max(0.0, corrected))
    applied = state.correction_pct + corrected - soc_pct
    return LoadDeviation(loaded_s, drawn, state.offset_vpc, settled, rate, applied), corrected
