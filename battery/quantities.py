"""ONE registry of the quantities the gateway measures, serves and stores.

Each quantity is declared once, here: its key, level, unit, resolution, measuring range, label
and description. Everything that names a quantity resolves it by key when its module is
imported (`STRING_VOLTAGE = quantity("string.voltage")`): the Modbus map, the MIB, the history
schema, the JSON API and its OpenAPI description, the plausibility rules and
docs/quantities.md. A key missing here therefore stops the consumer's import with a KeyError
that names it, never a request at serve time. Tests fail when a consumer's unit or scale
disagrees with this table (tests/battery/test_quantities.py).

Units: `unit` is the SI symbol in UTF-8 as operators read it (V, mΩ, °C); `unit_ascii` is the
same unit in ASCII for the MIB (SMIv2 text is ASCII only) and the CSV headers (a spreadsheet
that opens a UTF-8 file as Windows-1252 would show "mÎ©").

Resolution: the step the product serves (product sheet: cell voltage 1 mV, resistance 1 µΩ,
temperature 0.1 °C, SOC and SOH 1 %, string voltage 0.01 V, current 0.01 A), the same on every
interface. The wire scale is its inverse, in counts per unit: values travel between actors, are
served on Modbus and SNMP and are stored as integers of one step (string voltage 1234 =
12.34 V), and are scaled once, at the edge where they enter or leave.

Range: the measuring range of the product. A value outside it is a sensor fault, not a reading
(battery/plausibility.py, battery/string_values.py take their limits from here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType


class Level(StrEnum):
    """Where a quantity sits in the device tree."""

    CELL = "cell"  # one battery (BM-CS cell sensor)
    STRING = "string"  # one battery string (BM-SS string master with its sensors)
    UPS = "ups"  # aggregates of a UPS's strings
    SITE = "site"  # the whole gateway (no measured quantity yet: its values are counts and codes)


@dataclass(frozen=True)
class Quantity:
    """One measured or derived quantity, as every interface serves it."""

    key: str  # "<level>.<name>", e.g. "string.voltage"
    label: str  # short name for tables and axes, e.g. "String voltage"
    unit: str  # SI symbol, UTF-8: "V", "mΩ", "°C"
    unit_ascii: str  # the same unit in ASCII: "V", "mOhm", "degC"
    resolution: Decimal  # the step served, in `unit`; its inverse is the wire scale
    minimum: float  # measuring range, in `unit`
    maximum: float
    description: str  # one sentence, ASCII (it goes into the MIB)

    def __post_init__(self) -> None:
        level, _, name = self.key.partition(".")
        if level not in {lv.value for lv in Level} or not name:
            raise ValueError(f"quantity key {self.key!r} is not '<cell|string|ups|site>.<name>'")
        scale = 1 / self.resolution
        if scale != scale.to_integral_value() or scale < 1:
            raise ValueError(f"quantity {self.key}: resolution {self.resolution} is not 1/n of its unit")
        for name_, text in (("label", self.label), ("unit_ascii", self.unit_ascii), ("description", self.description)):
            if not text.isascii():
                raise ValueError(f"quantity {self.key}: {name_} {text!r} must be ASCII")
        if not self.minimum < self.maximum:
            raise ValueError(f"quantity {self.key}: range {self.minimum}..{self.maximum} is empty")

    @property
    def level(self) -> Level:
        return Level(self.key.partition(".")[0])

    # Derived once per quantity (cached_property writes past the frozen __setattr__): from_wire
    # runs twice per cell per scan, and a Decimal division each time was a measurable share of a
    # string master's CPU.
    @cached_property
    def wire_scale(self) -> int:
        """Counts per unit of the integer the value travels, is served and is stored as."""
        return int(1 / self.resolution)

    @property
    def decimals(self) -> int:
        """Digits after the decimal point that the resolution gives (0.01 -> 2)."""
        return max(0, -self.resolution.as_tuple().exponent)  # type: ignore[operator]

    def to_wire(self, value: float | None) -> int | None:
        """A value in `unit` -> integer counts of one step (None stays None: not available)."""
        return None if value is None else round(value * self.wire_scale)

    def from_wire(self, counts: int | None) -> float | None:
        """Integer counts -> the value in `unit`."""
        return None if counts is None else counts / self.wire_scale

    def rounded(self, value: float | None) -> float | None:
        """A value in `unit`, rounded to the resolution (what the JSON API serves)."""
        return None if value is None else round(value, self.decimals)

    def wire_range(self) -> tuple[int, int]:
        """The measuring range in counts."""
        return round(self.minimum * self.wire_scale), round(self.maximum * self.wire_scale)

    def wire_unit(self, ascii_only: bool = False) -> str:
        """What one count is worth, e.g. "0.01 V" ("V" when the step is one unit)."""
        unit = self.unit_ascii if ascii_only else self.unit
        return unit if self.resolution == 1 else f"{self.resolution} {unit}"

    def range_text(self, ascii_only: bool = False) -> str:
        """The measuring range as text, e.g. "20..800 V"."""
        unit = self.unit_ascii if ascii_only else self.unit
        return f"{_plain(self.minimum)}..{_plain(self.maximum)} {unit}"


def _plain(x: float) -> str:
    """12.5 -> "12.5", 80000000.0 -> "80000000" (never "8e+07": people read these)."""
    return f"{x:.0f}" if x == int(x) else f"{x:g}"


def _q(
    key: str, label: str, unit: str, unit_ascii: str, resolution: str, minimum: float, maximum: float, description: str
) -> Quantity:
    return Quantity(key, label, unit, unit_ascii, Decimal(resolution), minimum, maximum, description)


# (UTF-8 symbol, ASCII form) of every unit used below.
_V, _A, _PCT, _RH, _DEG_C, _MOHM = ("V", "V"), ("A", "A"), ("%", "%"), ("%RH", "%RH"), ("°C", "degC"), ("mΩ", "mOhm")
_MIN, _KOHM, _AH, _WH = ("min", "min"), ("kΩ", "kOhm"), ("Ah", "Ah"), ("Wh", "Wh")

QUANTITIES: tuple[Quantity, ...] = (
    # -- one battery (BM-CS) ----------------------------------------------------------------
    _q(
        "cell.voltage",
        "Cell voltage",
        *_V,
        "0.001",
        1.6,
        15.6,
        "Battery voltage; its range depends on the battery type: 2 V type 1.6..2.6 V, 6 V type 4.8..10 V, "
        "12 V type 7.5..15.6 V",
    ),
    _q("cell.resistance", "Cell resistance", *_MOHM, "0.001", 0.1, 50.0, "Internal resistance of the battery"),
    _q("cell.temperature", "Cell temperature", *_DEG_C, "0.1", -20.0, 85.0, "Battery (pole) temperature"),
    _q("cell.soc", "Cell SOC", *_PCT, "1", 0.0, 100.0, "State of charge of the battery"),
    _q(
        "cell.soh",
        "Cell SOH",
        *_PCT,
        "1",
        0.0,
        100.0,
        "State of health of the battery: from its internal resistance against the baseline of its "
        "commissioning window, or from the capacity a deep discharge measured",
    ),
    # -- one string (BM-SS with BM-HS and BM-TH) --------------------------------------------
    _q("string.voltage", "String voltage", *_V, "0.01", 20.0, 800.0, "String voltage"),
    # Range: the largest BM-HS hall sensor's (each string's own is `hall_range_a` in the topology).
    _q(
        "string.current",
        "String current",
        *_A,
        "0.01",
        -2000.0,
        2000.0,
        "String current (hall sensor), + charge, - discharge",
    ),
    _q("string.soc", "String SOC", *_PCT, "1", 0.0, 100.0, "State of charge of the string: its weakest battery's"),
    _q("string.soh", "String SOH", *_PCT, "1", 0.0, 100.0, "State of health of the string: its weakest battery's"),
    _q(
        "string.balance",
        "Balance",
        *_PCT,
        "0.01",
        0.0,
        100.0,
        "Cell voltage balance: 100 % x (1 - (Vmax - Vmin) / Vmean) of the batteries that answered",
    ),
    _q(
        "string.ambient_temperature",
        "Ambient temperature",
        *_DEG_C,
        "0.1",
        -40.0,
        80.0,
        "Ambient temperature at the string (BM-TH); not available without a BM-TH",
    ),
    _q(
        "string.ambient_humidity",
        "Ambient humidity",
        *_RH,
        "0.1",
        0.0,
        100.0,
        "Ambient relative humidity at the string (BM-TH); not available without a BM-TH",
    ),
    _q(
        "string.runtime",
        "Runtime",
        *_MIN,
        "1",
        0.0,
        6000.0,
        "Runtime remaining while the string discharges, at its present current (SOC and Peukert); "
        "not available otherwise",
    ),
    _q(
        "string.insulation_resistance",
        "Insulation resistance",
        *_KOHM,
        "1",
        0.0,
        65534.0,
        "Insulation resistance of the string to ground (BM-GS); not available without a BM-GS",
    ),
    # A discharge event's figures (battery/analytics/discharge.py): served per event, never live.
    _q(
        "string.discharge_charge",
        "Discharged charge",
        *_AH,
        "0.01",
        0.0,
        100_000.0,
        "Charge a discharge event delivered: the discharge current integrated over the event",
    ),
    _q(
        "string.discharge_energy",
        "Discharged energy",
        *_WH,
        "0.1",
        0.0,
        80_000_000.0,
        "Energy a discharge event delivered: the discharge current times the string voltage, integrated over the event",
    ),
    # -- one UPS: aggregates of its fresh strings -------------------------------------------
    _q("ups.voltage", "UPS voltage", *_V, "0.01", 20.0, 800.0, "Average of the fresh string voltages"),
    _q(
        "ups.current",
        "UPS current",
        *_A,
        "0.01",
        -64000.0,
        64000.0,
        "Sum of the fresh string currents, + charge, - discharge",
    ),
    _q("ups.soc", "UPS SOC", *_PCT, "1", 0.0, 100.0, "Average of the fresh string SOCs"),
    _q(
        "ups.runtime",
        "UPS runtime",
        *_MIN,
        "1",
        0.0,
        6000.0,
        "Runtime remaining while the UPS is on battery: its shortest string's; not available otherwise",
    ),
)


def _index(quantities: tuple[Quantity, ...]) -> dict[str, Quantity]:
    by_key: dict[str, Quantity] = {}
    for q in quantities:
        if q.key in by_key:
            raise ValueError(f"quantity {q.key!r} is declared twice in battery/quantities.py")
        by_key[q.key] = q
    return by_key


_BY_KEY = _index(QUANTITIES)
REGISTRY: Mapping[str, Quantity] = MappingProxyType(_BY_KEY)


def quantity(key: str) -> Quantity:
    """The quantity named `key`; call it at module import so a missing one fails there, by name."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no quantity {key!r} in battery/quantities.py (known: {', '.join(_BY_KEY)})") from None


def of_level(level: Level) -> tuple[Quantity, ...]:
    return tuple(q for q in QUANTITIES if q.level is level)
