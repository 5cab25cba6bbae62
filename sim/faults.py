"""Faults the simulator injects on demand, and how sensor faults alter readings.

Two families:
- physical faults change what happens in the string (`sim.string_model` acts on them):
  OpenCell, ThermalRunaway, InsulationFault, HallSensorDisconnected, DeviceOffline, SlowDevice;
- sensor faults leave the physics alone and falsify one reading; `apply_sensor_faults`
  rewrites the scaled-integer readings after they were measured: DriftingSensor,
  ImplausibleValue.
DigitalInputActive is for a BM-LC IO module (a leak or fire detector closing its contact).

Cells are numbered from 1, as on the string and in the UI. Readings are in the units of the
field bus: mV, µΩ and 0.1 °C ("counts").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

QUANTITIES = ("voltage", "resistance", "temperature")


def _check_cell(cell: int) -> None:
    if cell < 1:
        raise ValueError(f"cell numbers start at 1, got {cell}")


def _check_quantity(quantity: str) -> None:
    if quantity not in QUANTITIES:
        raise ValueError(f"sensor quantity must be one of {QUANTITIES}, got {quantity!r}")


@dataclass(frozen=True)
class OpenCell:
    """A broken cell or connector: the string is open (current 0), the cell reads ~0 V."""

    cell: int

    def __post_init__(self) -> None:
        _check_cell(self.cell)


@dataclass(frozen=True)
class ThermalRunaway:
    """A cell that heats up more and more; the float current rises with its temperature."""

    cell: int
    heating_w_per_hour: float = 5.0  # extra heat in the cell grows by this much every hour

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        if self.heating_w_per_hour <= 0:
            raise ValueError(f"thermal runaway heating must be > 0 W/h, got {self.heating_w_per_hour}")


@dataclass(frozen=True)
class InsulationFault:
    """The string's insulation to ground falls (electrolyte creep, moisture) to `to_kohm`,
    log-linearly over `over_s` seconds, as the BM-GS insulation sensor then reads it."""

    to_kohm: float = 20.0
    over_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.to_kohm <= 0:
            raise ValueError(f"insulation fault: to_kohm must be > 0 kΩ, got {self.to_kohm}")
        if self.over_s < 0:
            raise ValueError(f"insulation fault: over_s must be >= 0 s, got {self.over_s}")


@dataclass(frozen=True)
class HallSensorDisconnected:
    """The BM-HS cable is off: the string master reports hall_ok=False and 0 A."""


@dataclass(frozen=True)
class DeviceOffline:
    """The device does not answer at all (power lost, cable cut)."""


@dataclass(frozen=True)
class SlowDevice:
    """The device answers after `delay_s`; longer than the bus timeout means no answer."""

    delay_s: float

    def __post_init__(self) -> None:
        if self.delay_s < 0:
            raise ValueError(f"slow device delay must be >= 0 s, got {self.delay_s}")


@dataclass(frozen=True)
class DriftingSensor:
    """A cell sensor whose reading wanders off linearly from the injection time."""

    cell: int
    quantity: str  # "voltage", "resistance" or "temperature"
    counts_per_hour: float  # mV/h, µΩ/h or 0.1 °C/h (may be negative)

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        _check_quantity(self.quantity)


@dataclass(frozen=True)
class ImplausibleValue:
    """A cell sensor stuck at a value outside its range; by default 300.0 °C as in the manual."""

    cell: int
    quantity: str = "temperature"
    value: int = 3000  # counts: 3000 = 300.0 °C

    def __post_init__(self) -> None:
        _check_cell(self.cell)
        _check_quantity(self.quantity)


@dataclass(frozen=True)
class DigitalInputActive:
    """A detector (leakage, fire ...) wired to a BM-LC digital input 1..8 is on."""

    input: int

    def __post_init__(self) -> None:
        if not 1 <= self.input <= 8:
            raise ValueError(f"digital input must be 1..8, got {self.input}")


CellFaultKind = OpenCell | ThermalRunaway | DriftingSensor | ImplausibleValue
StringFault = CellFaultKind | InsulationFault | HallSensorDisconnected | DeviceOffline | SlowDevice
SensorFault = DriftingSensor | ImplausibleValue


@dataclass(frozen=True)
class ActiveFault:
    fault: StringFault
    since: float  # simulated UNIX time of injection


def apply_sensor_faults(
    faults: Sequence[ActiveFault],
    now: float,
    voltage_mv: list[int],
    resistance_uohm: list[int],
    temperature_dc: list[int],
) -> None:
    """Rewrite the readings (in place) that a drifting or stuck sensor falsifies."""
    lists = {"voltage": voltage_mv, "resistance": resistance_uohm, "temperature": temperature_dc}
    for active in faults:
        f = active.fault
        if isinstance(f, DriftingSensor):
            readings = lists[f.quantity]
            hours = max(0.0, now - active.since) / 3600.0
            readings[f.cell - 1] += round(f.counts_per_hour * hours)
        elif isinstance(f, ImplausibleValue):
            lists[f.quantity][f.cell - 1] = f.value


def insulation_kohm(faults: Sequence[ActiveFault], now: float, healthy_kohm: float) -> float:
    """The string's insulation resistance under its insulation faults (the lowest wins)."""
    value = healthy_kohm
    for active in faults:
        f = active.fault
        if isinstance(f, InsulationFault) and f.to_kohm < healthy_kohm:
            elapsed = max(0.0, now - active.since)
            x = 1.0 if f.over_s <= 0 else min(1.0, elapsed / f.over_s)
            value = min(value, healthy_kohm * (f.to_kohm / healthy_kohm) ** x)
    return value
