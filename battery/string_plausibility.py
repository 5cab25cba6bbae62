"""Which of a string master's own readings are measurements? Pure; the string's twin of battery/plausibility.py.

A string voltage outside the BM-SS measuring range (0.00 V from a broken sense lead) or a
current beyond the hall sensor's range is a sensor fault, not a flat or runaway string: it
must not raise "Voltage low" or "Current high", and it must not be taken for the string's
state. `measured_string_values` is the one rule the string's status and its alarm evaluation
both use.
"""

from __future__ import annotations

from dataclasses import dataclass

from battery.quantities import quantity
from battery.readings import StringScan
from battery.site import StringConfig

STRING_VOLTAGE = quantity("string.voltage")  # its range is the BM-SS measuring range
STRING_CURRENT = quantity("string.current")
HALL_OVERRANGE = 1.1  # a current beyond 110 % of the hall sensor's range is not a measurement


@dataclass(frozen=True, slots=True)
class StringMeasurements:
    """A scan's string voltage and current, None where they are not measurements."""

    voltage_v: float | None
    current_a: float | None  # None also without a working hall sensor (its own alarm says why)
    sensor_fault: bool  # the string master answered with a value it cannot have measured


def measured_string_values(config: StringConfig, scan: StringScan) -> StringMeasurements:
    """The rule for a string master that answered (a silent one has no values at all)."""
    voltage_v = STRING_VOLTAGE.from_wire(scan.voltage_cv)
    current_a = STRING_CURRENT.from_wire(scan.current_ca)
    voltage_ok = STRING_VOLTAGE.minimum <= voltage_v <= STRING_VOLTAGE.maximum
    current_ok = abs(current_a) <= HALL_OVERRANGE * config.hall_range_a
    return StringMeasurements(
        voltage_v=voltage_v if voltage_ok else None,
        current_a=current_a if current_ok and scan.hall_ok else None,
        sensor_fault=not (voltage_ok and current_ok),
    )
