"""Parameters of the estimators, per battery type. Defaults are VRLA (lead-acid) values.

Every estimator takes its parameters explicitly so a test or the bench can vary them; the
gateway builds them from the string's BatteryType with `params_for`. Sources of the defaults
are in docs/battery-math.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property, lru_cache


@dataclass(frozen=True)
class BatteryParams:
    """One string's batteries: their ratings and the thresholds that classify them."""

    nominal_voltage: int  # 2, 6 or 12 V per battery
    capacity_ah: float  # rated capacity C at the rated discharge time
    rated_hours: float = 10.0  # H of the rating (C10: capacity_ah delivered in 10 h)
    peukert_k: float = 1.15  # Peukert exponent: VRLA 1.05–1.25
    charge_efficiency: float = 0.95  # Ah stored per Ah charged, below the knee
    charge_acceptance_knee_pct: float = 80.0  # above this SOC the acceptance falls ...
    charge_acceptance_full: float = 0.6  # ... linearly to this at 100 %: a recharge from empty returns 1.10 × C
    not_full_ceiling_pct: float = 99.0  # a charge count alone shows no more until "charged"
    # Charge state thresholds, volts per 2 V cell and fractions of C (A per Ah).
    float_min_vpc: float = 2.18
    equalize_min_vpc: float = 2.33
    overcharge_vpc: float = 2.50
    rest_current_c: float = 0.01  # |I| below this is "no current" (float current is ~0.001 C)
    hysteresis_vpc: float = 0.02  # a state is left only this far past its entry threshold
    hysteresis_current_c: float = 0.005
    dwell_s: float = 10.0  # a calmer state must hold this long before it is shown
    # Open-circuit voltage relation of a rested cell (linear), and how long "rested" takes: a
    # lead-acid battery's voltage relaxes for hours after a discharge (vendors: rest ≥ 6 h,
    # better 24 h, before an OCV reading says the SOC).
    ocv_empty_vpc: float = 1.95
    ocv_full_vpc: float = 2.13
    rest_before_ocv_s: float = 6 * 3600.0
    ocv_time_constant_s: float = 3600.0  # then SOC is pulled towards the OCV's, not set to it
    ocv_band_pct: float = 5.0  # what the OCV cannot tell apart (hysteresis, acid spread, temperature)
    # Full charge: in float with the current down to this tail for this long, SOC is 100 %.
    tail_current_c: float = 0.005
    tail_hold_s: float = 1800.0
    full_charge_time_constant_s: float = 1800.0
    max_gap_s: float = 900.0  # a longer gap between readings is not integrated
    end_vpc: float = 1.75  # end-of-discharge voltage per cell under load (IEEE 450 test end)
    end_hold_s: float = 10.0  # at the end voltage this long under load: SOC is the rate's remainder
    peukert_min_ratio: float = 0.2  # below 0.2 × I_rated Peukert gives no more credit
    # Voltage under load (load_deviation.py): a cell's departure from the string's median is taken
    # as its offset once the discharge has settled, and its growth then corrects the count, weighed
    # against the count's error: the capacity is unknown to this share until a test measured it.
    deviation_settle_s: float = 300.0
    deviation_knee_pct: float = 20.0  # the knee: the last 20 % of what the rate delivers
    capacity_uncertainty: float = 0.10

    # Derived once per parameter set (cached_property writes past the frozen __setattr__).
    @cached_property
    def cells_per_battery(self) -> int:
        return max(1, self.nominal_voltage // 2)

    @cached_property
    def rated_current_a(self) -> float:
        """I_rated = C / H: the current at which the battery delivers exactly C."""
        return self.capacity_ah / self.rated_hours

    @cached_property
    def rest_current_a(self) -> float:
        """|I| below this is "no current" (rest_current_c of C)."""
        return self.rest_current_c * self.capacity_ah

    @cached_property
    def tail_current_a(self) -> float:
        """The float current at which a battery counts as charged (tail_current_c of C)."""
        return self.tail_current_c * self.capacity_ah

    def vpc(self, voltage_v: float, batteries: int = 1) -> float:
        """Volts per 2 V cell of `batteries` batteries in series measuring voltage_v together."""
        return voltage_v / (self.cells_per_battery * max(1, batteries))


@dataclass(frozen=True)
class BaselineParams:
    """The commissioning window in which each cell's resistance baseline is learned."""

    window_s: float = 7 * 86400.0  # the first week on float
    samples: int = 28  # one every window_s / samples, median at the end
    min_samples: int = 1  # samples before a provisional baseline is used (flagged: not final)


@dataclass(frozen=True)
class SohParams:
    """SOH thresholds: IEEE 1188 practice for ohmic values, IEEE 450 for capacity."""

    warn_rise: float = 0.20  # resistance rise over baseline that calls for attention (20–30 %)
    replace_rise: float = 0.50  # at +50 % the battery is due for replacement: SOH 0 %
    resistance_time_constant_s: float = 300.0  # SOH follows a 5-minute average of R
    # The baseline and SOH are judged from the average this often (cell_step.py): the 5-minute
    # average moves by a few hundredths of a percent between two judgments. On float a cell is
    # stepped only this often too (step_cell_paced), with the mean of the resistances read since:
    # stepping every cell every scan was the larger part of a string master's CPU at a 1 s scan.
    judge_every_s: float = 10.0
    min_depth: float = 0.5  # capacity SOH only after a discharge of ≥ 50 % of C (normalised Ah)


@dataclass(frozen=True)
class DischargeParams:
    start_current_c: float = 0.01  # discharging past this (A per Ah) ...
    min_duration_s: float = 1.0  # ... for this long starts an event (back-dated to its first scan)
    end_current_c: float = 0.002  # charging above this ends it
    idle_end_s: float = 300.0  # no current for this long ends it too (breaker opened, charger off)
    weakest_count: int = 5


@dataclass(frozen=True)
class RunawayParams:
    """Thermal-runaway early warning (vendor practice, IEEE 1188/1187: a hot cell plus a float
    current that keeps rising). VRLA runaway builds over hours, so the rise is judged over hours
    against the string's own float current, not over minutes."""

    ambient_margin_k: float = 8.0  # cell above ambient by at least this ...
    neighbour_margin_k: float = 4.0  # ... and above the median of its neighbours by this ...
    neighbours: int = 3  # ... (this many cells on either side) ...
    current_rise_factor: float = 1.5  # ... while the float current rose by this factor ...
    current_rise_min_c: float = 0.001  # ... and by at least this (A per Ah) ...
    window_s: float = 6 * 3600.0  # ... over this window (above its lowest float current in it)
    string_margin_k: float = 8.0  # a whole string: its median cell above ambient by this
    on_delay_s: float = 30.0
    clear_margin_k: float = 2.0  # cleared when the margins are missed by this much


@dataclass(frozen=True)
class InsulationParams:
    """Insulation resistance of a DC string to earth (IEC 61557-8 monitors; 100 Ω/V rule of thumb)."""

    low_limit_kohm: float = 100.0
    hysteresis: float = 0.2  # cleared above low_limit × (1 + hysteresis)


@dataclass(frozen=True)
class AnalyticsParams:
    """Everything the estimators of one string need."""

    battery: BatteryParams
    baseline: BaselineParams = BaselineParams()
    soh: SohParams = SohParams()
    discharge: DischargeParams = DischargeParams()
    runaway: RunawayParams = RunawayParams()
    insulation: InsulationParams = InsulationParams()


def params_for(nominal_voltage: int, capacity_ah: float, **overrides) -> BatteryParams:
    """The default parameters of a battery type, with any field overridden by name."""
    return replace(BatteryParams(nominal_voltage, float(capacity_ah)), **overrides)


@lru_cache(maxsize=16)
def analytics_params(battery) -> AnalyticsParams:
    """The default parameters of a string's BatteryType (battery.site), as the gateway uses them.

    One shared object per battery type (the parameters are frozen): the 120 cells of a string
    then hold one copy, with its derived values computed once, instead of 120."""
    return AnalyticsParams(params_for(battery.nominal_voltage, battery.capacity_ah))
