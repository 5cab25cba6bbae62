"""Alarm limits: defaults by battery type, per-string overrides, hysteresis and delays.

Cell limits are in the cell data's scaled units (mV, µΩ, 0.1 °C, %), so the CellSensor
compares integers it already has; string limits are in the units of StringStatus (V, A, %).
Overrides in topology.yaml are written in engineering units (V, mΩ, °C) because installers
copy them from a battery data sheet; `cell_limits_for` converts them. The names and ranges are
documented in docs/alarms.md.

Why the defaults are what they are: VRLA float is ~2.25 V per 2 V cell and equalize up to
~2.40 V, so 2.45 V is a charger fault; 1.80 V is the usual end-of-discharge voltage. SOH 80 %
is the IEEE 1188 replacement criterion. Resistance depends on the capacity far more than on
the type: the defaults only catch gross faults and each site should set them from the
commissioning values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from battery.alarms.kinds import AlarmKind
from battery.analytics.params import InsulationParams
from battery.site import NOMINAL_BATTERY_VOLTAGES, BatteryType, StringConfig


class Direction(Enum):
    HIGH = "high"  # alarm when value >= threshold
    LOW = "low"  # alarm when value <= threshold


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit with hysteresis and delays.

    Raised when the value has been at or beyond `threshold` for `on_delay_s`; cleared when it
    has been back by more than `hysteresis` for `off_delay_s`. The two together make a value
    hovering at the limit raise one alarm instead of one every few minutes.
    """

    kind: AlarmKind
    direction: Direction
    threshold: float
    hysteresis: float
    on_delay_s: float
    off_delay_s: float

    def violated(self, value: float) -> bool:
        if self.direction is Direction.HIGH:
            return value >= self.threshold
        return value <= self.threshold

    def recovered(self, value: float) -> bool:
        if self.direction is Direction.HIGH:
            return value < self.threshold - self.hysteresis
        return value > self.threshold + self.hysteresis


@dataclass(frozen=True, slots=True)
class CellLimits:
    """The limits every cell of one string is evaluated against (scaled units)."""

    voltage_high: Limit  # mV
    voltage_low: Limit  # mV
    resistance_high: Limit  # µΩ
    temperature_high: Limit  # 0.1 °C
    soc_low: Limit  # %
    soh_low: Limit  # %
    sensor_fault_delay_s: float
    communication_lost_delay_s: float

    def __post_init__(self) -> None:
        # evaluate_cell's fast path compares the thresholds directly and relies on these.
        for name, direction in (
            ("voltage_high", Direction.HIGH),
            ("voltage_low", Direction.LOW),
            ("resistance_high", Direction.HIGH),
            ("temperature_high", Direction.HIGH),
            ("soc_low", Direction.LOW),
            ("soh_low", Direction.LOW),
        ):
            if getattr(self, name).direction is not direction:
                raise ValueError(f"cell limit {name} must be a {direction.name} limit")


@dataclass(frozen=True, slots=True)
class StringLimits:
    """The limits of one string (units of StringStatus: V, A, %)."""

    voltage_high: Limit
    voltage_low: Limit
    current_high: Limit  # charging current, A (positive)
    current_low: Limit  # discharging current, A (negative threshold)
    soc_low: Limit
    hall_sensor_delay_s: float
    communication_lost_delay_s: float
    switched_off_delay_s: float
    sensor_fault_delay_s: float
    insulation_low: Limit | None = None  # kΩ; None: the string has no BM-GS
    thermal_runaway_delay_s: float = 0.0  # the warning has its own on-delay (analytics.RunawayParams)


DEFAULT_ON_DELAY_S = 10.0
DEFAULT_OFF_DELAY_S = 10.0
DEFAULT_FAULT_DELAY_S = 10.0
DEFAULT_DIGITAL_INPUT_DELAY_S = 2.0

# Per 2 V cell; a 6 V battery has 3 cells, a 12 V battery 6.
_CELL_V_HIGH = 2.45
_CELL_V_LOW = 1.80
_CELL_V_HYST = 0.020
_RESISTANCE_HIGH_UOHM = {2: 1500, 6: 5000, 12: 10000}
_TEMPERATURE_HIGH_C = 45.0
_TEMPERATURE_HYST_C = 2.0
_CELL_SOC_LOW = 30.0
_CELL_SOH_LOW = 80.0
_STRING_SOC_LOW = 50.0
_SOC_HYST = 5.0
_SOH_HYST = 2.0
_CHARGE_HIGH_C_RATE = 0.25  # VRLA charge current limit, × capacity
_DISCHARGE_C_RATE = 0.05  # a discharge above 5 % of C means the UPS runs on battery
_CURRENT_HYST_C_RATE = 0.01
_MIN_CURRENT_HYST_A = 0.5

