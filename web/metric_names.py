"""Prometheus names of the registry's quantities: ONE rule for the gateway's and the aggregator's /metrics.

A quantity `<level>.<name>` is served as `btms_<level>_<name>_<unit>` in the unit Prometheus
expects (its base unit, spelled out: volts, amperes, ohms, celsius, percent, seconds, coulombs, joules). The registry's
unit (battery/quantities.py) decides the suffix and the factor, so a new quantity gets its
name by being declared there; a unit missing from this table stops the import, by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from battery.quantities import QUANTITIES, Quantity

PREFIX = "btms"

# Registry unit -> (Prometheus unit suffix, factor from the registry's unit to it).
_UNITS: dict[str, tuple[str, float]] = {
    "V": ("volts", 1.0),
    "A": ("amperes", 1.0),
    "%": ("percent", 1.0),
    "%RH": ("percent", 1.0),
    "°C": ("celsius", 1.0),
    "mΩ": ("ohms", 0.001),
    "kΩ": ("ohms", 1000.0),
    "min": ("seconds", 60.0),
    "Ah": ("coulombs", 3600.0),
    "Wh": ("joules", 3600.0),
}


@dataclass(frozen=True)
class MetricName:
    """How one quantity is exposed: family name (without the unit), unit suffix, value factor."""

    quantity: Quantity
    name: str  # e.g. "btms_string_voltage"; OpenMetrics appends "_volts"
    unit: str
    factor: float

    def value(self, in_registry_unit: float) -> float:
        return in_registry_unit * self.factor

    @property
    def help(self) -> str:
        return f"{self.quantity.description} ({self.unit})"


def metric_name(q: Quantity) -> MetricName:
    try:
        unit, factor = _UNITS[q.unit]
    except KeyError:
        raise KeyError(f"quantity {q.key}: unit {q.unit!r} has no Prometheus unit in web/metric_names.py") from None
    level, _, name = q.key.partition(".")
    return MetricName(q, f"{PREFIX}_{level}_{name}", unit, factor)


METRIC_NAMES: dict[str, MetricName] = {q.key: metric_name(q) for q in QUANTITIES}
