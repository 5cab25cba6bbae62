"""Alarm limits changed at run time (settings page, `btms limits`), on top of topology.yaml's.

A string's effective overrides are its topology.yaml `alarm_overrides` with the stored runtime
overrides laid over them, name by name. They are checked with exactly the rules the loader
applies to topology.yaml (limits.py: names, ranges, low below high) plus the limits the battery
type's defaults complete them to, so a runtime change can never give a string master limits the
topology could not have given it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from battery.alarms.limits import OVERRIDE_RANGES, cell_limits_for_string, string_limits_for, validate_overrides
from battery.site import StringConfig

Overrides = tuple[tuple[str, float], ...]

# The settings page's row labels, in the order of the manual's string settings page.
LIMIT_LABELS: dict[str, str] = {
    "string_current_charge_high_a": "String current charge limit",
    "string_current_discharge_high_a": "String current discharge limit",
    "string_voltage_high_v": "String voltage high limit",
    "string_voltage_low_v": "String voltage low limit",
    "string_soc_low_pct": "String SoC low limit",
    "cell_voltage_high_v": "Cell voltage high limit",
    "cell_voltage_low_v": "Cell voltage low limit",
    "cell_resistance_high_mohm": "Cell resistance high limit",
    "cell_soc_low_pct": "Cell SoC low limit",
    "cell_soh_low_pct": "Cell SoH low limit",
    "cell_temperature_high_c": "Cell temperature high limit",
    "alarm_on_delay_s": "Alarm on-delay",
    "alarm_off_delay_s": "Alarm off-delay",
}
assert set(LIMIT_LABELS) == set(OVERRIDE_RANGES), "every overridable limit needs a label"


def merged_overrides(base: Iterable[tuple[str, float]], stored: Iterable[tuple[str, float]]) -> Overrides:
    """topology.yaml's overrides with the stored ones replacing them name by name."""
    merged = dict(base)
    merged.update(stored)
    return tuple(sorted(merged.items()))


def with_runtime_overrides(string: StringConfig, stored: Iterable[tuple[str, float]]) -> StringConfig:
    """The string as its string master must see it; ValueError naming the limit and the rule."""
    stored = tuple(stored)
    where = f"string {string.id}"
    validate_overrides(stored, where)
    effective = replace(string, alarm_overrides=merged_overrides(string.alarm_overrides, stored))
    try:
        string_limits_for(effective)
        cell_limits_for_string(effective)
    except ValueError as error:
        text = str(error)
        raise ValueError(text if text.startswith(where) else f"{where}: {text}") from None
    return effective


def parse_limit_value(name: str, text: str, where: str) -> float:
    """A value as typed in a form or on the command line: a number, or ValueError naming it."""
    if name not in OVERRIDE_RANGES:
        known = ", ".join(sorted(OVERRIDE_RANGES))
        raise ValueError(f"{where}: unknown alarm limit {name!r} (known: {known})")
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        unit, lo, hi = OVERRIDE_RANGES[name]
        raise ValueError(f"{where}: {name} must be a number of {unit} within {lo}..{hi}, got {text[:40]!r}") from None


@dataclass(frozen=True)
class LimitRow:
    """One row of the string settings page and of `btms limits show`."""

    name: str
    label: str
    unit: str
    low: float  # the allowed range
    high: float
    effective: float  # what the string master compares against, in engineering units
    topology: float | None  # topology.yaml's override, if any
    runtime: float | None  # the stored runtime override, if any

    @property
    def source(self) -> str:
        if self.runtime is not None:
            return "runtime"
        return "topology.yaml" if self.topology is not None else "default"


def effective_values(string: StringConfig) -> dict[str, float]:
    """Every overridable limit's value for this string, in the engineering units of the overrides."""
    cell = cell_limits_for_string(string)
    s = string_limits_for(string)
    return {
        "cell_voltage_high_v": cell.voltage_high.threshold / 1000,
        "cell_voltage_low_v": cell.voltage_low.threshold / 1000,
        "cell_resistance_high_mohm": cell.resistance_high.threshold / 1000,
        "cell_temperature_high_c": cell.temperature_high.threshold / 10,
        "cell_soc_low_pct": float(cell.soc_low.threshold),
        "cell_soh_low_pct": float(cell.soh_low.threshold),
        "string_voltage_high_v": float(s.voltage_high.threshold),
        "string_voltage_low_v": float(s.voltage_low.threshold),
        "string_current_charge_high_a": float(s.current_high.threshold),
        "string_current_discharge_high_a": -float(s.current_low.threshold),
        "string_soc_low_pct": float(s.soc_low.threshold),
        "alarm_on_delay_s": float(s.voltage_high.on_delay_s),
        "alarm_off_delay_s": float(s.voltage_high.off_delay_s),
    }


def limit_rows(string: StringConfig, stored: Mapping[str, float]) -> list[LimitRow]:
    """The table of a string's limits: effective value and where it comes from.

    `string` is the topology's (its own overrides only); stored overrides that no longer fit
    it raise ValueError, as the gateway would refuse them."""
    effective = effective_values(with_runtime_overrides(string, stored.items()))
    from_topology = dict(string.alarm_overrides)
    rows = []
    for name, label in LIMIT_LABELS.items():
        unit, low, high = OVERRIDE_RANGES[name]
        rows.append(LimitRow(name, label, unit, low, high, effective[name], from_topology.get(name), stored.get(name)))
    return rows