# name -> (unit, min, max): what topology.yaml may override per string (docs/alarms.md).
OVERRIDE_RANGES: dict[str, tuple[str, float, float]] = {
    "cell_voltage_high_v": ("V", 0.5, 20.0),
    "cell_voltage_low_v": ("V", 0.5, 20.0),
    "cell_resistance_high_mohm": ("mΩ", 0.01, 100.0),
    "cell_temperature_high_c": ("°C", -20.0, 85.0),
    "cell_soc_low_pct": ("%", 0.0, 100.0),
    "cell_soh_low_pct": ("%", 0.0, 100.0),
    "string_voltage_high_v": ("V", 1.0, 1000.0),
    "string_voltage_low_v": ("V", 1.0, 1000.0),
    "string_current_charge_high_a": ("A", 0.1, 5000.0),
    "string_current_discharge_high_a": ("A", 0.1, 5000.0),  # magnitude of the discharge current
    "string_soc_low_pct": ("%", 0.0, 100.0),
    "string_insulation_low_kohm": ("kΩ", 1.0, 65534.0),
    "alarm_on_delay_s": ("s", 0.0, 3600.0),
    "alarm_off_delay_s": ("s", 0.0, 3600.0),
}
OVERRIDABLE_LIMITS: frozenset[str] = frozenset(OVERRIDE_RANGES)


def validate_overrides(overrides: Iterable[tuple[str, float]], where: str = "alarm_overrides") -> None:
    """Raise ValueError naming the bad entry; never repairs or drops anything."""
    seen: set[str] = set()
    for name, value in overrides:
        if name not in OVERRIDE_RANGES:
            known = ", ".join(sorted(OVERRIDE_RANGES))
            raise ValueError(f"{where}: unknown alarm limit {name!r} (known: {known})")
        if name in seen:
            raise ValueError(f"{where}: alarm limit {name!r} given twice")
        seen.add(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where}: {name} must be a number, got {value!r}")
        unit, lo, hi = OVERRIDE_RANGES[name]
        if not lo <= value <= hi:
            raise ValueError(f"{where}: {name} = {value} {unit} is outside {lo}..{hi} {unit}")
    pairs = (
        ("cell_voltage_low_v", "cell_voltage_high_v"),
        ("string_voltage_low_v", "string_voltage_high_v"),
    )
    given = dict(overrides)
    for low, high in pairs:
        if low in given and high in given and given[low] >= given[high]:
            raise ValueError(f"{where}: {low} ({given[low]}) must be below {high} ({given[high]})")


def _cells_per_battery(battery: BatteryType) -> int:
    if battery.nominal_voltage not in NOMINAL_BATTERY_VOLTAGES:
        raise ValueError(
            f"battery nominal voltage {battery.nominal_voltage} V is not one of {NOMINAL_BATTERY_VOLTAGES}"
        )
    return battery.nominal_voltage // 2


def cell_limits_for(battery: BatteryType, overrides: Iterable[tuple[str, float]] = ()) -> CellLimits:
    """Defaults for the battery type, with the string's overrides applied."""
    o = dict(overrides)
    validate_overrides(o.items())
    n = _cells_per_battery(battery)
    on = o.get("alarm_on_delay_s", DEFAULT_ON_DELAY_S)
    off = o.get("alarm_off_delay_s", DEFAULT_OFF_DELAY_S)
    v_high_mv = round(1000 * o.get("cell_voltage_high_v", _CELL_V_HIGH * n))
    v_low_mv = round(1000 * o.get("cell_voltage_low_v", _CELL_V_LOW * n))
    if v_low_mv >= v_high_mv:
        raise ValueError(f"cell voltage low limit {v_low_mv} mV must be below the high limit {v_high_mv} mV")
    v_hyst_mv = round(1000 * _CELL_V_HYST * n)
    r_high = (
        round(1000 * o["cell_resistance_high_mohm"])
        if "cell_resistance_high_mohm" in o
        else (_RESISTANCE_HIGH_UOHM[battery.nominal_voltage])
    )
    t_high_dc = round(10 * o.get("cell_temperature_high_c", _TEMPERATURE_HIGH_C))
    L = Limit
    return CellLimits(
        voltage_high=L(AlarmKind.CELL_VOLTAGE_HIGH, Direction.HIGH, v_high_mv, v_hyst_mv, on, off),
        voltage_low=L(AlarmKind.CELL_VOLTAGE_LOW, Direction.LOW, v_low_mv, v_hyst_mv, on, off),
        resistance_high=L(
            AlarmKind.CELL_RESISTANCE_HIGH, Direction.HIGH, r_high, max(1, round(r_high * 0.05)), on, off
        ),
        temperature_high=L(
            AlarmKind.CELL_TEMPERATURE_HIGH, Direction.HIGH, t_high_dc, round(10 * _TEMPERATURE_HYST_C), on, off
        ),
        soc_low=L(AlarmKind.CELL_SOC_LOW, Direction.LOW, o.get("cell_soc_low_pct", _CELL_SOC_LOW), _SOC_HYST, on, off),
        soh_low=L(AlarmKind.CELL_SOH_LOW, Direction.LOW, o.get("cell_soh_low_pct", _CELL_SOH_LOW), _SOH_HYST, on, off),
        sensor_fault_delay_s=DEFAULT_FAULT_DELAY_S,
        communication_lost_delay_s=DEFAULT_FAULT_DELAY_S,
    )


def string_limits_for(string: StringConfig) -> StringLimits:
    """Defaults for the string's battery type and count, with its overrides applied."""
    where = f"string {string.id}: alarm_overrides"
    o = dict(string.alarm_overrides)
    validate_overrides(o.items(), where)
    battery = string.battery
    n = _cells_per_battery(battery)
    on = o.get("alarm_on_delay_s", DEFAULT_ON_DELAY_S)
    off = o.get("alarm_off_delay_s", DEFAULT_OFF_DELAY_S)
    cells = n * battery.count
    v_high = o.get("string_voltage_high_v", round(_CELL_V_HIGH * cells, 2))
    v_low = o.get("string_voltage_low_v", round(_CELL_V_LOW * cells, 2))
    if v_low >= v_high:
        raise ValueError(f"{where}: string voltage low limit {v_low} V must be below the high limit {v_high} V")
    v_hyst = round(_CELL_V_HYST * cells, 2)
    c = battery.capacity_ah
    i_hyst = max(_MIN_CURRENT_HYST_A, round(_CURRENT_HYST_C_RATE * c, 2))
    i_high = o.get("string_current_charge_high_a", round(_CHARGE_HIGH_C_RATE * c, 2))
    i_low = -o.get("string_current_discharge_high_a", round(_DISCHARGE_C_RATE * c, 2))
    L = Limit
    return StringLimits(
        voltage_high=L(AlarmKind.STRING_VOLTAGE_HIGH, Direction.HIGH, v_high, v_hyst, on, off),
        voltage_low=L(AlarmKind.STRING_VOLTAGE_LOW, Direction.LOW, v_low, v_hyst, on, off),
        current_high=L(AlarmKind.STRING_CURRENT_HIGH, Direction.HIGH, i_high, i_hyst, on, off),
        current_low=L(AlarmKind.STRING_CURRENT_LOW, Direction.LOW, i_low, i_hyst, on, off),
        soc_low=L(
            AlarmKind.STRING_SOC_LOW, Direction.LOW, o.get("string_soc_low_pct", _STRING_SOC_LOW), _SOC_HYST, on, off
        ),
        hall_sensor_delay_s=DEFAULT_FAULT_DELAY_S,
        communication_lost_delay_s=DEFAULT_FAULT_DELAY_S,
        switched_off_delay_s=0.0,
        sensor_fault_delay_s=DEFAULT_FAULT_DELAY_S,
        insulation_low=_insulation_limit(o, on, off) if string.insulation_sensor else None,
    )


def _insulation_limit(overrides: dict[str, float], on: float, off: float) -> Limit:
    """Insulation low: the analytics' default limit and hysteresis (battery/analytics/params.py)."""
    defaults = InsulationParams()
    threshold = overrides.get("string_insulation_low_kohm", defaults.low_limit_kohm)
    return Limit(AlarmKind.INSULATION_LOW, Direction.LOW, threshold, threshold * defaults.hysteresis, on, off)


def cell_limits_for_string(string: StringConfig) -> CellLimits:
    """What a StringMaster gives each of its CellSensor actors."""
    return cell_limits_for(string.battery, string.alarm_overrides)
